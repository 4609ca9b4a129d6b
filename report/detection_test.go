package report

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
)

// detectDir holds a comparison of detectors written by hand: SSDs on a
// small CNN, finetune, freeze:2 and scratch at 5 and 20 images per
// class, two seeds, the holdout protocol (so the histories have
// validation mAP), a scratch run that diverged, scratch cut off, a tie at
// 20 images, a class no test image shows (AP -1), and example detections
// for some runs only: freeze:2 at 20 images has seed 2's and not seed 1's,
// scratch at 20 images has none, and freeze:2 at 5 images (neither winner
// nor scratch) has one the report must not show.
const detectDir = "testdata/detect"

// fixtureDetect reads detectDir's results.json as graft does, refusing
// fields results.json cannot have so that the fixture stays a real one.
func fixtureDetect(t *testing.T) *experiment.Results {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(detectDir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r experiment.Results
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("%s/results.json: %v", detectDir, err)
	}
	return &r
}

// detectOutputs renders the text outputs and the page of r, with
// placeholder figures and the examples in detectDir.
func detectOutputs(t *testing.T, r *experiment.Results) map[string]string {
	t.Helper()
	examples, err := ReadExamples(detectDir, r)
	if err != nil {
		t.Fatal(err)
	}
	figs := placeholderFigures(t, r)
	out := map[string]string{}
	for name, f := range map[string]func(io.Writer, *experiment.Results) error{
		"leaderboard.txt": Leaderboard, "leaderboard.md": Markdown, "results.csv": WriteCSV,
		"report.html": func(w io.Writer, r *experiment.Results) error { return HTML(w, r, figs, examples...) },
	} {
		var b bytes.Buffer
		if err := f(&b, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	return out
}

func TestGoldenDetect(t *testing.T) {
	out := detectOutputs(t, fixtureDetect(t))
	for _, name := range []string{"leaderboard.txt", "leaderboard.md", "results.csv", "report.html"} {
		t.Run(name, func(t *testing.T) { golden(t, "detect/"+name, []byte(out[name])) })
	}
}

// TestDetectWords: nothing a detector comparison shows speaks of
// accuracy, macro-F1, confusion or training accuracy, and what it ranks
// by is named.
func TestDetectWords(t *testing.T) {
	out := detectOutputs(t, fixtureDetect(t))
	// What a reader sees: not the page's style sheet, tags and ids (the
	// figure files keep their names, accuracy-vs-shots among them).
	hidden := regexp.MustCompile(`(?s)<style>.*</style>|<[^>]*>`)
	for name, page := range out {
		text := hidden.ReplaceAllString(page, " ")
		for _, bad := range []string{"accuracy", "macro", "F1", "confusion", "Train minus validation", "acc."} {
			if i := strings.Index(strings.ToLower(text), strings.ToLower(bad)); i >= 0 {
				t.Errorf("%s of a detector comparison says %q: …%s…", name, bad, text[max(0, i-60):min(len(text), i+60)])
			}
		}
	}
	for name, want := range map[string][]string{
		"leaderboard.txt": {"mAP@0.5 %", "mAP@[.5:.95] %", "mean test mAP@0.5 [95% interval]",
			"40.0 [35.3, 44.7]", "their mAP@0.5 is a lower bound", "Tie: freeze:2 and finetune"},
		"leaderboard.md": {"mAP@0.5 %: mean test mAP@0.5 (COCO's definition", "mAP@[.5:.95] %: mean over seeds"},
		"results.csv":    {"strategy,shots,seed,status,lr,test_map50,test_map,train_seconds", "finetune,5,1,ok,0.001,0.412,0.183,"},
		"report.html": {"Detector transfer strategy comparison", "<h2>AP@0.5 per class</h2>", "<h2>Example detections</h2>",
			"finetune won with 40.0% mean test mAP@0.5", "test\u00a0mAP@0.5\u00a0%", "lr search (val. mAP@0.5 %)",
			"their mAP@0.5 is a lower bound", "<dt>task</dt><dd>detection", "<dt>augmentation</dt>"},
	} {
		for _, w := range want {
			if !strings.Contains(out[name], w) {
				t.Errorf("%s lacks %q", name, w)
			}
		}
	}
}

// TestDetectClassAP: each class's AP is the mean over the seeds whose
// test images show it; a class no seed shows is a dash, not a zero.
func TestDetectClassAP(t *testing.T) {
	r := fixtureDetect(t)
	for i := range r.Runs {
		run := &r.Runs[i]
		if run.Strategy == "finetune" && run.Shots == 5 && run.Seed == 2 {
			run.ClassAP[1] = -1 // only seed 1's 0.38 counts for yield
		}
	}
	v := newView(r)
	tab := classAPTable(v, v.Groups[0])
	if tab == nil {
		t.Fatal("no AP table for 5 images per class")
	}
	wantHead := []string{"class", "finetune (winner) AP@0.5 %", "scratch AP@0.5 %", "winner − scratch (points)"}
	if !slices.Equal(tab.Header, wantHead) {
		t.Errorf("header %q, want %q", tab.Header, wantHead)
	}
	want := [][]string{
		{"stop", "50.5", "15.0", "+35.5"},
		{"yield", "38.0", "8.0", "+30.0"},
		{"speed-30", "33.0", "6.1", "+26.9"},
		{"no-entry", "—", "—", "—"},
	}
	for i, row := range want {
		if !slices.Equal(tab.Rows[i], row) {
			t.Errorf("row %d = %q, want %q", i, tab.Rows[i], row)
		}
	}
	// Without AP per class there is no table.
	for i := range r.Runs {
		r.Runs[i].ClassAP = nil
	}
	v = newView(r)
	if tab := classAPTable(v, v.Groups[0]); tab != nil {
		t.Errorf("a table without AP per class: %q", tab.Rows)
	}
}

func TestExamplePath(t *testing.T) {
	tests := []struct {
		strategy    string
		shots, seed int
		want        string
	}{
		{"finetune", 5, 1, "detections/finetune-5-seed1.png"},
		{"freeze:2", 20, 2, "detections/freeze_2-20-seed2.png"},
		{"lpft+l2sp", 0, 3, "detections/lpft_l2sp-0-seed3.png"},
	}
	for _, tt := range tests {
		if got := ExamplePath(tt.strategy, tt.shots, tt.seed); got != tt.want {
			t.Errorf("ExamplePath(%q, %d, %d) = %q, want %q", tt.strategy, tt.shots, tt.seed, got, tt.want)
		}
	}
}

// TestReadExamples: the winner's and scratch's drawings of each shots
// setting, seed 1 first, else the lowest seed that has one; nothing for
// classifiers or a folder without drawings.
func TestReadExamples(t *testing.T) {
	type key struct {
		strategy    string
		shots, seed int
	}
	keys := func(ex []Example) []key {
		var out []key
		for _, e := range ex {
			out = append(out, key{e.Strategy, e.Shots, e.Seed})
			if !bytes.HasPrefix(e.PNG, []byte("\x89PNG")) {
				t.Errorf("%s %d seed %d: not the PNG's bytes", e.Strategy, e.Shots, e.Seed)
			}
		}
		return out
	}
	ex, err := ReadExamples(detectDir, fixtureDetect(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []key{{"finetune", 5, 1}, {"scratch", 5, 1}, {"freeze:2", 20, 2}}
	if got := keys(ex); !slices.Equal(got, want) {
		t.Errorf("examples %v, want %v", got, want)
	}
	for name, dir := range map[string]string{"no drawings": t.TempDir(), "no folder": filepath.Join(t.TempDir(), "gone")} {
		ex, err := ReadExamples(dir, fixtureDetect(t))
		if err != nil || len(ex) != 0 {
			t.Errorf("%s: %d examples, error %v; want none and no error", name, len(ex), err)
		}
	}
	// A classifier's folder is not looked at, whatever it holds.
	cls := fixture()
	if ex, err := ReadExamples(detectDir, cls); err != nil || ex != nil {
		t.Errorf("classifier: %d examples, error %v", len(ex), err)
	}
}

// TestDetectPlots: a detector's figures and their axes.
func TestDetectPlots(t *testing.T) {
	tests := []struct {
		name   string
		refit  bool
		names  []string
		labels map[string][]string
	}{
		{"holdout", false,
			[]string{"learning-curves-5-shot", "loss-curves-5-shot", "learning-curves-20-shot", "loss-curves-20-shot", "accuracy-vs-shots", "epoch-time"},
			map[string][]string{
				"learning-curves-5-shot": {"validation mAP@0.5 (%)", "epoch"},
				"loss-curves-5-shot":     {"multibox loss", "train (dashed)"},
				"accuracy-vs-shots":      {"test mAP@0.5 (%)", "Test mAP@0.5 by training set size"},
			}},
		// A refit's history has no validation: no mAP curves, the loss
		// curves keep the training loss.
		{"refit", true,
			[]string{"loss-curves-5-shot", "loss-curves-20-shot", "accuracy-vs-shots", "epoch-time"},
			map[string][]string{"loss-curves-20-shot": {"multibox loss"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureDetect(t)
			if tt.refit {
				r.Spec.Protocol = experiment.ProtocolRefit
				for i := range r.Runs {
					for j := range r.Runs[i].History {
						h := &r.Runs[i].History[j]
						h.HasVal, h.ValAcc, h.ValLoss = false, 0, 0
					}
				}
			}
			figs, err := Plots(r)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range figs {
				names = append(names, f.Name)
				for _, l := range tt.labels[f.Name] {
					if !bytes.Contains(f.SVG, []byte(l)) {
						t.Errorf("%s lacks the label %q", f.Name, l)
					}
				}
				if bytes.Contains(bytes.ToLower(f.SVG), []byte("accuracy")) || strings.Contains(strings.ToLower(f.Caption), "accuracy") {
					t.Errorf("%s speaks of accuracy", f.Name)
				}
				if tt.refit && strings.HasPrefix(f.Name, lossPrefix) && !strings.Contains(f.Caption, "no validation split") {
					t.Errorf("%s: caption %q does not say the runs had no validation", f.Name, f.Caption)
				}
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("figures %q, want %q", names, tt.names)
			}
		})
	}
}

// TestDetectWriteAll: the page WriteAll writes in a comparison's folder
// embeds the drawings found there, and needs nothing else.
func TestDetectWriteAll(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "detections"), os.DirFS(filepath.Join(detectDir, "detections"))); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(dir, fixtureDetect(t)); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, HTMLFile))
	if err != nil {
		t.Fatal(err)
	}
	srcs := regexp.MustCompile(`src="([^"]*)"`).FindAllSubmatch(page, -1)
	if len(srcs) != 3 {
		t.Errorf("%d images in report.html, want 3 (5 images: finetune and scratch; 20 images: freeze:2)", len(srcs))
	}
	for _, m := range srcs {
		if !bytes.HasPrefix(m[1], []byte("data:image/png;base64,iVBORw0KGgo")) {
			t.Errorf("image source %.40q… is not an inline PNG", m[1])
		}
	}
	for _, bad := range []string{"<script", "<link", "href=", "<?xml", "@import", "url(http"} {
		if bytes.Contains(page, []byte(bad)) {
			t.Errorf("report.html contains %q: it must need nothing but itself", bad)
		}
	}
	for _, id := range []string{`id="detections-5-shot-finetune"`, `id="detections-5-shot-scratch"`, `id="detections-20-shot-freeze_2"`} {
		if !bytes.Contains(page, []byte(id)) {
			t.Errorf("report.html lacks %s", id)
		}
	}
}

// TestDetectOrderAndEmpty: a detector comparison's outputs do not depend
// on results.json's order, and an empty one gives output, not a panic.
func TestDetectOrderAndEmpty(t *testing.T) {
	want := detectOutputs(t, fixtureDetect(t))
	r := fixtureDetect(t)
	slices.Reverse(r.Runs)
	slices.Reverse(r.Summary)
	slices.Reverse(r.Winners)
	for name, got := range detectOutputs(t, r) {
		if got != want[name] {
			t.Errorf("%s changed when results.json lists things in another order", name)
		}
	}
	empty := &experiment.Results{Spec: experiment.Spec{Task: taskDetect, Shots: []int{5}, Strategies: []string{"finetune", "scratch"}}}
	if figs, err := Plots(empty); err != nil || len(figs) != 0 {
		t.Errorf("%d figures, error %v from no runs", len(figs), err)
	}
	detectOutputs(t, empty)
}
