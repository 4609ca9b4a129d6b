package fit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/nn/nntest"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// bars makes a 3-class set of 12×12 grey images: a horizontal bar, a
// vertical bar, or a diagonal, at random positions with noise.
func bars(n int, seed uint64) data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 1))
	var ims []*data.Image
	var labels []int
	for i := 0; i < n; i++ {
		im := data.NewImage(1, 12, 12)
		c := i % 3
		p := 2 + rng.IntN(8)
		for k := 0; k < 12; k++ {
			switch c {
			case 0:
				im.Set(0, p, k, 1)
			case 1:
				im.Set(0, k, p, 1)
			default:
				im.Set(0, k, k, 1)
			}
		}
		for j := range im.Pix {
			im.Pix[j] += float32(rng.NormFloat64() * 0.1)
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, err := data.NewInMemory(ims, labels, []string{"h", "v", "d"})
	if err != nil {
		panic(err)
	}
	return ds
}

func loader(t *testing.T, ds data.Dataset, shuffle bool) *data.Loader {
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 16, Shuffle: shuffle, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func model(t *testing.T, seed uint64) *nn.Model {
	torch.ManualSeed(seed)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Free)
	return m
}

func weights(t *testing.T, m *nn.Model) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		v, err := p.T.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func equalWeights(a, b [][]float32) bool {
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func TestTrainLearns(t *testing.T) {
	m := model(t, 1)
	cfg := Config{Epochs: 6, Seed: 1, Optimizer: optim.Config{Name: "adam", LR: 3e-3}}
	res, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(96, 1), true), Val: loader(t, bars(48, 2), false), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	last := res.History[len(res.History)-1]
	if last.ValAcc < 0.9 {
		t.Errorf("validation accuracy %.2f after %d epochs, want ≥ 0.9 on an easy set", last.ValAcc, res.Epochs)
	}
	if res.History[0].TrainLoss <= last.TrainLoss {
		t.Errorf("loss did not fall: %v → %v", res.History[0].TrainLoss, last.TrainLoss)
	}
}

func TestTrainRepeatsUnderSeed(t *testing.T) {
	run := func() [][]float32 {
		m := model(t, 5)
		cfg := Config{Epochs: 2, Seed: 9}
		if _, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(48, 1), true), Config: cfg}); err != nil {
			t.Fatal(err)
		}
		return weights(t, m)
	}
	if !equalWeights(run(), run()) {
		t.Error("two runs with the same seed differ")
	}
}

// TestResumeEndsWhereUninterruptedWould interrupts a run after its second
// epoch and resumes it.
func TestResumeEndsWhereUninterruptedWould(t *testing.T) {
	for _, precise := range []bool{false, true} {
		t.Run(fmt.Sprintf("precise_bn=%v", precise), func(t *testing.T) { testResume(t, precise, torch.FP32, true, false) })
	}
	// Without validation, so that the last epoch's weights are the ones
	// compared rather than a best epoch from before the interruption: fp32;
	// bf16, which keeps bf16 copies of the weights through the run that a
	// resumed run must make from the restored weights and hand to the
	// optimizer it rebuilds (it once trained nothing after a resume); and
	// bf16 casting every step.
	t.Run("fp32-no-validation", func(t *testing.T) { testResume(t, false, torch.FP32, false, false) })
	if torch.CPUHasBF16() {
		t.Run("bf16-copies", func(t *testing.T) { testResume(t, false, torch.BF16, false, false) })
		t.Run("bf16-casts", func(t *testing.T) { testResume(t, false, torch.BF16, false, true) })
	}
}

