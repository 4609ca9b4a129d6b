package lrfind

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// RunStrategy runs the range test on the model each strategy starts from,
// for the data's classes, whatever the base's own.
func TestRunStrategy(t *testing.T) {
	torchtest.NoLeaks(t)
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 5, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "base")
	err = checkpoint.Save(path, m, checkpoint.Meta{Classes: []string{"a", "b", "c", "d", "e"}, Preprocess: data.Preprocess{Size: 12, Channels: 1}}, nil)
	m.Free()
	if err != nil {
		t.Fatal(err)
	}
	base, err := experiment.LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	train := bars(t, 48).Dataset()
	for _, name := range []string{strategy.Probe.Name, strategy.Finetune.Name} {
		t.Run(name, func(t *testing.T) {
			s, err := strategy.Parse(name)
			if err != nil {
				t.Fatal(err)
			}
			res, err := RunStrategy(context.Background(), base, s, Input{Train: train, Batch: 8, Workers: 1}, Config{Start: 1e-5, End: 1, Steps: 12, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.LRs) == 0 || res.LRs[0] != 1e-5 || !(res.Suggested > 0) {
				t.Errorf("%d rates from %v, suggested %g", len(res.LRs), res.LRs, res.Suggested)
			}
		})
	}
}
