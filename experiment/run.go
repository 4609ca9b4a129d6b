package experiment

import (
	"context"

	"errors"
	"fmt"
	"github.com/graftml/graft/arch"
	"math"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Base is a loaded source checkpoint, kept in memory so every run starts
// from identical weights without rereading the file.
type Base struct {
	Path string
	Meta checkpoint.Meta
	st   *checkpoint.Safetensors
	// det, when set (ForDetection), makes the base start detectors.
	det *detectorBase
}

// LoadBase reads a source checkpoint.
func LoadBase(path string) (*Base, error) {
	// Loading checks that the weights fit the network the sidecar
	// describes; every run then builds its own copy.
	var meta checkpoint.Meta
	if m, err := checkpoint.ReadMeta(path); err == nil && detect.IsDetector(m) {
		d, dm, err := detect.Load(onnx.Checkpoints, path)
		if err != nil {
			return nil, err
		}
		d.Free()
		meta = dm
	} else {
		ck, err := onnx.Checkpoints.Load(path)
		if err != nil {
			return nil, err
		}
		ck.Model.Free()
		meta = ck.Meta
	}
	w, _ := checkpoint.Paths(path)
	st, err := checkpoint.ReadSafetensors(w)
	if err != nil {
		return nil, err
	}
	b := &Base{Path: path, Meta: meta, st: st}
	if detect.IsDetector(meta) {
		// A detector starts detectors only.
		if err := b.ForDetection(); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Model builds the starting model of strategy s for nClasses target
// classes: the base's weights (or fresh ones for scratch), cut and given a
// new head as the plan says. classMap, when not nil, maps target class →
// source class (-1 none): those head rows start from the source head.
func (b *Base) Model(s strategy.Strategy, p strategy.Plan, nClasses int, seed uint64, classMap []int) (*nn.Model, error) {
	if b.det != nil && detect.IsDetector(b.Meta) {
		return nil, fmt.Errorf("%s is a detector (%s): it adapts to detection data (coco:, voc:, gtsdb:) with graft compare or graft transfer, not to classes of images", b.Path, b.Meta.Arch)
	}
	var m *nn.Model
	var err error
	// Initialisation draws from libtorch's global generator: hold it so
	// that runs side by side neither reseed nor draw in between.
	torch.Seeded(seed, func() { m, err = b.build(s, p, nClasses, classMap) })
	return m, err
}

func (b *Base) build(s strategy.Strategy, p strategy.Plan, nClasses int, classMap []int) (*nn.Model, error) {
	m, err := onnx.Checkpoints.Build(b.Path, b.Meta)
	if err != nil {
		return nil, err
	}
	if !p.Scratch {
		if _, err := checkpoint.LoadWeights(m, b.st, checkpoint.Strict); err != nil {
			m.Free()
			return nil, err
		}
	} else if _, err := m.ResetParameters(); err != nil {
		// A built-in architecture is fresh from arch.New (and has no
		// Resetter); an imported graph's layers are drawn here.
		m.Free()
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	if p.CutAfter > 0 {
		err = m.Truncate(p.CutAfter-1, nClasses)
	} else {
		err = resetHead(m, nClasses, classMap, p.Scratch)
	}
	if err != nil {
		m.Free()
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	return m, nil
}

// resetHead gives the model a classifier for n classes; with a class map,
// rows of classes the source also knew start from the source's rows (a
// stop sign is a stop sign).
func resetHead(m *nn.Model, n int, classMap []int, scratch bool) error {
	old, _ := m.Classifier()
	if old == nil {
		return fmt.Errorf("%s has no classifier", m.Arch)
	}
	var oldW, oldB []float32
	var err error
	if classMap != nil && !scratch {
		if oldW, err = old.Weight.Float32s(); err != nil {
			return err
		}
		if old.Bias != nil {
			if oldB, err = old.Bias.Float32s(); err != nil {
				return err
			}
		}
	}
	in := old.In()
	if err := m.ResetClassifier(n); err != nil {
		return err
	}
	if oldW == nil {
		return nil
	}
	cls, _ := m.Classifier()
	w, err := cls.Weight.Float32s()
	if err != nil {
		return err
	}
	var bias []float32
	if cls.Bias != nil {
		if bias, err = cls.Bias.Float32s(); err != nil {
			return err
		}
	}
	for t, s := range classMap {
		if t >= n || s < 0 || (s+1)*in > len(oldW) {
			continue
		}
		copy(w[t*in:(t+1)*in], oldW[s*in:(s+1)*in])
		if bias != nil && oldB != nil {
			bias[t] = oldB[s]
		}
	}
	var cerr error
	torch.NoGrad(func() {
		wt := torch.FromFloat32(w, int64(n), int64(in))
		defer wt.Free()
		cerr = cls.Weight.CopyFrom_(wt)
		if cerr == nil && bias != nil {
			bt := torch.FromFloat32(bias, int64(n))
			defer bt.Free()
			cerr = cls.Bias.CopyFrom_(bt)
		}
	})
	return cerr
}

// Trial is one training run of a strategy at one learning rate.
type Trial struct {
	Base     *Base
	Strategy strategy.Strategy
	Train    *data.Loader
	Val      *data.Loader
	// DetTrain and DetVal replace Train and Val for a detector (a base
	// made ready with ForDetection).
	DetTrain, DetVal *data.DetectionLoader
	Classes          int
	Seed             uint64
	LR               float64
	Budget           strategy.Budget
	Batch            int
	ClassMap         []int
	Cache            *fit.FeatureCache
	// TrainKey/ValKey name the data in the shared cache.
	TrainKey, ValKey string
	Events           fit.Events
	TrainBN          bool
	Device           torch.Device
	Precision        torch.Precision // forward arithmetic (fit.Config.Precision)
	// PreciseBN re-estimates BatchNorm statistics over the training
	// images before every evaluation (fit.Config.PreciseBN).
	PreciseBN bool
	// MinShare of every phase runs before patience may end it.
	MinShare float64
	// RawHead trains a plan's new head on the features as they are, not
	// standardised (Plan.StandardizeHead): the selection tries both.
	RawHead bool
}

// TrialResult is a trained model and how it did.
type TrialResult struct {
	Model *nn.Model
	// Detector is the trained detector (whose nn.Model is Model) when
	// the trial trained one.
	Detector  *detect.Model
	Result    *fit.Result
	ValAcc    float64
	ValLoss   float64
	Status    string // ok, diverged
	Trainable int64
	// FLOPs is the training's arithmetic (fit.Result.FLOPs; 0 uncounted).
	FLOPs float64
}

// Run trains one trial. A diverging run is a result (status "diverged"),
// not an error.
func (tr Trial) Run(ctx context.Context) (*TrialResult, error) {
	if tr.Base.det != nil {
		return tr.runDetector(ctx)
	}
	m, plan, err := Start(tr.Base, tr.Strategy, tr.Budget, StartOptions{Classes: tr.Classes, Seed: tr.Seed,
		ClassMap: tr.ClassMap, TrainBN: tr.TrainBN, RawHead: tr.RawHead})
	if err != nil {
		return nil, err
	}
	res, err := fit.Train(ctx, fit.Run{Model: m, Train: tr.Train, Val: tr.Val, Config: tr.fitConfig(plan), Events: tr.Events,
		Cache: tr.Cache, TrainKey: tr.TrainKey, ValKey: tr.ValKey})
	if ferr := m.FoldStandardize(); ferr != nil && err == nil {
		err = ferr
	}
	return trialResult(m, plan, res, err)
}

// fitConfig is how a trial trains under plan: Adam at the trial's rate on a
// cosine schedule with a short warm-up, the plan's phases, and the trial's
// budget, device and BatchNorm settings.
func (tr Trial) fitConfig(plan strategy.Plan) fit.Config {
	return fit.Config{
		BatchSize: tr.Batch, Seed: tr.Seed, Patience: tr.Budget.Patience, L2SP: plan.L2SP, Device: tr.Device,
		PreciseBN: tr.PreciseBN, MinShare: tr.MinShare,
		ChannelsLast: tr.Base.channelsLast(tr.Device), Precision: tr.Precision,
		Optimizer: optim.Config{Name: "adam", LR: tr.LR},
		Schedule:  optim.Schedule{Name: "cosine", Warmup: 0.05},
		Phases:    plan.Phases,
	}
}

// trialResult is what fit.Train's outcome on m makes of a trial: a
// diverging run is a result (status "diverged"), another error frees m;
// the best epoch's validation scores and the trained weights are counted.
func trialResult(m *nn.Model, plan strategy.Plan, res *fit.Result, err error) (*TrialResult, error) {
	out := &TrialResult{Model: m, Result: res, Status: "ok", ValAcc: -1, ValLoss: math.Inf(1)}
	if res != nil {
		out.FLOPs = res.FLOPs
	}
	if err != nil {
		if errors.Is(err, fit.ErrDiverged) {
			out.Status = "diverged"
			return out, nil
		}
		m.Free()
		return nil, err
	}
	if res.BestEpoch > 0 {
		best := res.History[res.BestEpoch-1]
		out.ValAcc, out.ValLoss = best.ValAcc, best.ValLoss
	}
	out.Trainable = trainable(m, plan)
	return out, nil
}

// trainable counts the parameters the final phase of plan trains (all
// phases' for gradual).
func trainable(m *nn.Model, plan strategy.Plan) int64 {
	var n int64
	last := plan.Phases[len(plan.Phases)-1]
	for i, s := range m.Stages {
		if last.StageLR == nil || (i < len(last.StageLR) && last.StageLR[i] > 0) {
			for _, p := range s.Params() {
				if !p.Buffer {
					n += p.T.Numel()
				}
			}
		}
	}
	return n
}

// channelsLast says whether models of this base train and evaluate NHWC
// on dev: the layout measured fastest for the architecture on the CPU
// (BENCHMARKS.md); a detector's, its body's (detect.ChannelsLast).
func (b *Base) channelsLast(dev torch.Device) bool {
	if dev != torch.CPU {
		return false
	}
	if b.det != nil {
		name := b.det.arch
		if name == "" {
			name = b.Meta.Arch
		}
		return detect.ChannelsLast(name)
	}
	return arch.PrefersChannelsLast(b.Meta.Arch)
}

// Shape is the base model's stage outline (no weights), enough for plans
// to resolve stage names and counts.
func (b *Base) Shape() *nn.Model {
	m := &nn.Model{Arch: b.Meta.Arch}
	stages := b.Meta.Stages
	if b.det != nil {
		stages = b.det.stages
	}
	for _, s := range stages {
		m.Stages = append(m.Stages, &nn.Stage{Name: s.Name, Channels: s.Channels, Reduction: s.Reduction})
	}
	return m
}
