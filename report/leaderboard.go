package report

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/graftml/graft/experiment"
)

// Leaderboard writes one aligned table per shots setting, best mean test
// accuracy first, with the winner marked by "*" in the margin (or, when
// the data cannot separate it from others, every strategy tied for first
// by "="), followed by lines on the winner's margin, on runs cut off by
// their budget and on classes short of images; then, for schema 2, how
// the reported models were trained.
func Leaderboard(w io.Writer, r *experiment.Results) error {
	v := newView(r)
	var b strings.Builder
	for i, g := range v.Groups {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s — %s\n", shotsTitle(g.Shots), groupSubtitle(v, g))
		t := leaderTable(v, g)
		if err := t.text(&b); err != nil {
			return err
		}
		for _, n := range groupNotes(v, g) {
			b.WriteString(n + "\n")
		}
	}
	if p := protocolLine(v); p != "" {
		b.WriteString("\n" + p + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write leaderboard: %w", err)
	}
	return nil
}

// Markdown writes the leaderboard as Markdown: a level-3 heading and a
// table per shots setting, the winner's row in bold.
func Markdown(w io.Writer, r *experiment.Results) error {
	v := newView(r)
	var b strings.Builder
	for i, g := range v.Groups {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "### %s\n\n%s.\n\n", mdEscape(shotsTitle(g.Shots)), mdEscape(upperFirst(groupSubtitle(v, g))))
		t := leaderTable(v, g)
		if err := t.markdown(&b); err != nil {
			return err
		}
		if notes := groupNotes(v, g); len(notes) > 0 {
			b.WriteString("\n")
			b.WriteString(mdEscape(strings.Join(notes, "\n\n")) + "\n")
		}
	}
	if len(v.Groups) > 0 {
		b.WriteString("\n" + mdEscape(upperFirst(columnsLegend(v))) + "\n")
	}
	if p := protocolLine(v); p != "" {
		b.WriteString("\n" + mdEscape(p) + "\n")
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown leaderboard: %w", err)
	}
	return nil
}

var leaderHeader = []string{"#", "strategy", "accuracy %", "macro-F1", "train s", "train GFLOP", "epochs (best)", "lr", "trainable", "img/s", "notes"}
var leaderAlign = []align{alignRight, alignLeft, alignRight, alignRight, alignRight, alignRight, alignRight, alignRight, alignRight, alignRight, alignLeft}

// gflopColumn is where "train GFLOP" sits in both headers; the column is
// dropped where a run did not count its arithmetic (results from before
// graft counted it, or a model it cannot count).
const gflopColumn = 5

// detectLeaderHeader is leaderHeader for detectors: mAP@0.5 ranks them,
// and COCO's mAP@[.5:.95] takes macro-F1's place.
var detectLeaderHeader = []string{"#", "strategy", "mAP@0.5 %", "mAP@[.5:.95] %", "train s", "train GFLOP", "epochs (best)", "lr", "trainable", "img/s", "notes"}

func leaderTable(v *view, g *group) *table {
	t := &table{Header: leaderHeader, Align: leaderAlign}
	if v.detect() {
		t.Header = detectLeaderHeader
	}
	for _, e := range g.Entries {
		notes := strings.Join(entryFlags(g, e), ", ")
		if !e.succeeded() {
			t.add(markNone, "—", e.Strategy, "—", "—", "—", "—", "—", "—", humanCountOrDash(e.Sum.TrainableParams), "—", notes)
			continue
		}
		s := e.Sum
		m := markNone
		switch {
		case g.inTie(e):
			m = markTie
		case e == g.Winner:
			m = markWinner
		}
		second := fmt.Sprintf("%.3f", s.MeanMacroF1)
		if v.detect() {
			second = mapCell(e)
		}
		t.add(m, strconv.Itoa(e.Rank), e.Strategy, accuracyCell(e),
			second, seconds(s.MeanTrainSeconds), compact(s.MeanTrainGFLOP),
			fmt.Sprintf("%s (%s)", num1(s.MeanEpochs), num1(e.MeanBestEpoch)), rateRange(e.OK),
			humanCountOrDash(s.TrainableParams), rate(s.MeanImgPerSec), notes)
	}
	if !v.countedWork() {
		t.Header = slices.Delete(slices.Clone(t.Header), gflopColumn, gflopColumn+1)
		t.Align = slices.Delete(slices.Clone(t.Align), gflopColumn, gflopColumn+1)
		for i := range t.Rows {
			t.Rows[i] = slices.Delete(t.Rows[i], gflopColumn, gflopColumn+1)
		}
	}
	return t
}

