package experiment

import (
	"context"
	"testing"

	"github.com/graftml/graft/lrfind"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch/torchtest"
)

// RangeTest runs the range test on the model each strategy starts from,
// for the data's classes, whatever the base's own.
func TestRangeTest(t *testing.T) {
	torchtest.NoLeaks(t)
	base := baseCheckpoint(t, t.TempDir())
	train := lines(48, 1, 0)
	for _, name := range []string{strategy.Probe.Name, strategy.Finetune.Name, strategy.Truncate.At(2).Name} {
		t.Run(name, func(t *testing.T) {
			s, err := strategy.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := RangeTest(context.Background(), base, s, RangeInput{Train: train, Batch: 8, Workers: 1}, lrfind.Config{Start: 1e-5, End: 1, Steps: 12, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.LRs) == 0 || res.LRs[0] != 1e-5 || !(res.Suggested > 0) {
				t.Errorf("%d rates from %v, suggested %g", len(res.LRs), res.LRs, res.Suggested)
			}
		})
	}
}
