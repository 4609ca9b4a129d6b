package advise

import (
	"context"
	"slices"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/strategy"
)

// RunOptions say how Run races.
type RunOptions struct {
	Shots  int     // images per class of the comparison advised for (0: all)
	Budget float64 // the race's share of the full comparison's compute
	Spent  float64 // seconds the measurements took, charged to the budget
	// SpentGFLOP is the same in GFLOP (Measurements.GFLOP), charged where
	// the race keeps its budget in GFLOP.
	SpentGFLOP float64
	Ties       string // TieBest or TieCheapest
	State      string // where the race keeps its state, to resume ("" none)
	// Racing, when set, hears how many strategies race and how many the
	// measurements pruned, before the race starts; Log hears its lines.
	Racing func(raced, pruned int)
	Log    func(line string)
}

// Run advises from measurements meas of cfg's base: it prunes the
// strategies the measurements rule out (Prune), races the others on cfg's
// folds in the order the measurements suggest (experiment.Race), and
// advises from the race (Advise).
func Run(ctx context.Context, meas *Measurements, cfg experiment.Config, o RunOptions) (*Advice, error) {
	shape := cfg.Base.Shape()
	pruned := Prune(meas, shape, cfg.Strategies)
	raced := slices.DeleteFunc(slices.Clone(cfg.Strategies), func(s strategy.Strategy) bool {
		return slices.ContainsFunc(pruned, func(p Pruned) bool { return p.Strategy == s.Name })
	})
	cfg.Strategies = raced
	ro := experiment.RaceOptions{Shots: o.Shots, Budget: o.Budget, Spent: o.Spent, SpentGFLOP: o.SpentGFLOP, Order: Order(meas, shape, raced), State: o.State, Log: o.Log}
	if o.Racing != nil {
		o.Racing(len(raced), len(pruned))
	}
	race, err := experiment.Race(ctx, cfg, ro)
	if err != nil {
		return nil, err
	}
	return Advise(meas, race, shape, pruned, o.Ties)
}