// countedWork says whether every strategy with a successful run counted
// its training's arithmetic.
func (v *view) countedWork() bool {
	n := 0
	for _, g := range v.Groups {
		for _, e := range g.Entries {
			if !e.succeeded() {
				continue
			}
			if e.Sum.MeanTrainGFLOP <= 0 {
				return false
			}
			n++
		}
	}
	return n > 0
}

// rateRange is the learning rate the successful runs trained at: one
// value when the seeds agree (always under --rate-choice pooled), else
// the lowest and highest. It is what a user would train the strategy at.
func rateRange(runs []experiment.Run) string {
	var lo, hi float64
	for _, r := range runs {
		if r.LR <= 0 {
			continue
		}
		if lo == 0 || r.LR < lo {
			lo = r.LR
		}
		hi = max(hi, r.LR)
	}
	switch {
	case lo == 0:
		return "—"
	case lo == hi:
		return lrString(lo)
	}
	return lrString(lo) + "–" + lrString(hi)
}

// lrString writes a rate as grids are written: 3e-4, not 0.0003.
func lrString(x float64) string {
	s := strconv.FormatFloat(x, 'e', -1, 64)
	s = strings.Replace(s, "e-0", "e-", 1)
	return strings.Replace(strings.Replace(s, "e+00", "", 1), "e+0", "e+", 1)
}

// accuracyCell gives the 95% interval as [low, high] when results.json
// has one (schema 2), else the standard deviation over seeds, left out
// when one run cannot have any.
func accuracyCell(e *entry) string {
	if hasCI(e.Sum) {
		return fmt.Sprintf("%s [%s, %s]", pct(e.Sum.MeanAccuracy), pct(e.Sum.CILow), pct(e.Sum.CIHigh))
	}
	if okRuns(e) < 2 {
		return pct(e.Sum.MeanAccuracy)
	}
	return pct(e.Sum.MeanAccuracy) + " ± " + pct(e.Sum.StdAccuracy)
}

// okRuns counts successful runs from the summary, which is there even
// when a partial results.json lacks the runs themselves.
func okRuns(e *entry) int {
	if n := e.Sum.Runs - e.Sum.Failed; n > 0 {
		return n
	}
	return len(e.OK)
}

func humanCountOrDash(n int64) string {
	if n <= 0 {
		return "—"
	}
	return humanCount(n)
}

// num1 prints whole numbers without a decimal so "5 (4.5)" reads at a glance.
func num1(x float64) string {
	if x == float64(int64(x)) {
		return strconv.FormatInt(int64(x), 10)
	}
	return fmt.Sprintf("%.1f", x)
}

// entryFlags are the notes column: what a reader must know before
// trusting the row.
func entryFlags(g *group, e *entry) []string {
	var f []string
	switch {
	case g.inTie(e):
		f = append(f, "tie")
	case e == g.Winner:
		f = append(f, "winner")
	}
	if e.Sum.CutOff > 0 {
		f = append(f, fmt.Sprintf("cut off %d/%d", e.Sum.CutOff, okRuns(e)))
	}
	switch {
	case e.Diverged+e.Failed > 0:
		if e.Diverged > 0 {
			f = append(f, fmt.Sprintf("%d diverged", e.Diverged))
		}
		if e.Failed > 0 {
			f = append(f, fmt.Sprintf("%d failed", e.Failed))
		}
	case e.Sum.Failed > 0:
		f = append(f, fmt.Sprintf("%d failed/diverged", e.Sum.Failed))
	}
	return f
}

