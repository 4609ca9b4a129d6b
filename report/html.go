package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/graftml/graft/experiment"
)

//go:embed report.html.tmpl
var htmlSource string

var htmlTemplate = template.Must(template.New("report").Parse(htmlSource))

// HTML writes report.html: a single self-contained page (inline CSS,
// SVG and PNG, no scripts, no external links) that can be mailed or
// archived with nothing else. figs are usually Plots(r), and examples a
// detector comparison's ReadExamples(dir, r); passing them in keeps the
// page testable without the plotting library's exact bytes or files.
func HTML(w io.Writer, r *experiment.Results, figs []Figure, examples ...Example) error {
	if err := htmlTemplate.Execute(w, newHTMLData(r, figs, examples)); err != nil {
		return fmt.Errorf("write report.html: %w", err)
	}
	return nil
}

type kv struct{ Key, Value string }

type htmlFigure struct {
	Name, Title, Caption string
	SVG                  template.HTML
}

// columnsLegend explains the leaderboard's columns once, above the tables.
func columnsLegend(v *view) string {
	search := "its learning-rate search included"
	if n := len(v.R.Spec.LRGrid); n > 1 {
		search = fmt.Sprintf("its learning-rate search over %d rates included", n)
	}
	if v.schema2() && v.R.Spec.Protocol == experiment.ProtocolRefit {
		search = strings.Replace(search, " included", " and the refit included", 1)
	}
	acc := "mean test accuracy ± standard deviation over seeds"
	if slices.ContainsFunc(v.R.Summary, hasCI) {
		acc = "mean test accuracy [95% interval, bootstrap over test images and seeds]"
	}
	first := "accuracy %: " + acc
	if v.detect() {
		first = "mAP@0.5 %: " + strings.Replace(acc, "accuracy", "mAP@0.5 (COCO's definition: AP at IoU 0.5, averaged over classes)", 1) +
			". mAP@[.5:.95] %: mean over seeds of COCO's mAP, averaged over IoU thresholds 0.5 to 0.95"
	}
	s := first + ". train s: wall-clock seconds per run, " + search +
		". " + workLegend(v) + "epochs (best): mean epochs run (mean best epoch, whose weights were kept). " +
		"lr: the learning rate the runs trained at, one value where the seeds agree, else the lowest–highest. trainable: parameters trained. " +
		"img/s: training throughput."
	if slices.ContainsFunc(v.Groups, func(g *group) bool { return len(g.tiedWith()) > 0 }) {
		s += " tie: the winner's paired margin over these strategies has a 95% interval containing 0."
	}
	return s + " cut off: runs " + v.improving() + " when the epoch budget ran out."
}

type htmlGroup struct {
	Title, Subtitle string
	Table           *table
	Notes           []string
	Answer          Answer
}

type htmlConfusion struct {
	Title  string
	Figure *htmlFigure
	Table  *table
	Diag   bool // highlight the diagonal of Table
}

type htmlData struct {
	Title, Lead string
	Command     string
	Env, Spec   []kv
	CutOff      bool
	Score       string // what strategies are ranked by: accuracy or mAP@0.5
	Legend      string
	Protocol    string
	Groups      []htmlGroup
	Figures     []htmlFigure
	ClassAPs    []htmlClassAP // detectors only
	Examples    []htmlExamples
	Confusions  []htmlConfusion
	Runs        *table
	RunsNote    string
	RunErrors   []string
	RunCount    int
	Footer      string
}

// htmlClassAP is one shots setting's AP@0.5 per class.
type htmlClassAP struct {
	Title string
	Table *table
}

// htmlExamples are one shots setting's example detections.
type htmlExamples struct {
	Title  string
	Images []htmlImage
}

// htmlImage is a PNG embedded in the page as a data URL, which keeps
// report.html a single file.
type htmlImage struct {
	ID, Alt, Caption string
	Src              template.URL
}

