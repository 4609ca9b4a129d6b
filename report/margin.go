package report

import (
	"fmt"
	"slices"

	"github.com/graftml/graft/experiment"
)

// margin is the winner's lead over a rival in accuracy: the paired
// difference over the same test images and seeds, with its 95% interval,
// when results.json has it (schema 2); else the difference of the means.
type margin struct {
	Diff      float64
	Low, High float64
	HasCI     bool
}

// marginOver is the winner's margin over e; g.Winner must not be nil.
func (g *group) marginOver(e *entry) margin {
	if g.Win != nil && g.Win.Strategy == g.Winner.Strategy {
		for _, m := range g.Win.Margins {
			if m.Strategy == e.Strategy {
				return margin{Diff: m.Diff, Low: m.Low, High: m.High, HasCI: true}
			}
		}
	}
	return margin{Diff: g.Winner.Sum.MeanAccuracy - e.Sum.MeanAccuracy}
}

// tiedWith lists, best first, the strategies that results.json could not
// separate from the winner: their paired difference has a 95% interval
// containing 0. Empty when the winner is clear, and always for schema 1.
func (g *group) tiedWith() []*entry {
	if g.Win == nil || g.Winner == nil || g.Win.Strategy != g.Winner.Strategy {
		return nil
	}
	var out []*entry
	for _, e := range g.Entries {
		if e == g.Winner || !e.succeeded() {
			continue
		}
		tied := slices.Contains(g.Win.Tied, e.Strategy)
		for _, m := range g.Win.Margins {
			tied = tied || m.Strategy == e.Strategy && m.Tied
		}
		if tied {
			out = append(out, e)
		}
	}
	return out
}

// inTie reports whether e shares first place: the winner when anything
// is tied with it, or one of those tied.
func (g *group) inTie(e *entry) bool {
	tied := g.tiedWith()
	return len(tied) > 0 && (e == g.Winner || slices.Contains(tied, e))
}

// clearRunnerUp is the best successful entry that is neither the winner
// nor tied with it, or nil.
func (g *group) clearRunnerUp() *entry {
	tied := g.tiedWith()
	for _, e := range g.Entries {
		if e != g.Winner && e.succeeded() && !slices.Contains(tied, e) {
			return e
		}
	}
	return nil
}

// interval writes a margin's 95% interval in points; "" without one.
func (m margin) interval() string {
	if !m.HasCI {
		return ""
	}
	return "95% interval " + signedPoints(m.Low) + " to " + signedPoints(m.High)
}

// hasCI reports whether results.json bounds the mean accuracy (schema 2).
func hasCI(s experiment.Summary) bool { return s.CIHigh > 0 }

// ciText is a summary's accuracy interval in percent, e.g. "81.0 to 85.0".
func ciText(s experiment.Summary) string {
	return fmt.Sprintf("%s to %s", pct(s.CILow), pct(s.CIHigh))
}

// anyCI reports whether any of the entries has an accuracy interval, so
// headings can say what the bracket in the accuracy column is.
func anyCI(es []*entry) bool {
	return slices.ContainsFunc(es, func(e *entry) bool { return hasCI(e.Sum) })
}
