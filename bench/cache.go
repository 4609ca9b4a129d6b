package bench

import (
	"context"
	"math"
	"slices"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// FreezeReport measures what freezing saves: a probe trained with the
// frozen base's outputs computed once and cached, against the same run
// recomputing them every epoch, and the epoch time of freeze:K for every K.
type FreezeReport struct {
	Model    string  `json:"model"`
	Size     int     `json:"size"`
	Images   int     `json:"images"`
	Epochs   int     `json:"epochs"`
	Threads  int     `json:"threads"`
	Cached   float64 `json:"probe_cached_seconds"`    // end to end, feature pass included
	Uncached float64 `json:"probe_recompute_seconds"` // same run, base recomputed each epoch
	Speedup  float64 `json:"speedup"`
	// Rounds is how many times each probe ran, the two kinds taking
	// turns; Cached and Uncached are each kind's fastest, and
	// CachedRuns and UncachedRuns every time in order.
	Rounds       int       `json:"rounds"`
	CachedRuns   []float64 `json:"probe_cached_runs"`
	UncachedRuns []float64 `json:"probe_recompute_runs"`
	// SamePredictions: both probes predict the same class for every test
	// image; MaxLogitDiff is the largest difference of their logits.
	SamePredictions bool          `json:"same_predictions"`
	MaxLogitDiff    float64       `json:"max_logit_diff"`
	Freeze          []FreezePoint `json:"freeze"`
}

// FreezePoint is freeze:K's mean epoch time, with and without the cache.
type FreezePoint struct {
	K             int     `json:"k"`
	Frozen        string  `json:"frozen"` // last frozen stage
	Trainable     int64   `json:"trainable_params"`
	EpochSeconds  float64 `json:"epoch_seconds"`          // frozen prefix served from the cache
	NoCacheEpochS float64 `json:"epoch_seconds_no_cache"` // frozen prefix recomputed without gradients
}

// FreezeOptions configure MeasureFreezing.
type FreezeOptions struct {
	Model    string // default resnet18
	Size     int    // default 64
	PerClass int    // training images per class of 40 synthetic sign classes; default 20
	Epochs   int    // probe epochs; default 20
	Threads  int
	// Rounds runs each probe this many times, taking turns, and keeps
	// each one's fastest: a cached probe takes a second or two, so one
	// pause of the machine moves a single run's ratio by tens of percent.
	// Default 1.
	Rounds int
}

// MeasureFreezing runs the caching and freeze:K measurements.
func MeasureFreezing(ctx context.Context, o FreezeOptions) (*FreezeReport, error) {
	if o.Model == "" {
		o.Model = "resnet18"
	}
	if o.Size == 0 {
		o.Size = 64
	}
	if o.PerClass == 0 {
		o.PerClass = 20
	}
	if o.Epochs == 0 {
		o.Epochs = 20
	}
	if o.Threads == 0 {
		o.Threads = DefaultThreads
	}
	o.Rounds = max(o.Rounds, 1)
	if err := torch.SetNumThreads(o.Threads); err != nil {
		return nil, err
	}
	train, test, err := synth.Split(synth.Config{Country: "de", Classes: []string{"shared"}, PerClass: o.PerClass, Size: o.Size, Seed: 5, Shift: 1, Difficulty: 0.5}, 10)
	if err != nil {
		return nil, err
	}
	// Materialise once so neither run pays for rendering.
	trainM, err := data.Materialize(train, 0)
	if err != nil {
		return nil, err
	}
	testM, err := data.Materialize(test, 0)
	if err != nil {
		return nil, err
	}
	pre := data.Preprocess{Size: o.Size, Channels: 3, Norm: data.NormImageNet}
	loader := func(ds data.Dataset, shuffle bool) (*data.Loader, error) {
		return data.NewLoader(ds, data.LoaderConfig{BatchSize: 32, Shuffle: shuffle, Seed: 1, Preprocess: pre, CacheDecoded: true})
	}
	rep := &FreezeReport{Model: o.Model, Size: o.Size, Images: trainM.Len(), Epochs: o.Epochs, Threads: o.Threads, Rounds: o.Rounds}
	classes := len(trainM.Classes())

	build := func() (*nn.Model, error) {
		torch.ManualSeed(1)
		return arch.New(o.Model, arch.Config{NumClasses: classes, InChannels: 3})
	}
	probe := func(noCache bool, epochs int) (float64, []float32, error) {
		m, err := build()
		if err != nil {
			return 0, nil, err
		}
		defer m.Free()
		tl, err := loader(trainM, true)
		if err != nil {
			return 0, nil, err
		}
		plan, err := strategy.Probe.Strategy().Plan(m, strategy.Budget{Epochs: epochs})
		if err != nil {
			return 0, nil, err
		}
		cfg := fit.Config{Seed: 1, BatchSize: 32, ChannelsLast: true, Phases: plan.Phases, Optimizer: optim.Config{Name: "adam", LR: 1e-3}}
		start := time.Now()
		if _, err := fit.Train(ctx, fit.Run{Model: m, Train: tl, Config: cfg, NoCache: noCache}); err != nil {
			return 0, nil, err
		}
		secs := time.Since(start).Seconds()
		logits, err := predictAll(ctx, m, testM, pre)
		return secs, logits, err
	}
	// A one-epoch run of each kind first: the process's first pass through
	// the network pays oneDNN's kernel generation for its shapes (about
	// 0.8 s for ResNet-18 here), which would otherwise fall on whichever
	// measured run came first.
	for _, noCache := range []bool{false, true} {
		if _, _, err := probe(noCache, 1); err != nil {
			return nil, err
		}
	}
	rep.SamePredictions = true
	for r := 0; r < o.Rounds; r++ {
		cached, la, err := probe(false, o.Epochs)
		if err != nil {
			return nil, err
		}
		uncached, lb, err := probe(true, o.Epochs)
		if err != nil {
			return nil, err
		}
		rep.CachedRuns = append(rep.CachedRuns, cached)
		rep.UncachedRuns = append(rep.UncachedRuns, uncached)
		for i := 0; i < len(la); i += classes {
			if metrics.Argmax(la[i:i+classes]) != metrics.Argmax(lb[i:i+classes]) {
				rep.SamePredictions = false
			}
		}
		for i := range la {
			rep.MaxLogitDiff = math.Max(rep.MaxLogitDiff, math.Abs(float64(la[i]-lb[i])))
		}
	}
	rep.Cached, rep.Uncached = slices.Min(rep.CachedRuns), slices.Min(rep.UncachedRuns)
	rep.Speedup = rep.Uncached / rep.Cached

	shape, err := build()
	if err != nil {
		return nil, err
	}
	body := len(shape.Stages) - 1
	names := shape.StageNames()
	shape.Free()
	for k := 0; k <= body; k++ {
		pt := FreezePoint{K: k, Frozen: "none"}
		if k > 0 {
			pt.Frozen = names[k-1]
		}
		for _, noCache := range []bool{false, true} {
			if k == 0 && noCache {
				pt.NoCacheEpochS = pt.EpochSeconds // nothing frozen: nothing to cache
				continue
			}
			m, err := build()
			if err != nil {
				return nil, err
			}
			rates := make([]float64, body+1)
			for i := range rates {
				if i >= k {
					rates[i] = 1
				}
			}
			tl, err := loader(trainM, true)
			if err != nil {
				m.Free()
				return nil, err
			}
			const epochs = 2
			cfg := fit.Config{Seed: 1, BatchSize: 32, ChannelsLast: true, Optimizer: optim.Config{Name: "adam", LR: 1e-3},
				Phases: []fit.Phase{{Name: strategy.Freeze.At(k).Name, Epochs: epochs, StageLR: rates}}}
			res, err := fit.Train(ctx, fit.Run{Model: m, Train: tl, Config: cfg, NoCache: noCache})
			_, trainable := m.CountParams()
			m.Free()
			if err != nil {
				return nil, err
			}
			// The first epoch includes the one-time feature pass; the
			// steady state is what freezing buys per epoch.
			var secs float64
			for _, h := range res.History[1:] {
				secs += h.Seconds
			}
			secs /= float64(len(res.History) - 1)
			if noCache {
				pt.NoCacheEpochS = secs
			} else {
				pt.EpochSeconds, pt.Trainable = secs, trainable
			}
		}
		rep.Freeze = append(rep.Freeze, pt)
	}
	return rep, nil
}

// predictAll returns the model's logits for every sample, row by row.
func predictAll(ctx context.Context, m *nn.Model, ds data.Dataset, pre data.Preprocess) ([]float32, error) {
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 64, Preprocess: pre})
	if err != nil {
		return nil, err
	}
	var out []float32
	err = fit.Predict(ctx, m, l, fit.Config{ChannelsLast: true}, func(_ *data.Batch, logits, _ *torch.Tensor) error {
		v, err := logits.Float32s()
		out = append(out, v...)
		return err
	})
	return out, err
}