func newHTMLData(r *experiment.Results, figs []Figure, examples []Example) htmlData {
	v := newView(r)
	d := htmlData{Title: "Transfer strategy comparison", Command: r.Command, RunCount: len(r.Runs), Score: v.score()}
	if v.detect() {
		d.Title = "Detector transfer strategy comparison"
	}
	if r.Spec.Arch != "" {
		d.Title += ": " + r.Spec.Arch
	}
	d.Lead = lead(v)
	d.Env = envRows(r.Env)
	d.Spec = specRows(v)
	d.Legend = columnsLegend(v)
	d.Protocol = protocolLine(v)
	byName := map[string]*htmlFigure{}
	for _, f := range figs {
		hf := &htmlFigure{Name: f.Name, Title: f.Title, Caption: f.Caption,
			// The SVG comes from our own renderer, which escapes its text.
			SVG: template.HTML(inlineSVG(f.SVG, f.Title))}
		byName[f.Name] = hf
		if !strings.HasPrefix(f.Name, confusionPrefix) {
			d.Figures = append(d.Figures, *hf)
		}
	}
	for _, g := range v.Groups {
		hg := htmlGroup{Title: shotsTitle(g.Shots), Subtitle: upperFirst(groupSubtitle(v, g)) + ".",
			Table: leaderTable(v, g), Answer: answer(v, g)}
		if g.Winner == nil {
			hg.Notes = []string{"No strategy produced a successful run."}
		}
		if s := shortClassesLine(v, g.Shots); s != "" {
			hg.Notes = append(hg.Notes, s)
		}
		d.CutOff = d.CutOff || hg.Answer.Budget != ""
		d.Groups = append(d.Groups, hg)
		if g.Win != nil && validConfusion(g.Win.Confusion) {
			d.Confusions = append(d.Confusions, htmlConfusion{
				Title:  fmt.Sprintf("%s — %s", shotsTitle(g.Shots), g.Win.Strategy),
				Figure: byName[confusionPrefix+shotsSlug(g.Shots)],
				Table:  confusionTable(g.Win.Confusion, r.Spec.Classes),
				Diag:   true,
			})
		}
		if !v.detect() {
			continue
		}
		if t := classAPTable(v, g); t != nil {
			d.ClassAPs = append(d.ClassAPs, htmlClassAP{Title: shotsTitle(g.Shots), Table: t})
		}
		if ex := htmlExamplesOf(g, examples); len(ex.Images) > 0 {
			d.Examples = append(d.Examples, ex)
		}
	}
	d.Runs = runsTable(v)
	d.RunsNote = runsNote(v)
	d.RunErrors = runErrors(v)
	d.Footer = fmt.Sprintf("Made by graft %s from results.json (schema %d).", orDash(r.Env.Graft), r.Schema)
	return d
}

func lead(v *view) string {
	s := v.R.Spec
	var b strings.Builder
	if s.Arch != "" || s.Base != "" {
		fmt.Fprintf(&b, "%s pretrained as %s, ", orDash(s.Arch), orDash(s.Base))
	}
	fmt.Fprintf(&b, "adapted to %s and tested on %s: %s × %s",
		orDash(s.Train), orDash(s.Test),
		plural(len(v.Strategies), "strategy", "strategies"),
		plural(len(v.Shots), "training set size", "training set sizes"))
	if s.Seeds > 0 {
		fmt.Fprintf(&b, " × %s", plural(s.Seeds, "seed", "seeds"))
	}
	fmt.Fprintf(&b, ", %s in all, on identical splits.", plural(len(v.R.Runs), "run", "runs"))
	return b.String()
}

func envRows(e experiment.Env) []kv {
	rows := []kv{
		{"graft", orDash(e.Graft)},
		{"libtorch", orDash(e.Torch)},
		{"device", orDash(e.Device)},
		{"threads", intOrDash(e.Threads)},
	}
	if e.Commit != "" {
		rows = append(rows, kv{"git commit", e.Commit})
	}
	return append(rows, kv{"started", orDash(e.Started)})
}

