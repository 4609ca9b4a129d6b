package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/graftml/graft/experiment"
)

// Leaderboard writes one aligned table per shots setting, best mean test
// accuracy first, with the winner marked by "*" in the margin, followed
// by a line on the winner's margin and on runs cut off by their budget.
func Leaderboard(w io.Writer, r *experiment.Results) error {
	v := newView(r)
	var b strings.Builder
	for i, g := range v.Groups {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s — %s\n", shotsTitle(g.Shots), groupSubtitle(v, g))
		t := leaderTable(g)
		if err := t.text(&b); err != nil {
			return err
		}
		for _, n := range groupNotes(v, g) {
			b.WriteString(n + "\n")
		}
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
		t := leaderTable(g)
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
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown leaderboard: %w", err)
	}
	return nil
}

var leaderHeader = []string{"#", "strategy", "accuracy %", "macro-F1", "train s", "epochs (best)", "trainable", "img/s", "notes"}
var leaderAlign = []align{alignRight, alignLeft, alignRight, alignRight, alignRight, alignRight, alignRight, alignRight, alignLeft}

func leaderTable(g *group) *table {
	t := &table{Header: leaderHeader, Align: leaderAlign}
	for _, e := range g.Entries {
		notes := strings.Join(entryFlags(g, e), ", ")
		if !e.succeeded() {
			t.add(false, "—", e.Strategy, "—", "—", "—", "—", humanCountOrDash(e.Sum.TrainableParams), "—", notes)
			continue
		}
		s := e.Sum
		t.add(e == g.Winner, strconv.Itoa(e.Rank), e.Strategy, accuracyCell(e),
			fmt.Sprintf("%.3f", s.MeanMacroF1), seconds(s.MeanTrainSeconds),
			fmt.Sprintf("%s (%s)", num1(s.MeanEpochs), num1(e.MeanBestEpoch)),
			humanCountOrDash(s.TrainableParams), rate(s.MeanImgPerSec), notes)
	}
	return t
}

// accuracyCell leaves out the spread when one run cannot have any.
func accuracyCell(e *entry) string {
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
	if e == g.Winner {
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
	s := plural(seeds, "seed", "seeds") + ", mean test accuracy"
	if seeds > 1 {
		s += " ± standard deviation over seeds"
	}
	return s
}

// groupNotes states the winner's margin and explains the flags used.
func groupNotes(v *view, g *group) []string {
	var out []string
	if g.Winner == nil {
		return []string{"No strategy produced a successful run."}
	}
	line := "Winner: " + g.Winner.Strategy
	if ru := g.runnerUp(); ru != nil {
		line += fmt.Sprintf(", %s points over %s (runner-up)", signedPoints(g.Winner.Sum.MeanAccuracy-ru.Sum.MeanAccuracy), ru.Strategy)
	}
	if sc := g.scratch(); sc != nil && sc != g.Winner && sc.succeeded() && sc != g.runnerUp() {
		line += fmt.Sprintf(", %s over %s", signedPoints(g.Winner.Sum.MeanAccuracy-sc.Sum.MeanAccuracy), sc.Strategy)
	}
	out = append(out, line+".")
	cut := false
	for _, e := range g.Entries {
		cut = cut || e.Sum.CutOff > 0
	}
	if cut {
		out = append(out, fmt.Sprintf("cut off a/b: a of the b successful runs were still improving when the %s budget ran out; their accuracy is a lower bound. Rerun with more epochs.", budget(v)))
	}
	return out
}

func budget(v *view) string {
	if v.R.Spec.Epochs > 0 {
		return strconv.Itoa(v.R.Spec.Epochs) + "-epoch"
	}
	return "epoch"
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
