package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/graftml/graft/experiment"
)

// Answer is the report's answer for one shots setting, in words, from the
// numbers in results.json only.
type Answer struct {
	Shots    int
	Title    string   // e.g. "5 images per class"
	Headline string   // which strategy won, and by how much
	Reasons  []string // what the data says about why
	// Budget is non-empty when runs were still improving at the end of
	// their epoch budget: the ranking may not hold, which the reader must
	// see before anything else.
	Budget string
	Notes  []string // failed runs, learning rates at the edge of the grid
}

// Answers gives one Answer per shots setting, in the report's order.
func Answers(r *experiment.Results) []Answer {
	v := newView(r)
	out := make([]Answer, 0, len(v.Groups))
	for _, g := range v.Groups {
		out = append(out, answer(v, g))
	}
	return out
}

// gapThreshold is how much larger, in accuracy, one strategy's
// train−validation gap must be before the answer calls it overfitting
// more: smaller differences are within what a few seeds move.
const gapThreshold = 0.05

func answer(v *view, g *group) Answer {
	a := Answer{Shots: g.Shots, Title: shotsTitle(g.Shots)}
	a.Notes = failureNotes(g)
	a.Notes = append(a.Notes, lrEdgeNotes(v, g)...)
	a.Budget = budgetWarning(v, g)
	w := g.Winner
	if w == nil {
		a.Headline = "No strategy finished a successful run with " + lowerFirst(a.Title) + "."
		return a
	}
	ru, sc := g.runnerUp(), g.scratch()
	tied := g.tiedWith()
	// ahead says how far the winner leads e: with the paired interval
	// when results.json has one, as the difference of means otherwise.
	// e is called name, or when name is "" by its strategy ("training
	// from scratch" for scratch).
	ahead := func(e *entry, name string) string {
		switch {
		case name != "":
		case e == sc:
			name = "training from scratch"
		default:
			name = e.Strategy
		}
		m := g.marginOver(e)
		if m.HasCI {
			return fmt.Sprintf("%s points over %s (%s)", signedPoints(m.Diff), name, m.interval())
		}
		return fmt.Sprintf("%s points ahead of %s", points(m.Diff), name)
	}
	var h strings.Builder
	if len(tied) > 0 {
		h.WriteString(tieSentence(g, tied))
		fmt.Fprintf(&h, " %s has %s%% mean test %s%s", w.Strategy, pct(w.Sum.MeanAccuracy), v.score(), accuracySpread(w))
		// The strategies clear of the tie, the best of them and scratch.
		var clear []string
		cru := g.clearRunnerUp()
		if cru != nil {
			clear = append(clear, ahead(cru, ""))
		}
		if sc != nil && sc != w && sc != cru && sc.succeeded() && !slices.Contains(tied, sc) {
			clear = append(clear, ahead(sc, ""))
		}
		if len(clear) > 0 {
			h.WriteString(", " + strings.Join(clear, " and "))
		}
		h.WriteString(".")
	} else {
		fmt.Fprintf(&h, "%s won with %s%% mean test %s%s", w.Strategy, pct(w.Sum.MeanAccuracy), v.score(), accuracySpread(w))
		switch {
		case ru == nil:
			h.WriteString(", the only strategy with a successful run")
		default:
			h.WriteString(", " + ahead(ru, ru.Strategy))
		}
		if sc != nil && sc != w && sc != ru && sc.succeeded() {
			h.WriteString(" and " + ahead(sc, ""))
		}
		h.WriteString(".")
		paired := ru != nil && g.marginOver(ru).HasCI
		if ru != nil && !paired && okRuns(w) > 1 && okRuns(ru) > 1 &&
			w.Sum.MeanAccuracy-ru.Sum.MeanAccuracy <= math.Max(w.Sum.StdAccuracy, ru.Sum.StdAccuracy) {
			h.WriteString(" The margin is within one standard deviation over seeds, so the two are not clearly separated; more seeds would tell them apart.")
		}
		if ru != nil && (okRuns(w) < 2 || okRuns(ru) < 2) {
			h.WriteString(" With a single successful seed there is no measure of the seed-to-seed spread; more seeds would show whether the margin holds.")
		}
	}
	if sc == w && len(g.Entries) > 1 {
		h.WriteString(" None of the transfer strategies beat training from scratch here.")
	} else if len(tied) == 0 && sc != nil && sc.succeeded() && sc != w && sc == ru {
		h.WriteString(" Training from scratch was the runner-up.")
	}
	a.Headline = h.String()

	compared := []*entry{w}
	for _, e := range slices.Concat(tied, []*entry{ru, sc}) {
		if e != nil && e.succeeded() && !slices.Contains(compared, e) {
			compared = append(compared, e)
		}
	}
	// A detector's training accuracy is not measured: it has no gap.
	if s := gapReason(compared); s != "" && !v.detect() {
		a.Reasons = append(a.Reasons, s)
	}
	if s := epochsReason(v, compared); s != "" {
		a.Reasons = append(a.Reasons, s)
	}
	if s := timeReason(v, compared); s != "" {
		a.Reasons = append(a.Reasons, s)
	}
	return a
}