func testResume(t *testing.T, precise bool, prec torch.Precision, withVal, cast bool) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	valLoader := func() *data.Loader {
		if !withVal {
			return nil
		}
		return loader(t, bars(24, 2), false)
	}
	cfg := Config{Epochs: 4, Seed: 3, Patience: 3, PreciseBN: precise, Precision: prec, CastWeights: cast, Phases: []Phase{
		{Name: "head", Epochs: 2, StageLR: []float64{0, 0, 0, 1}},
		{Name: "all", Epochs: 2},
	}}
	train := bars(48, 1)

	full := model(t, 2)
	fullRes, err := Train(context.Background(), Run{Model: full, Train: loader(t, train, true), Val: valLoader(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(dir, "run.resume")
	ctx, cancel := context.WithCancel(context.Background())
	m1 := model(t, 2)
	stopper := &cancelAfter{n: 3, cancel: cancel}
	_, err = Train(ctx, Run{Model: m1, Train: loader(t, train, true), Val: valLoader(), Config: cfg, Events: stopper,
		Resume: &Resumer{Path: path, Fingerprint: "x"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	if _, err := Train(context.Background(), Run{Model: model(t, 2), Train: loader(t, train, true), Config: cfg,
		Resume: &Resumer{Path: path, Fingerprint: "other settings", Continue: true}}); err == nil {
		t.Error("resumed a state saved with another fingerprint")
	}
	m2 := model(t, 77) // different init: everything must come from the checkpoint
	r := &Resumer{Path: path, Fingerprint: "x", Continue: true}
	res, err := Train(context.Background(), Run{Model: m2, Train: loader(t, train, true), Val: valLoader(), Config: cfg, Resume: r})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Resumed || len(res.History) != 4 {
		t.Fatalf("resumed=%v, history %d epochs", r.Resumed, len(res.History))
	}
	if !equalWeights(weights(t, full), weights(t, m2)) {
		t.Error("resumed run ended with different weights than the uninterrupted one")
	}
	// The work is counted once over the interruption: the resumed run's
	// total is the uninterrupted run's.
	if res.FLOPs != fullRes.FLOPs || res.FLOPs == 0 {
		t.Errorf("resumed run counted %g FLOPs, the uninterrupted one %g", res.FLOPs, fullRes.FLOPs)
	}
}

// TestWorkCounted checks a run's FLOPs against the count worked out from
// the model's per-stage forward passes: a cached probe pays for its
// frozen prefix once, and a second run sharing the cache the same (the
// count is the run's own, whatever the cache held); a run without the
// cache computes the frozen stages every step but does not backpropagate
// through those below its lowest trainable stage.
func TestWorkCounted(t *testing.T) {
	const epochs, nTrain, nVal = 2, 48, 24
	per, err := model(t, 1).StageFLOPs(12, 12)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float64, len(per))
	var all float64
	for i, v := range per {
		f[i] = float64(v)
		all += f[i]
	}
	probe := []float64{0, 0, 0, 1}
	cache := NewFeatureCache(1 << 30)
	defer cache.Free()
	prefix := (nTrain + nVal) * (f[0] + f[1] + f[2])
	headEpoch := nTrain*(f[3]+f[3]) + nVal*f[3]
	for _, c := range []struct {
		name    string
		stageLR []float64
		val     bool
		cache   *FeatureCache
		want    float64
	}{
		{"probe, computing the cache", probe, true, cache, prefix + epochs*headEpoch},
		{"probe, served by the cache", probe, true, cache, prefix + epochs*headEpoch},
		{"finetune", nil, false, nil, epochs * nTrain * (all + f[0] + 2*(f[1]+f[2]+f[3]))},
		{"freeze:2 uncached", []float64{0, 0, 1, 1}, true, nil,
			epochs * (nTrain*(all+f[2]+2*f[3]) + nVal*all)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{Epochs: epochs, Seed: 1, Phases: []Phase{{Name: "p", Epochs: epochs, StageLR: c.stageLR}}}
			run := Run{Model: model(t, 1), Train: loader(t, bars(nTrain, 1), true), Config: cfg,
				Cache: c.cache, NoCache: c.cache == nil, TrainKey: "train", ValKey: "val"}
			if c.val {
				run.Val = loader(t, bars(nVal, 2), false)
			}
			res, err := Train(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.FLOPs-c.want) > 1e-9*c.want {
				t.Errorf("FLOPs = %g, want %g", res.FLOPs, c.want)
			}
		})
	}
}

// cancelAfter cancels the run's context after n epochs.
type cancelAfter struct {
	n, seen int
	cancel  func()
}

func (c *cancelAfter) Step(StepInfo) {}
func (c *cancelAfter) Epoch(EpochStats) {
	c.seen++
	if c.seen == c.n {
		c.cancel()
	}
}

func TestDivergenceIsReported(t *testing.T) {
	m := model(t, 1)
	cfg := Config{Epochs: 3, Seed: 1, Optimizer: optim.Config{Name: "sgd", LR: 1e12}, Schedule: optim.Schedule{Name: "constant"}}
	res, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(48, 1), true), Config: cfg})
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
	// The batches stepped on count, the diverging one too: a run that
	// diverged did work, and a budget kept in it must see that.
	if res == nil || res.FLOPs <= 0 {
		t.Errorf("a diverged run counted no work: %+v", res)
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	m := model(t, 1)
	cfg := Config{Epochs: 30, Seed: 1, Patience: 2, Optimizer: optim.Config{Name: "adam", LR: 3e-3}, Schedule: optim.Schedule{Name: "constant"}}
	// Validation labels are shuffled, so validation stops improving soon.
	noisy := bars(24, 2).(*data.InMemory)
	rng := rand.New(rand.NewPCG(4, 4))
	labels := make([]int, noisy.Len())
	ims := make([]*data.Image, noisy.Len())
	for i := range labels {
		labels[i] = rng.IntN(3)
		ims[i], _ = noisy.Image(i)
	}
	val, _ := data.NewInMemory(ims, labels, noisy.Classes())
	res, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(48, 1), true), Val: loader(t, val, false), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if !res.StoppedEarly || res.Epochs >= 30 {
		t.Fatalf("ran %d epochs, stopped early %v", res.Epochs, res.StoppedEarly)
	}
	ev, err := Evaluate(context.Background(), m, loader(t, val, false), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Confusion.Accuracy(), res.History[res.BestEpoch-1].ValAcc; got != want {
		t.Errorf("restored model scores %.3f, best epoch scored %.3f", got, want)
	}
}

func TestTrainOnCUDA(t *testing.T) {
	if torch.CUDADeviceCount() == 0 {
		t.Skip("no CUDA device visible to this libtorch")
	}
	m := model(t, 1)
	cfg := Config{Epochs: 6, Seed: 1, Device: torch.CUDA(0), Optimizer: optim.Config{Name: "adam", LR: 3e-3}}
	res, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(96, 1), true), Val: loader(t, bars(48, 2), false), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if acc := res.History[len(res.History)-1].ValAcc; acc < 0.9 {
		t.Errorf("validation accuracy %.2f on CUDA", acc)
	}
	if d := m.Params()[0].T.Device(); d != torch.CUDA(0) {
		t.Errorf("model on %v after training on cuda:0", d)
	}
}

