package progress

import (
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
)

// Off a terminal (here a strings.Builder) every kind of progress is lines,
// with no bar frame; --quiet leaves only what must be said.
func TestLinesOffATerminal(t *testing.T) {
	for _, tt := range []struct {
		name  string
		quiet bool
		drive func(w *strings.Builder, quiet bool)
		want  string
	}{
		{"train", false, func(w *strings.Builder, quiet bool) {
			p := NewTrain(w, quiet)
			p.Step(fit.StepInfo{Epoch: 1, Epochs: 2, Step: 1, Steps: 4})
			p.Epoch(fit.EpochStats{Epoch: 1, Phase: "head", TrainLoss: 0.5, TrainAcc: 0.75, HasVal: true, ValLoss: 0.25, ValAcc: 0.875, Seconds: 1.25, ImgPerSec: 100})
		}, "epoch   1 head     train loss 0.5000 acc 0.750  val loss 0.2500 acc 0.875  1.2s (100 img/s)\n"},
		{"train quiet", true, func(w *strings.Builder, quiet bool) {
			NewTrain(w, quiet).Epoch(fit.EpochStats{Epoch: 1})
		}, ""},
		{"compare", false, func(w *strings.Builder, quiet bool) {
			p := NewCompare(w, quiet, 2)
			p.RunStart(1, 2, "probe", 5, 1, 1e-3)
			p.RunDone(1, 2, experiment.Run{Strategy: "probe", Shots: 5, Seed: 1, Status: "done", TestAccuracy: 0.5, LR: 1e-3, Epochs: 3, TrainSeconds: 2, LRExtended: []float64{3e-4}})
			p.Finish()
		}, "probe                  shots=5    seed=1  done     test 50.0%  lr 0.001  3 epochs  2.0s  (grid extended to 0.0003)\n"},
		{"bench", false, func(w *strings.Builder, quiet bool) {
			b := NewBench(w, quiet, 4)
			b.Describe("graft smallcnn")
			b.Add(2)
			b.Describe("PyTorch smallcnn")
			b.Finish()
		}, "measuring graft smallcnn\nmeasuring PyTorch smallcnn\n"},
		{"steps", false, func(w *strings.Builder, quiet bool) {
			s := NewSteps(w, quiet, 3)
			s.Set(1, "lr 1e-3")
			s.Finish()
		}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			tt.drive(&b, tt.quiet)
			if b.String() != tt.want {
				t.Errorf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}

func TestDetectorEpochLine(t *testing.T) {
	var b strings.Builder
	NewTrain(&b, false).Detector().Epoch(fit.EpochStats{Epoch: 2, Phase: "train", TrainLoss: 1.5, HasVal: true, ValLoss: 2, ValAcc: 0.25, Seconds: 3, ImgPerSec: 40})
	if want := "epoch   2 train    train loss 1.5000  val loss 2.0000 mAP@0.5 0.250  3.0s (40 img/s)\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