// tieSentence names the strategies tied with the winner and how little
// the winner leads each by.
func tieSentence(g *group, tied []*entry) string {
	w := g.Winner
	names := []string{w.Strategy}
	var leads []string
	for _, e := range tied {
		names = append(names, e.Strategy)
		m := g.marginOver(e)
		lead := points(m.Diff) + " points"
		if len(tied) > 1 {
			lead = e.Strategy + " by " + lead
		}
		if m.HasCI {
			lead += " (" + m.interval() + ")"
		}
		leads = append(leads, lead)
	}
	by := " by "
	if len(tied) > 1 {
		by = " "
	}
	return fmt.Sprintf("%s are tied: %s leads%s%s; more seeds or more data would separate them.",
		joinAnd(names), w.Strategy, by, joinAnd(leads))
}

// accuracySpread qualifies a mean accuracy: its 95% interval when
// results.json has one, else the standard deviation over seeds.
func accuracySpread(e *entry) string {
	switch {
	case hasCI(e.Sum):
		return " (95% interval " + ciText(e.Sum) + ")"
	case okRuns(e) > 1:
		return fmt.Sprintf(" (± %s over %d seeds)", pct(e.Sum.StdAccuracy), okRuns(e))
	}
	return ""
}

// gapReason compares train and validation accuracy at the kept epoch: a
// strategy that fits its training images much better than held-out ones
// overfits.
func gapReason(es []*entry) string {
	var parts []string
	var withGap []*entry
	for _, e := range es {
		if !e.HasGap {
			continue
		}
		withGap = append(withGap, e)
		parts = append(parts, fmt.Sprintf("%s %s points (train %s%%, validation %s%%)",
			e.Strategy, signedPoints(e.Gap), pct(e.TrainAtBest), pct(e.ValAtBest)))
	}
	if len(withGap) == 0 {
		return ""
	}
	s := "Train minus validation accuracy at the best epoch: " + strings.Join(parts, "; ") + "."
	if len(withGap) < 2 {
		return s
	}
	most, least := withGap[0], withGap[0]
	for _, e := range withGap[1:] {
		if e.Gap > most.Gap {
			most = e
		}
		if e.Gap < least.Gap {
			least = e
		}
	}
	if most.Gap-least.Gap >= gapThreshold && most.Gap > 0 {
		s += fmt.Sprintf(" %s's larger gap means it overfits its training images more than %s does.", most.Strategy, least.Strategy)
	} else {
		s += " The gaps are within " + points(gapThreshold) + " points of each other, so overfitting does not separate these strategies."
	}
	return s
}