// TestFrozenPrefixCache trains a probe (every stage but the head frozen)
// with and without the feature cache: the cached run must reach the same
// weights, and serve later epochs from the cache.
func TestFrozenPrefixCache(t *testing.T) {
	cfg := Config{Epochs: 3, Seed: 4, Phases: []Phase{{Name: "probe", Epochs: 3, StageLR: []float64{0, 0, 0, 1}}}}
	train, val := bars(48, 1), bars(24, 2)
	run := func(cache *FeatureCache, noCache bool) [][]float32 {
		m := model(t, 3)
		if _, err := Train(context.Background(), Run{Model: m, Train: loader(t, train, true), Val: loader(t, val, false),
			Config: cfg, Cache: cache, NoCache: noCache, TrainKey: "train", ValKey: "val"}); err != nil {
			t.Fatal(err)
		}
		return weights(t, m)
	}
	cache := NewFeatureCache(1 << 30)
	defer cache.Free()
	cached := run(cache, false)
	plain := run(nil, true)
	for i := range cached {
		for j := range cached[i] {
			if d := cached[i][j] - plain[i][j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("param %d differs by %g between cached and recomputed runs", i, d)
			}
		}
	}
	if cache.Misses != 2 {
		t.Errorf("cache computed %d feature sets, want 2 (train and val, once each)", cache.Misses)
	}
	run(cache, false) // a second run with the same base shares the features
	if cache.Hits < 2 {
		t.Errorf("second run hit the cache %d times, want 2", cache.Hits)
	}

	// Past its memory budget the cache spills to disk, with the same result.
	disk := NewFeatureCache(1000)
	disk.DiskDir, disk.DiskMaxBytes = t.TempDir(), 1<<20
	spilled := run(disk, false)
	files, _ := os.ReadDir(disk.DiskDir)
	if len(files) != 2 || disk.Misses != 2 {
		t.Errorf("%d feature files on disk after %d computations, want 2 and 2", len(files), disk.Misses)
	}
	for i := range spilled {
		for j := range spilled[i] {
			if d := spilled[i][j] - plain[i][j]; d > 1e-5 || d < -1e-5 {
				t.Fatalf("param %d differs by %g between disk-cached and recomputed runs", i, d)
			}
		}
	}
	disk.Free()
	if files, _ := os.ReadDir(disk.DiskDir); len(files) != 0 {
		t.Errorf("Free left %d feature files", len(files))
	}
}

