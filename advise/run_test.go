package advise

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/strategy"
)

// Run races what the measurements leave, says how many race before they
// do, and recommends one of the racers.
func TestRun(t *testing.T) {
	path := saveBase(t, filepath.Join(t.TempDir(), "base"), 2)
	base, err := experiment.LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	train := bars(t, 60, 0.2)
	bm, err := MeasureBases(context.Background(), []string{path}, train, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var strats []strategy.Strategy
	for _, n := range []string{strategy.Probe.Name, strategy.Finetune.Name} {
		s, err := strategy.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		strats = append(strats, s)
	}
	cfg := experiment.Config{Base: base, Train: train, Strategies: strats, Seeds: 1, Budget: strategy.Budget{Epochs: 3, Patience: 2},
		LRGrid: []float64{1e-2}, Batch: 8}
	raced, pruned := -1, -1
	adv, err := Run(context.Background(), bm.Best, cfg, RunOptions{Budget: 1, Ties: TieBest, Spent: bm.Best.Seconds,
		Racing: func(r, p int) { raced, pruned = r, p }})
	if err != nil {
		t.Fatal(err)
	}
	if raced < 1 || raced+pruned != len(strats) {
		t.Errorf("%d raced and %d pruned of %d strategies", raced, pruned, len(strats))
	}
	if !slices.ContainsFunc(strats, func(s strategy.Strategy) bool { return s.Name == adv.Recommended.Strategy }) || len(adv.Ranking) != raced {
		t.Errorf("recommended %q, ranking %+v", adv.Recommended.Strategy, adv.Ranking)
	}
}