func epochsReason(v *view, es []*entry) string {
	// A refit trains for the length chosen on validation: its best epoch
	// is that length, and its last.
	refit := v.schema2() && v.R.Spec.Protocol == experiment.ProtocolRefit
	var parts []string
	for _, e := range es {
		if e.MeanBestEpoch == 0 {
			continue
		}
		if refit {
			parts = append(parts, fmt.Sprintf("%s %s", e.Strategy, plural1(e.MeanBestEpoch, "epoch", "epochs")))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s at epoch %s of %s", e.Strategy, num1(e.MeanBestEpoch), num1(e.Sum.MeanEpochs)))
	}
	if len(parts) == 0 {
		return ""
	}
	s := "Best validation epoch (mean over seeds, of the epochs run): " + strings.Join(parts, "; ") + "."
	if refit {
		s = "Training length chosen on validation and refitted (mean over seeds): " + strings.Join(parts, "; ") + "."
	}
	if v.R.Spec.Epochs > 0 {
		s += fmt.Sprintf(" The budget was %s.", plural(v.R.Spec.Epochs, "epoch", "epochs"))
	}
	return s
}

// timeReason gives the cost per epoch (of the chosen rate's training)
// and per run; a run's seconds include training at every rate searched.
func timeReason(v *view, es []*entry) string {
	var parts []string
	for _, e := range es {
		if !e.HasSecPerEp {
			continue
		}
		p := fmt.Sprintf("%s %s s per epoch, %s s per run", e.Strategy, seconds(e.SecPerEpoch), seconds(e.Sum.MeanTrainSeconds))
		if e.Sum.TrainableParams > 0 {
			p += fmt.Sprintf(", %s trainable parameters", humanCount(e.Sum.TrainableParams))
		}
		parts = append(parts, p)
	}
	if len(parts) == 0 {
		return ""
	}
	s := "Training cost: " + strings.Join(parts, "; ") + "."
	if n := len(v.R.Spec.LRGrid); n > 1 {
		s += fmt.Sprintf(" A run's seconds include its learning-rate search (%d rates)", n)
		if v.schema2() && v.R.Spec.Protocol == experiment.ProtocolRefit {
			s += " and the refit on every shot"
		}
		s += "."
	}
	return s
}

// budgetWarning names the strategies whose runs were cut off, and says
// when that could change the winner.
func budgetWarning(v *view, g *group) string {
	var parts []string
	var cut []*entry
	for _, e := range g.Entries {
		if e.Sum.CutOff > 0 {
			cut = append(cut, e)
			parts = append(parts, fmt.Sprintf("%s: %d of %d", e.Strategy, e.Sum.CutOff, okRuns(e)))
		}
	}
	if len(cut) == 0 {
		return ""
	}
	s := fmt.Sprintf("Budget too small: runs were %s when the %s budget ran out (%s), so the %s of %s is a lower bound.",
		v.improving(), budget(v), joinAnd(parts), v.score(), pluralVerb(len(cut), "this strategy", "these strategies"))
	switch {
	case g.Winner != nil && slices.Contains(cut, g.Winner):
		s += " That includes the winner."
	case slices.ContainsFunc(cut, g.inTie):
		var names []string
		for _, e := range cut {
			if g.inTie(e) {
				names = append(names, e.Strategy)
			}
		}
		s += fmt.Sprintf(" %s %s tied with the winner: with more epochs the tie may break either way.", joinAnd(names), pluralVerb(len(names), "is", "are"))
	}
	more := "more epochs"
	if v.R.Spec.Epochs > 0 {
		more = fmt.Sprintf("more epochs (for example %d instead of %d)", 2*v.R.Spec.Epochs, v.R.Spec.Epochs)
	}
	return s + " Rerun the comparison with " + more + " to see whether the ranking holds."
}

func failureNotes(g *group) []string {
	var out []string
	for _, e := range g.Entries {
		n, what := e.Diverged+e.Failed, "failed or diverged"
		switch {
		case n == 0:
			n = e.Sum.Failed // only the summary is there
		case e.Failed == 0:
			what = "diverged"
		case e.Diverged == 0:
			what = "failed"
		}
		if n == 0 {
			continue
		}
		s := fmt.Sprintf("%s: %d of %d runs %s; ", e.Strategy, n, max(len(e.Runs), e.Sum.Runs), what)
		switch {
		case !e.succeeded():
			s += "no run succeeded, so it is not ranked."
		case n == 1:
			s += "the means leave it out."
		default:
			s += "the means leave them out."
		}
		if msg := firstError(e); msg != "" {
			s += " First error: " + msg
		}
		out = append(out, s)
	}
	return out
}

func firstError(e *entry) string {
	for _, r := range e.Runs {
		if !isOK(r) && r.Error != "" {
			return r.Error
		}
	}
	return ""
}

// lrEdgeNotes flags strategies whose every run chose the smallest or the
// largest rate tried, where the best rate may lie outside the grid, and
// (schema 2) those whose rate came from extending the grid.
func lrEdgeNotes(v *view, g *group) []string {
	grid := v.R.Spec.LRGrid
	var atLo, atHi, extended []string
	for _, e := range g.Entries {
		if len(e.OK) == 0 {
			continue
		}
		lowest, highest := true, true
		wasExtended := false
		for _, r := range e.OK {
			rates := slices.Concat(grid, r.LRExtended)
			if len(rates) < 2 {
				lowest, highest = false, false
				continue
			}
			lowest = lowest && r.LR == slices.Min(rates)
			highest = highest && r.LR == slices.Max(rates)
			wasExtended = wasExtended || len(r.LRExtended) > 0
		}
		switch {
		case wasExtended:
			if s := extensionNote(grid, e, lowest, highest); s != "" {
				extended = append(extended, s)
			}
		case lowest:
			atLo = append(atLo, e.Strategy)
		case highest:
			atHi = append(atHi, e.Strategy)
		}
	}
	if len(grid) < 2 {
		return extended
	}
	lo, hi := slices.Min(grid), slices.Max(grid)
	var out []string
	for _, edge := range []struct {
		names       []string
		which, more string
		rate        float64
	}{{atLo, "smallest", "smaller", lo}, {atHi, "largest", "larger", hi}} {
		if len(edge.names) == 0 {
			continue
		}
		who := joinAnd(edge.names)
		if len(edge.names) == len(g.Entries) && len(edge.names) > 1 {
			who = "Every strategy"
		}
		out = append(out, fmt.Sprintf("%s chose the %s learning rate of the grid (%s) in every run; a %s one might do better.",
			who, edge.which, lr(edge.rate), edge.more))
	}
	return append(out, extended...)
}

// extensionNote says that a strategy's chosen rate came from beyond the
// spec's grid, and whether it still sits at the edge of the extended
// one; "" when the extension changed nothing.
func extensionNote(grid []float64, e *entry, lowest, highest bool) string {
	var chosen []string
	n := 0
	for _, r := range e.OK {
		if fromExtension(r) {
			n++
			if x := lr(r.LR); !slices.Contains(chosen, x) {
				chosen = append(chosen, x)
			}
		}
	}
	which, more := "largest", "larger"
	if lowest {
		which, more = "smallest", "smaller"
	}
	edge := lowest || highest
	reach := extensionReach(grid, e.OK)
	in, every := fmt.Sprintf("in %d of %d runs", n, len(e.OK)), " in every run"
	if len(e.OK) == 1 {
		in, every = "in its only successful run", ""
	}
	switch {
	case n > 0 && edge:
		return fmt.Sprintf("%s chose a rate from beyond the grid (extended to %s) %s (%s), and it still sits at the %s rate tried%s; a %s one might do better.",
			e.Strategy, reach, in, joinAnd(chosen), which, every, more)
	case n > 0:
		return fmt.Sprintf("%s chose a rate from beyond the grid (extended to %s) %s (%s).",
			e.Strategy, reach, in, joinAnd(chosen))
	case edge:
		return fmt.Sprintf("%s chose the %s rate tried%s, even with the grid extended to %s; a %s one might do better.",
			e.Strategy, which, every, reach, more)
	}
	return ""
}

// plural1 is plural for a mean: "1 epoch", "3.5 epochs".
func plural1(x float64, one, many string) string {
	if x == 1 {
		return "1 " + one
	}
	return num1(x) + " " + many
}

func joinAnd(parts []string) string {
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " and " + parts[len(parts)-1]
}

func pluralVerb(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