func TestL2SPPullsTowardStart(t *testing.T) {
	drift := func(alpha float64) float64 {
		m := model(t, 6)
		start := weights(t, m)
		cfg := Config{Epochs: 3, Seed: 1, L2SP: alpha, Optimizer: optim.Config{Name: "sgd", LR: 0.05, Momentum: 0.9}, Schedule: optim.Schedule{Name: "constant"}}
		if _, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(48, 1), true), Config: cfg}); err != nil {
			t.Fatal(err)
		}
		end := weights(t, m)
		var d float64
		for i := 0; i < len(start)-2; i++ { // all but the head's weight and bias
			for j := range start[i] {
				x := float64(end[i][j] - start[i][j])
				d += x * x
			}
		}
		return d
	}
	free, pulled := drift(0), drift(5)
	if pulled >= free {
		t.Errorf("L2-SP drift %.4g not below unpenalised %.4g", pulled, free)
	}
}

// TestLowWeightsTrainAsCasts: bf16 training through bf16 copies of the
// weights (the default on the CPU) ends on the weights autocast's
// per-step casts give (Config.CastWeights), through early stopping's
// restore, a frozen stage joining late, L2-SP and clipping, in both
// layouts; and the model keeps no copies afterwards.
func TestLowWeightsTrainAsCasts(t *testing.T) {
	if !torch.CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	cases := []struct {
		name string
		cfg  Config
	}{
		{"adam", Config{Epochs: 3, Seed: 1, Patience: 2, Optimizer: optim.Config{Name: "adam", LR: 3e-3}}},
		{"phases-l2sp-clip", Config{Seed: 2, L2SP: 0.5, ClipNorm: 0.5, Optimizer: optim.Config{Name: "sgd", LR: 0.05, Momentum: 0.9},
			Phases: []Phase{{Name: "head", Epochs: 1, StageLR: []float64{0, 0, 1, 1}}, {Name: "all", Epochs: 2}}}},
	}
	for _, tc := range cases {
		for _, cl := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/channels-last=%v", tc.name, cl), func(t *testing.T) {
				var got [2][][]float32
				for k, cast := range []bool{true, false} {
					m := model(t, 3)
					cfg := tc.cfg
					cfg.Precision, cfg.ChannelsLast, cfg.CastWeights = torch.BF16, cl, cast
					if cfg.Phases != nil && len(cfg.Phases[0].StageLR) != len(m.Stages) {
						t.Fatalf("smallcnn has %d stages; the test's phases assume 4", len(m.Stages))
					}
					seen := &lowSeen{m: m}
					run := Run{Model: m, Train: loader(t, bars(48, 1), true), Val: loader(t, bars(24, 2), false), Config: cfg, Events: seen}
					gemm := torch.GEMMWeightGradCalls()
					if _, err := Train(context.Background(), run); err != nil {
						t.Fatal(err)
					}
					// The small CNN's last convolution works on small maps
					// here, so both ways also meet the weight gradient
					// computed as a matrix product (torch.SetGEMMWeightGrad).
					if torch.GEMMWeightGradCalls() == gemm {
						t.Fatalf("cast %v: no weight gradient was a matrix product: the test no longer covers that path", cast)
					}
					if seen.steps == 0 || seen.kept != map[bool]int{false: seen.steps, true: 0}[cast] {
						t.Fatalf("cast %v: the model kept bf16 copies on %d of %d steps", cast, seen.kept, seen.steps)
					}
					if m.KeepsLowWeights() {
						t.Fatal("the model still keeps bf16 copies after training")
					}
					got[k] = weights(t, m)
				}
				if !equalWeights(got[0], got[1]) {
					t.Error("training through bf16 copies ended elsewhere than casting every step")
				}
			})
		}
	}
}

// lowSeen counts the training steps during which the model kept bf16
// copies of its weights.
type lowSeen struct {
	m           *nn.Model
	steps, kept int
}

