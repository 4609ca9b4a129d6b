package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/graftml/graft/experiment"
)

// schema2 reports whether results.json is a schema-2 file (one that names
// its protocol), whose wording the report uses: cut off judged on
// smoothed validation, the protocol line. Schema-1 files render as they
// always have, whether as written (no protocol) or as
// experiment.ReadResults upgrades them (protocol holdout, schema 1).
func (v *view) schema2() bool { return v.R.Spec.Protocol != "" && v.R.Schema != 1 }

// improving is what "cut off" means for this file.
func (v *view) improving() string {
	if v.schema2() {
		return "still improving on smoothed validation"
	}
	return "still improving"
}

// protocolLine says how each run's reported model was obtained; "" for
// schema-1 files, whose leaderboard stays as it was.
func protocolLine(v *view) string {
	if !v.schema2() {
		return ""
	}
	var s string
	switch p := v.R.Spec.Protocol; p {
	case experiment.ProtocolRefit:
		s = "Protocol: refit — each strategy's rate and length chosen on validation (" + foldsText(v) +
			"), then retrained on every shot; test " + v.score() + " is that model's."
	case experiment.ProtocolHoldout:
		s = "Protocol: holdout — each run trained on the training part of one split with early stopping; " +
			"test " + v.score() + " is that of its best validation epoch's weights."
	default:
		s = "Protocol: " + p + "."
	}
	if n, of := preciseBN(v); n > 0 {
		if n == of {
			s += " BatchNorm statistics were re-estimated over the training images before evaluating (precise BN)."
		} else {
			s += fmt.Sprintf(" BatchNorm statistics were re-estimated over the training images before evaluating in %d of %d runs (precise BN).", n, of)
		}
	}
	if g := v.R.Spec.Groups; g != "" {
		s += " Images grouped by " + g + " were never split across training, validation and test."
	}
	return s
}

// foldsText is how many validation folds the selections averaged: the
// spec's bound, or "up to" it when some selections used fewer.
func foldsText(v *view) string {
	most, same := v.R.Spec.Folds, true
	first := 0
	for _, r := range v.R.Runs {
		if r.Selection == nil || r.Selection.Folds == 0 {
			continue
		}
		if first == 0 {
			first = r.Selection.Folds
		}
		same = same && r.Selection.Folds == first
		most = max(most, r.Selection.Folds)
	}
	switch {
	case most <= 1:
		return "one split"
	case first != 0 && (!same || first != most):
		return fmt.Sprintf("up to %d folds", most)
	}
	return fmt.Sprintf("%d folds", most)
}

// preciseBN counts the successful runs evaluated with re-estimated
// BatchNorm statistics, of all successful runs.
func preciseBN(v *view) (n, of int) {
	for _, r := range v.R.Runs {
		if !isOK(r) {
			continue
		}
		of++
		if r.PreciseBN {
			n++
		}
	}
	return n, of
}

// maxShortNames is how many short classes a line names before "… (k more)".
const maxShortNames = 8

// shortClassesLine says which classes had fewer images than asked for at
// this shots setting and gave all they had; "" when none.
func shortClassesLine(v *view, shots int) string {
	i := slices.IndexFunc(v.R.ShortClasses, func(s experiment.ShortClasses) bool { return s.Shots == shots })
	if i < 0 {
		return ""
	}
	sc := v.R.ShortClasses[i]
	n := sc.Count
	if n == 0 {
		n = len(sc.Classes)
	}
	if n == 0 {
		return ""
	}
	s := plural(shots, "shot", "shots") + ": "
	if n == 1 {
		s += "1 class had fewer images and gave all it had"
	} else {
		s += fmt.Sprintf("%d classes had fewer images and gave all they had", n)
	}
	s += fmt.Sprintf(" (fewest: %d)", sc.Fewest)
	if len(sc.Classes) > 0 {
		names, more := sc.Classes, ""
		if len(names) > maxShortNames {
			names = names[:maxShortNames]
		}
		if rest := n - len(names); rest > 0 {
			more = fmt.Sprintf(", … (%d more)", rest)
		}
		s += ": " + strings.Join(names, ", ") + more
	}
	return s + "."
}

// fromExtension reports whether a run's chosen rate lies beyond the
// spec's grid, found by extending it.
func fromExtension(r experiment.Run) bool { return slices.Contains(r.LRExtended, r.LR) }

// extensionReach is how far the runs' grids were extended, e.g. "0.03"
// or "3e-05 and 0.03": the extreme rate tried beyond each end of grid.
func extensionReach(grid []float64, runs []experiment.Run) string {
	var ext []float64
	for _, r := range runs {
		ext = append(ext, r.LRExtended...)
	}
	if len(ext) == 0 {
		return ""
	}
	if len(grid) == 0 {
		return lr(slices.Max(ext))
	}
	var out []string
	if lo := slices.Min(ext); lo < slices.Min(grid) {
		out = append(out, lr(lo))
	}
	if hi := slices.Max(ext); hi > slices.Max(grid) {
		out = append(out, lr(hi))
	}
	if len(out) == 0 { // extended inside the grid: name the rates
		slices.Sort(ext)
		for _, x := range slices.Compact(ext) {
			out = append(out, lr(x))
		}
	}
	return joinAnd(out)
}