func specRows(v *view) []kv {
	s := v.R.Spec
	shots := make([]string, len(v.Shots))
	for i, n := range v.Shots {
		shots[i] = shotsShort(n)
	}
	grid := make([]string, len(s.LRGrid))
	for i, x := range s.LRGrid {
		grid[i] = lr(x)
	}
	classes := fmt.Sprintf("%d", len(s.Classes))
	if len(s.Classes) > 0 {
		names := s.Classes
		more := ""
		if len(names) > 12 {
			names, more = names[:12], fmt.Sprintf(", … (%d more)", len(s.Classes)-12)
		}
		classes += ": " + strings.Join(names, ", ") + more
	}
	rows := []kv{
		{"base checkpoint", orDash(s.Base)},
		{"architecture", orDash(s.Arch)},
		{"training data", orDash(s.Train)},
		{"test data", orDash(s.Test)},
		{"classes", classes},
		{"strategies", orDash(strings.Join(v.Strategies, ", "))},
		{"images per class", orDash(strings.Join(shots, ", "))},
		{"seeds", intOrDash(s.Seeds)},
		{"epoch budget", intOrDash(s.Epochs)},
		{"learning rates searched", orDash(strings.Join(grid, ", "))},
	}
	if v.detect() {
		rows = slices.Insert(rows, 2, kv{"task", "detection (strategies ranked by test mAP@0.5)"})
		if s.DetectionAugment != "" {
			rows = append(rows, kv{"augmentation", s.DetectionAugment})
		}
	}
	precision := "fp32"
	if s.Precision != "" {
		precision = s.Precision + " (autocast forward passes; fp32 weights, gradients and optimizer state)"
	}
	rows = append(rows, kv{"precision", precision})
	if !v.schema2() {
		return rows
	}
	rows = append(rows, kv{"protocol", s.Protocol})
	if s.Protocol == experiment.ProtocolRefit {
		rows = append(rows, kv{"validation", foldsText(v)})
	}
	if s.Groups != "" {
		rows = append(rows, kv{"grouped splits", s.Groups})
	}
	short := "give all they have"
	if s.ShotsStrict {
		short = "refused"
	}
	return append(rows, kv{"classes short of images", short})
}

// runErrors lists the failed runs' messages, which are too long for a
// table cell.
func runErrors(v *view) []string {
	var out []string
	for _, g := range v.Groups {
		for _, s := range v.Strategies {
			for _, r := range runsOf(v.R, s, g.Shots) {
				if !isOK(r) {
					msg := orDash(r.Error)
					out = append(out, fmt.Sprintf("%s, %s, seed %d (%s): %s", r.Strategy, lowerFirst(shotsTitle(r.Shots)), r.Seed, r.Status, msg))
				}
			}
		}
	}
	return out
}

