package detect

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// prefixLoaders are small scenes at the small SSD's 128², shuffled for
// training (augmented when asked) and in order for validation.
func prefixLoaders(t testing.TB, images int, augment bool) (train, val *data.DetectionLoader) {
	t.Helper()
	scenes, err := synth.NewScenes(synth.SceneConfig{Classes: []string{"stop", "no-entry", "yield"}, Images: images,
		Width: 160, Height: 120, MinSign: 24, MaxSign: 56, MaxSigns: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	pre := data.Preprocess{Size: 128, Channels: 3}
	tc := data.DetectionLoaderConfig{BatchSize: 8, Shuffle: true, Seed: 2, Workers: 2, Preprocess: pre, CacheDecoded: true}
	if augment {
		tc.Augment = data.SSDAugment()
	}
	if train, err = data.NewDetectionLoader(scenes, tc); err != nil {
		t.Fatal(err)
	}
	if val, err = data.NewDetectionLoader(scenes, data.DetectionLoaderConfig{BatchSize: 8, Workers: 2, Preprocess: pre, CacheDecoded: true}); err != nil {
		t.Fatal(err)
	}
	return train, val
}

// prefixRecorder notes, after every epoch, the prefix the task had cached
// (0 for none) and how many batches it had run from it.
type prefixRecorder struct {
	task   *Task
	ks     []int
	served []int
}

func (r *prefixRecorder) Step(fit.StepInfo) {}
func (r *prefixRecorder) Epoch(fit.EpochStats) {
	k := 0
	if r.task.prefix != nil {
		k = r.task.prefix.k
	}
	r.ks = append(r.ks, k)
	r.served = append(r.served, r.task.served)
}

// prefixRun trains a fresh ssd_smallcnn (seed 1) under strategy name,
// with the task's cache or with Run.NoCache.
func prefixRun(t *testing.T, name string, epochs int, train, val *data.DetectionLoader, noCache bool) (*fit.Result, *prefixRecorder) {
	t.Helper()
	torch.ManualSeed(1)
	m, err := New("ssd_smallcnn", Config{NumClasses: len(train.Dataset().Classes()) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	s, err := strategy.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := s.Plan(m.Model, strategy.Budget{Epochs: epochs})
	if err != nil {
		t.Fatal(err)
	}
	task := &Task{Model: m, Train: train, Val: val, Loss: SSDLoss, Post: SSDPost}
	defer task.Free()
	rec := &prefixRecorder{task: task}
	res, err := fit.Train(context.Background(), fit.Run{Model: m.Model, Task: task, NoCache: noCache, Events: rec, Config: fit.Config{
		Epochs: epochs, BatchSize: 8, Seed: 1, Phases: plan.Phases,
		Optimizer: optim.Config{Name: "adam", LR: 3e-3}}})
	if err != nil {
		t.Fatal(err)
	}
	if task.prefix != nil {
		t.Errorf("%s: the cached prefix outlived fit.Train", name)
	}
	return res, rec
}

// closeTo is equality to a relative 1e-4: the cached pass runs the frozen
// stages on other batches than training does, which may round otherwise.
func closeTo(a, b float64) bool {
	return math.Abs(a-b) <= 1e-4*max(math.Abs(a), math.Abs(b)) || a == b
}

// TestPrefixCacheMatchesUncached trains the small SSD under plans that
// freeze a prefix, once served from the task's cache and once with
// Run.NoCache, from the same weights on the same batches: every epoch's
// training loss, validation loss and mAP@0.5 must agree, and the cache
// must have been used exactly where the plan leaves a frozen prefix — and
// not at all when the training images are augmented.
func TestPrefixCacheMatchesUncached(t *testing.T) {
	torchtest.NoLeaks(t)
	head := 5 // ssd_smallcnn: block1…3, two extras, head
	tests := []struct {
		strategy string
		epochs   int
		augment  bool
		wantK    []int // the prefix cached during each epoch
	}{
		{strategy: "probe", epochs: 3, wantK: []int{head, head, head}},
		{strategy: "freeze:2", epochs: 3, wantK: []int{2, 2, 2}},
		// The head-only phase caches the whole body; fine-tuning
		// everything turns the cache off.
		{strategy: "lpft", epochs: 4, wantK: []int{head, head, 0, 0}},
		// Augmented images give other prefix outputs every epoch.
		{strategy: "probe", epochs: 2, augment: true, wantK: []int{0, 0}},
	}
	for _, tc := range tests {
		name := tc.strategy
		if tc.augment {
			name += "/augmented"
		}
		t.Run(name, func(t *testing.T) {
			train, val := prefixLoaders(t, 20, tc.augment)
			cached, rec := prefixRun(t, tc.strategy, tc.epochs, train, val, false)
			plain, plainRec := prefixRun(t, tc.strategy, tc.epochs, train, val, true)
			if !slices.Equal(rec.ks, tc.wantK) {
				t.Errorf("cached prefix per epoch %v, want %v", rec.ks, tc.wantK)
			}
			// Each epoch with a prefix runs its training batches and
			// its validation batches from the cache.
			perEpoch := train.Batches() + val.Batches()
			served := 0
			for i, k := range tc.wantK {
				if k > 0 {
					served += perEpoch
				}
				if rec.served[i] != served {
					t.Errorf("epoch %d: %d batches from the cache, want %d", i+1, rec.served[i], served)
				}
			}
			if n := plainRec.served[len(plainRec.served)-1]; n != 0 {
				t.Errorf("NoCache run served %d batches from a cache", n)
			}
			if len(cached.History) != len(plain.History) {
				t.Fatalf("%d epochs cached, %d not", len(cached.History), len(plain.History))
			}
			worst := 0.0 // largest relative difference, for the log
			for i, c := range cached.History {
				p := plain.History[i]
				for _, d := range [][2]float64{{c.TrainLoss, p.TrainLoss}, {c.ValLoss, p.ValLoss}, {c.ValAcc, p.ValAcc}} {
					if d[0] != d[1] {
						worst = max(worst, math.Abs(d[0]-d[1])/max(math.Abs(d[0]), math.Abs(d[1])))
					}
				}
				if !closeTo(c.TrainLoss, p.TrainLoss) || !closeTo(c.ValLoss, p.ValLoss) || !closeTo(c.ValAcc, p.ValAcc) {
					t.Errorf("epoch %d: cached loss %.6f, val loss %.6f, mAP@0.5 %.6f; uncached %.6f, %.6f, %.6f",
						i+1, c.TrainLoss, c.ValLoss, c.ValAcc, p.TrainLoss, p.ValLoss, p.ValAcc)
				}
			}
			t.Logf("largest relative difference, cached to uncached: %.2g", worst)
			if cached.BestEpoch != plain.BestEpoch {
				t.Errorf("best epoch %d cached, %d not", cached.BestEpoch, plain.BestEpoch)
			}
		})
	}
}

// TestSetPrefix covers what fit.Train's runs do not reach: the cache is
// kept for the same k and loaders, replaced for another k, not made past
// PrefixBytes, refused past the body, and freed by Free.
func TestSetPrefix(t *testing.T) {
	torchtest.NoLeaks(t)
	train, val := prefixLoaders(t, 10, false)
	torch.ManualSeed(1)
	m, err := New("ssd_smallcnn", Config{NumClasses: len(train.Dataset().Classes()) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	ctx := context.Background()
	task := &Task{Model: m, Train: train, Val: val, Loss: SSDLoss, Post: SSDPost}
	defer task.Free()
	cfg := fit.Config{}

	if err := task.SetPrefix(ctx, 2, cfg); err != nil {
		t.Fatal(err)
	}
	first := task.prefix
	if first == nil || first.trainOut == nil || first.valOut == nil {
		t.Fatalf("SetPrefix(2) cached %+v; want the training and validation images' outputs", first)
	}
	// smallcnn's block2 is not tapped: the stream is kept beside the one
	// map (block3 is the first), so one part, the stream.
	if n := len(first.trainOut.parts); n != 1 || first.trainOut.x != 0 || len(first.trainOut.maps) != 0 {
		t.Errorf("prefix of 2 keeps %d parts, stream at %d, maps %v; want the stream alone", n, first.trainOut.x, first.trainOut.maps)
	}
	if got := first.trainOut.parts[0].Shape()[0]; got != int64(train.Dataset().Len()) {
		t.Errorf("%d rows cached for %d images", got, train.Dataset().Len())
	}
	if err := task.SetPrefix(ctx, 2, cfg); err != nil || task.prefix != first {
		t.Errorf("SetPrefix(2) again recomputed the cache (err %v)", err)
	}
	if err := task.SetPrefix(ctx, 3, cfg); err != nil || task.prefix == first || task.prefix.k != 3 {
		t.Errorf("SetPrefix(3) after 2 kept the old cache (err %v)", err)
	}
	// Stage 2 (block3) is tapped: its output is the stream and the first
	// map, stored once.
	if c := task.prefix.trainOut; len(c.parts) != 1 || c.x != 0 || !slices.Equal(c.maps, []int{0}) {
		t.Errorf("prefix of 3 keeps %d parts, stream at %d, maps %v; want one part, both", len(c.parts), c.x, c.maps)
	}
	if first.trainOut.parts != nil {
		t.Error("the replaced cache was not freed")
	}
	// The whole body: the maps only, no stream.
	if err := task.SetPrefix(ctx, 5, cfg); err != nil {
		t.Fatal(err)
	}
	if c := task.prefix.trainOut; len(c.parts) != 3 || c.x != -1 {
		t.Errorf("prefix of the body keeps %d parts, stream at %d; want the 3 maps and no stream", len(c.parts), c.x)
	}
	if err := task.SetPrefix(ctx, 6, cfg); err == nil {
		t.Error("SetPrefix past the body (the head) accepted")
	}
	task.Free()
	if task.prefix != nil {
		t.Error("Free kept the cache")
	}
	task.PrefixBytes = 1 << 10
	if err := task.SetPrefix(ctx, 2, cfg); err != nil || task.prefix != nil {
		t.Errorf("a prefix past PrefixBytes was cached (err %v)", err)
	}
	task.PrefixBytes = 0
	if err := task.SetPrefix(ctx, 0, cfg); err != nil || task.prefix != nil {
		t.Errorf("SetPrefix(0) cached %v (err %v)", task.prefix, err)
	}
}

// BenchmarkProbeCache is the probe strategy's epochs per second on the
// small SSD at 128², with its frozen body served from the task's cache and
// recomputed every epoch (Run.NoCache). An iteration is a whole run of 5
// epochs, so the cached one pays for its one pass over the images.
//
//	go test ./detect -run='^$' -bench=ProbeCache -count=5
func BenchmarkProbeCache(b *testing.B) {
	train, val := prefixLoaders(b, 64, false)
	for _, noCache := range []bool{false, true} {
		name := "cache=on"
		if noCache {
			name = "cache=off"
		}
		b.Run(name, func(b *testing.B) {
			const epochs = 5
			torch.ManualSeed(1)
			m, err := New("ssd_smallcnn", Config{NumClasses: len(train.Dataset().Classes()) + 1})
			if err != nil {
				b.Fatal(err)
			}
			defer m.Free()
			s, err := strategy.Parse("probe")
			if err != nil {
				b.Fatal(err)
			}
			plan, err := s.Plan(m.Model, strategy.Budget{Epochs: epochs})
			if err != nil {
				b.Fatal(err)
			}
			task := &Task{Model: m, Train: train, Val: val, Loss: SSDLoss, Post: SSDPost}
			defer task.Free()
			b.ResetTimer()
			for range b.N {
				if _, err := fit.Train(context.Background(), fit.Run{Model: m.Model, Task: task, NoCache: noCache, Config: fit.Config{
					Epochs: epochs, BatchSize: 8, Seed: 1, Phases: plan.Phases,
					Optimizer: optim.Config{Name: "adam", LR: 1e-3}}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(epochs*b.N)/b.Elapsed().Seconds(), "epochs/s")
		})
	}
}