func groupSubtitle(v *view, g *group) string {
	seeds := v.R.Spec.Seeds
	if seeds == 0 {
		for _, e := range g.Entries {
			seeds = max(seeds, len(e.Runs), e.Sum.Runs)
		}
	}
	s := plural(seeds, "seed", "seeds") + ", mean test " + v.score()
	if anyCI(g.Entries) {
		return s + " [95% interval]"
	}
	if seeds > 1 {
		s += " ± standard deviation over seeds"
	}
	return s
}

// groupNotes states the winner's margin (or the tie), explains the flags
// used and names the classes short of images.
func groupNotes(v *view, g *group) []string {
	var out []string
	if g.Winner == nil {
		out = append(out, "No strategy produced a successful run.")
	} else {
		out = append(out, winnerLine(g))
	}
	cut := false
	for _, e := range g.Entries {
		cut = cut || e.Sum.CutOff > 0
	}
	if cut {
		out = append(out, fmt.Sprintf("cut off a/b: a of the b successful runs were %s when the %s budget ran out; their %s is a lower bound. Rerun with more epochs.", v.improving(), budget(v), v.score()))
	}
	if s := shortClassesLine(v, g.Shots); s != "" {
		out = append(out, s)
	}
	return out
}

// winnerLine gives the winner's margin over the runner-up and scratch,
// with its 95% interval when results.json has one; or, when others are
// tied with it, says so first.
func winnerLine(g *group) string {
	// over is "+4.5 points over finetune (runner-up, 95% interval …)";
	// unit is " points" or "", what a parenthesised role or "".
	over := func(e *entry, unit, what string) string {
		m := g.marginOver(e)
		s := fmt.Sprintf("%s%s over %s", signedPoints(m.Diff), unit, e.Strategy)
		var paren []string
		if what != "" {
			paren = append(paren, what)
		}
		if m.HasCI {
			paren = append(paren, m.interval())
		}
		if len(paren) > 0 {
			s += " (" + strings.Join(paren, ", ") + ")"
		}
		return s
	}
	w, sc := g.Winner, g.scratch()
	tied := g.tiedWith()
	if len(tied) == 0 {
		line := "Winner: " + w.Strategy
		ru := g.runnerUp()
		if ru != nil {
			line += ", " + over(ru, " points", "runner-up")
		}
		if sc != nil && sc != w && sc.succeeded() && sc != ru {
			line += ", " + over(sc, "", "")
		}
		return line + "."
	}
	names := []string{w.Strategy}
	var leads []string
	for _, e := range tied {
		names = append(names, e.Strategy)
		m := g.marginOver(e)
		lead := fmt.Sprintf("%s by %s points", e.Strategy, signedPoints(m.Diff))
		if m.HasCI {
			lead += " (" + m.interval() + ")"
		}
		leads = append(leads, lead)
	}
	line := fmt.Sprintf("Tie: %s; %s leads %s. More seeds or more data would separate them.",
		joinAnd(names), w.Strategy, joinAnd(leads))
	var clear []string
	ru := g.clearRunnerUp()
	if ru != nil {
		clear = append(clear, over(ru, " points", ""))
	}
	if sc != nil && sc != w && sc != ru && sc.succeeded() && !slices.Contains(tied, sc) {
		clear = append(clear, over(sc, "", ""))
	}
	if len(clear) > 0 {
		line += fmt.Sprintf(" %s is %s.", w.Strategy, joinAnd(clear))
	}
	return line
}

func budget(v *view) string {
	if v.R.Spec.Epochs > 0 {
		return strconv.Itoa(v.R.Spec.Epochs) + "-epoch"
	}
	return "epoch"
}

// upperFirst capitalises a sentence's first letter, leaving a word that
// is already mixed case as it is: "mAP@0.5" is not "MAP@0.5".
func upperFirst(s string) string {
	if s == "" || len(s) > 1 && s[1] >= 'A' && s[1] <= 'Z' {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