func runsTable(v *view) *table {
	t := &table{
		Header: []string{"strategy", "shots", "seed", "status", "lr", "lr search (val. acc. %)", "test\u00a0acc.\u00a0%", "macro\u2011F1",
			"train\u00a0s", "epochs", "best", "converged", "trainable", "img/s"},
		Align: []align{alignLeft, alignRight, alignRight, alignLeft, alignRight, alignLeft, alignRight, alignRight,
			alignRight, alignRight, alignRight, alignLeft, alignRight, alignRight},
	}
	if v.detect() {
		t.Header[5], t.Header[6], t.Header[7] = detectLRSearchHeader, "test\u00a0mAP@0.5\u00a0%", "mAP@[.5:.95]\u00a0%"
	}
	refit := slices.ContainsFunc(v.R.Runs, func(r experiment.Run) bool { return r.Refit != nil })
	if refit {
		t.Header = append(t.Header, "refit epochs", "refit lr")
		t.Align = append(t.Align, alignRight, alignRight)
	}
	for _, g := range v.Groups {
		for _, s := range v.Strategies {
			for _, r := range runsOf(v.R, s, g.Shots) {
				row := csvRow(r, v.detect())
				conv := "yes"
				if cutOff(v.R.Spec.Protocol, r) {
					conv = "cut off"
				}
				if !isOK(r) {
					conv = "—"
				}
				acc, f1, ips := pct(r.TestAccuracy), fmt.Sprintf("%.3f", r.MacroF1), rate(r.ImgPerSec)
				if v.detect() {
					f1 = pct(r.MAP)
				}
				if !isOK(r) {
					acc, f1, ips = "—", "—", "—"
				}
				chosen := lr(r.LR)
				if fromExtension(r) {
					chosen += " (extended)"
				}
				search := lrSearch(r.LRSearch)
				if reach := extensionReach(v.R.Spec.LRGrid, []experiment.Run{r}); reach != "" {
					search += "; grid extended to " + reach
				}
				cells := []string{r.Strategy, shotsShort(r.Shots), strconv.Itoa(r.Seed), row[3], chosen, search,
					acc, f1, seconds(r.TrainSeconds), strconv.Itoa(r.Epochs),
					strconv.Itoa(r.BestEpoch), conv, humanCountOrDash(r.TrainableParams), ips}
				if refit {
					epochs, refitLR := "—", "—"
					if r.Refit != nil {
						epochs, refitLR = strconv.Itoa(r.Refit.Epochs), lr(r.Refit.LR)
					}
					cells = append(cells, epochs, refitLR)
				}
				t.add(markNone, cells...)
			}
		}
	}
	return t
}

// runsNote introduces the runs table: what its columns mean under the
// file's protocol.
func runsNote(v *view) string {
	scores := "test accuracy and macro-F1"
	if v.detect() {
		scores = "test mAP@0.5 and mAP@[.5:.95]"
	}
	if v.R.Spec.Protocol == experiment.ProtocolRefit {
		return "Every strategy × shots × seed, with the learning rates tried on validation (" + foldsText(v) +
			") and the one chosen, then the final training on every shot (refit epochs and lr), whose model the " + scores + " are of. " +
			"\"cut off\": still improving on smoothed validation when the budget ran out; \"(extended)\": a rate from beyond the spec's grid."
	}
	s := "Every strategy × shots × seed, with the learning rates tried on the validation split and the one chosen. " + upperFirst(scores) + " are on the test set; "
	if v.schema2() {
		return s + "\"cut off\": still improving on smoothed validation when the budget ran out; \"(extended)\": a rate from beyond the spec's grid."
	}
	return s + "\"cut off\": the best epoch was the last one."
}

// lrSearch lists the rates tried, in the order tried, with their
// validation accuracy.
func lrSearch(ts []experiment.LRTrial) string {
	parts := make([]string, 0, len(ts))
	for _, t := range ts {
		p := lr(t.LR) + " → " + pct(t.ValAcc)
		if t.ValAcc < 0 { // no validated epoch
			p = lr(t.LR) + " → —"
		}
		if t.Status != "" && t.Status != "ok" {
			p = lr(t.LR) + " → " + t.Status
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}

func confusionTable(m [][]int, classes []string) *table {
	n := len(m)
	names, _ := classNames(classes, n)
	if len(classes) == n {
		names = classes // the table scrolls, so every name fits
	}
	t := &table{Header: append([]string{"true \\ predicted"}, names...)}
	t.Align = append([]align{alignLeft}, repeatAlign(alignRight, n)...)
	for i, row := range m {
		cells := []string{names[i]}
		for _, c := range row {
			cells = append(cells, strconv.Itoa(c))
		}
		t.add(markNone, cells...)
	}
	return t
}

func repeatAlign(a align, n int) []align {
	out := make([]align, n)
	for i := range out {
		out[i] = a
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func intOrDash(n int) string {
	if n == 0 {
		return "—"
	}
	return strconv.Itoa(n)
}

// workLegend explains the train GFLOP column where the table has it.
func workLegend(v *view) string {
	if !v.countedWork() {
		return ""
	}
	return "train GFLOP: the same training's arithmetic per run, counted as it runs (convolutions and linear layers; unlike seconds, no machine's speed moves it): what freezing saves. "
}