func (l *lowSeen) Step(StepInfo) {
	l.steps++
	if l.m.KeepsLowWeights() {
		l.kept++
	}
}
func (l *lowSeen) Epoch(EpochStats) {}

// TestInferenceOnlyModelRefused: a model with folded BatchNorms or packed
// weights is for inference; training it would leave the BatchNorms out or
// the packed copies stale, so Train says so instead.
func TestInferenceOnlyModelRefused(t *testing.T) {
	for _, pack := range []bool{false, true} {
		m := model(t, 1)
		if _, err := m.FoldBatchNorm(); err != nil {
			t.Fatal(err)
		}
		if pack {
			if n, err := m.Pack(); err != nil || n == 0 {
				t.Fatalf("packed %d stages: %v", n, err)
			}
		}
		cfg := Config{Epochs: 1, Seed: 1, Optimizer: optim.Config{Name: "adam", LR: 1e-3}}
		_, err := Train(context.Background(), Run{Model: m, Train: loader(t, bars(32, 1), true), Config: cfg})
		if err == nil {
			t.Fatalf("pack=%v: a folded model trained", pack)
		}
	}
}

// packWatch records whether the model's first stage was packed at each
// training step.
type packWatch struct {
	m            *nn.Model
	packed, seen int
}

func (w *packWatch) Step(StepInfo) {
	w.seen++
	if w.m.Stages[0].Packed {
		w.packed++
	}
}
func (w *packWatch) Epoch(EpochStats) {}

// TestFrozenPrefixPacked: a frozen prefix trains packed (its BatchNorms
// folded into packed convolutions), cached or recomputed, and ends where
// the unpacked run does, to float rounding; a phase that trains the
// prefix runs it dense, and the model comes back unpacked.
func TestFrozenPrefixPacked(t *testing.T) {
	phases := []Phase{
		{Name: "probe", Epochs: 2, StageLR: []float64{0, 0, 0, 1}},
		{Name: "finetune", Epochs: 1, StageLR: []float64{1, 1, 1, 1}},
	}
	cfg := Config{Seed: 4, Phases: phases, ChannelsLast: true}
	train, val := bars(48, 1), bars(24, 2)
	run := func(noCache, noPack bool) ([][]float32, *packWatch) {
		m := model(t, 3)
		// Statistics unlike a fresh BatchNorm's, whose fold is nearly
		// the identity and would hide a wrong one.
		nntest.ScrambleBatchNorms(m)
		w := &packWatch{m: m}
		if _, err := Train(context.Background(), Run{Model: m, Train: loader(t, train, true), Val: loader(t, val, false),
			Config: cfg, NoCache: noCache, NoPack: noPack, Events: w}); err != nil {
			t.Fatal(err)
		}
		if m.Packed() {
			t.Error("Train handed the model back packed")
		}
		return weights(t, m), w
	}
	dense, dw := run(true, true)
	if dw.packed != 0 {
		t.Fatalf("NoPack: %d steps ran packed", dw.packed)
	}
	for _, noCache := range []bool{true, false} {
		got, w := run(noCache, false)
		// 3 steps an epoch: the probe's 2 epochs packed, finetune's dense.
		if w.seen != 9 || w.packed != 6 {
			t.Errorf("noCache=%v: %d of %d steps packed, want 6 of 9", noCache, w.packed, w.seen)
		}
		for i := range got {
			for j := range got[i] {
				if d := float64(got[i][j] - dense[i][j]); math.Abs(d) > 1e-4 {
					t.Fatalf("noCache=%v: param %d differs by %g from the unpacked run", noCache, i, d)
				}
			}
		}
	}
}

func TestHits(t *testing.T) {
	cases := []struct {
		name   string
		logits []float32
		labels []int64
		want   int
	}{
		{"none", nil, nil, 0},
		{"right and wrong", []float32{0.1, 0.9, 0.8, 0.2}, []int64{1, 1}, 1},
		{"tie takes the first, as torch.argmax", []float32{0.5, 0.5, 0.5, 0.5}, []int64{0, 1}, 1},
		{"negative logits", []float32{-3, -1, -2, -5, -4, -6}, []int64{1, 0}, 1},
	}
	for _, c := range cases {
		if got := hits(c.logits, c.labels); got != c.want {
			t.Errorf("%s: %d hits, want %d", c.name, got, c.want)
		}
	}
}
