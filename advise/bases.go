package advise

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
)

// MeasuredBases are several candidate bases measured on one target: the
// one whose frozen head probes best is the one to race.
type MeasuredBases struct {
	Best   *Measurements // the best base's; its Seconds are all the bases'
	Base   string        // the best base's path
	Scores []BaseScore   // every base's, in the order given
}

// MeasureBases loads each base checkpoint in turn and measures it on
// target (Measure), keeping the one whose head probes best; the first
// wins a tie. o's Preprocess is each base's own. measuring, when not nil,
// hears of each base (its path and architecture) before it is measured.
func MeasureBases(ctx context.Context, paths []string, target data.Dataset, o Options, measuring func(path, arch string)) (*MeasuredBases, error) {
	var out MeasuredBases
	var best BaseScore
	var spent, gflop float64
	for _, path := range paths {
		m, arch, err := measureBase(ctx, path, target, o, measuring)
		if err != nil {
			return nil, err
		}
		spent += m.Seconds
		gflop += m.GFLOP
		out.Scores = append(out.Scores, ScoreBase(path, arch, m))
		if s := out.Scores[len(out.Scores)-1]; out.Best == nil || s.Probe > best.Probe {
			out.Best, out.Base, best = m, path, s
		}
	}
	if out.Best == nil {
		return nil, fmt.Errorf("no base to measure")
	}
	out.Best.Seconds, out.Best.GFLOP = spent, gflop
	return &out, nil
}

// measureBase measures one base on the target without training.
func measureBase(ctx context.Context, path string, target data.Dataset, o Options, measuring func(path, arch string)) (*Measurements, string, error) {
	ck, err := onnx.Checkpoints.Load(path)
	if err != nil {
		return nil, "", fmt.Errorf("--base: %w", err)
	}
	defer ck.Model.Free()
	if err := experiment.CheckInputSize(ck.Model, ck.Meta.Preprocess); err != nil {
		return nil, "", err
	}
	if o.Device != torch.CPU {
		if err := ck.Model.To(o.Device, false); err != nil {
			return nil, "", err
		}
	}
	if measuring != nil {
		measuring(path, ck.Meta.Arch)
	}
	o.Preprocess = ck.Meta.Preprocess
	meas, err := Measure(ctx, ck.Model, target, o)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return meas, ck.Meta.Arch, nil
}
