package experiment

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch/torchtest"
)

func parseAll(t *testing.T, names ...string) []strategy.Strategy {
	t.Helper()
	var out []strategy.Strategy
	for _, n := range names {
		s, err := strategy.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// The same strategy under two names trains the same function on the same
// splits: the comparison must call it a tie, not crown one of them.
func TestSameStrategyTwiceIsATie(t *testing.T) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	stage := base.Shape().Stages[0].Name
	cfg := Config{
		Base: base, Train: lines(60, 1, 1), Test: lines(60, 2, 1),
		Strategies: parseAll(t, "freeze:1", "freeze:"+stage),
		Shots:      []int{10}, Seeds: 2, Budget: strategy.Budget{Epochs: 6, Patience: 2},
		LRGrid: []float64{1e-2, 3e-3}, Batch: 8, Out: filepath.Join(dir, "cmp"),
	}
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Winners) != 1 {
		t.Fatalf("%d winners", len(res.Winners))
	}
	w := res.Winners[0]
	twin := map[string]string{"freeze:1": "freeze:" + stage, "freeze:" + stage: "freeze:1"}[w.Strategy]
	if !slices.Contains(w.Tied, twin) {
		t.Errorf("winner %s: tied %v, want its twin %s; margins %+v", w.Strategy, w.Tied, twin, w.Margins)
	}
	for _, m := range w.Margins {
		if m.Strategy == twin && (m.Diff != 0 || m.Low != 0 || m.High != 0) {
			t.Errorf("twin margin %+v, want exactly 0", m)
		}
	}
	for _, r := range res.Runs {
		if r.Refit == nil || r.Selection == nil || r.Refit.Images != 30 || !r.PreciseBN {
			t.Errorf("%s seed %d: refit %+v selection %+v precise BN %v", r.Strategy, r.Seed, r.Refit, r.Selection, r.PreciseBN)
		}
	}
}

// fabricated runs: strategy name → per-seed probability of a right answer.
func fabricated(n int, acc map[string]float64, seeds int) *Results {
	r := &Results{Schema: SchemaVersion}
	rng := rand.New(rand.NewPCG(7, 7))
	for name, p := range acc {
		for s := 1; s <= seeds; s++ {
			correct := make([]bool, n)
			hits := 0
			for i := range correct {
				correct[i] = rng.Float64() < p
				if correct[i] {
					hits++
				}
			}
			r.Runs = append(r.Runs, Run{Strategy: name, Shots: 5, Seed: s, Status: "ok",
				TestAccuracy: float64(hits) / float64(n), TestCorrect: correctBits(correct),
				Confusion: [][]int{{hits, 0}, {0, n - hits}}})
		}
	}
	slices.SortFunc(r.Runs, func(a, b Run) int {
		if a.Strategy < b.Strategy {
			return -1
		}
		return 1
	})
	return r
}

func TestVerdicts(t *testing.T) {
	for _, c := range []struct {
		name string
		acc  map[string]float64
		tied bool
	}{
		{"clear winner", map[string]float64{"finetune": 0.9, "probe": 0.6}, false},
		{"indistinguishable", map[string]float64{"finetune": 0.71, "probe": 0.70}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := fabricated(1000, c.acc, 3)
			r.summarize()
			w := r.Winners[0]
			if (len(w.Tied) > 0) != c.tied {
				t.Errorf("tied %v, want tie %v; margins %+v", w.Tied, c.tied, w.Margins)
			}
			m := w.Margins[0]
			if !(m.Low <= m.Diff && m.Diff <= m.High) {
				t.Errorf("margin %+v: the estimate is outside its interval", m)
			}
			for _, s := range r.Summary {
				if !(s.CILow <= s.MeanAccuracy && s.MeanAccuracy <= s.CIHigh) || s.CIHigh-s.CILow > 0.1 {
					t.Errorf("%s: mean %.3f interval [%.3f, %.3f]", s.Strategy, s.MeanAccuracy, s.CILow, s.CIHigh)
				}
			}
		})
	}
}

func TestBootstrapCoverage(t *testing.T) {
	// Two strategies of equal true accuracy: the 95% interval of their
	// difference should contain 0 in about 95 of 100 replications.
	covered := 0
	for rep := 0; rep < 100; rep++ {
		rng := rand.New(rand.NewPCG(uint64(rep), 3))
		runs := [2]map[int]Run{{}, {}}
		const n = 500
		for s := 1; s <= 3; s++ {
			for k := range runs {
				c := make([]bool, n)
				for i := range c {
					c[i] = rng.Float64() < 0.7
				}
				runs[k][s] = Run{TestCorrect: correctBits(c)}
			}
		}
		_, lo, hi := pairedDiff(runs[0], runs[1], []int{1, 2, 3}, n, rng)
		if lo <= 0 && 0 <= hi {
			covered++
		}
	}
	if covered < 85 {
		t.Errorf("interval covered the true difference in %d of 100 replications, want about 95", covered)
	}
}

func TestSelection(t *testing.T) {
	t.Run("smooth", func(t *testing.T) {
		got := smooth([]float64{0, 1, 0, 1, 0}, 3)
		want := []float64{0.5, 1.0 / 3, 2.0 / 3, 1.0 / 3, 0.5}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Fatalf("smooth = %v, want %v", got, want)
			}
		}
	})
	t.Run("one lucky epoch does not decide", func(t *testing.T) {
		// A spike at epoch 3 on a tiny set, then a plateau slightly lower.
		acc := []float64{0.2, 0.4, 0.9, 0.5, 0.7, 0.7, 0.72, 0.7, 0.71, 0.7}
		var h []fit.EpochStats
		for i, a := range acc {
			h = append(h, fit.EpochStats{Epoch: i + 1, ValAcc: a, HasVal: true})
		}
		cv := foldCurve([][]fit.EpochStats{h}, len(acc), 3)
		e, _, _ := cv.choose(100)
		if e < 6 {
			t.Errorf("chose epoch %d of a curve whose plateau starts at 5: %v", e, cv.acc)
		}
	})
	t.Run("a stopped fold holds its last value", func(t *testing.T) {
		short := []fit.EpochStats{{ValAcc: 0.5, HasVal: true}, {ValAcc: 0.5, HasVal: true}}
		long := []fit.EpochStats{{ValAcc: 0.1, HasVal: true}, {ValAcc: 0.1, HasVal: true}, {ValAcc: 0.9, HasVal: true}, {ValAcc: 0.9, HasVal: true}}
		cv := foldCurve([][]fit.EpochStats{short, long}, 4, 1)
		if cv.ran != 4 || math.Abs(cv.acc[3]-0.7) > 1e-12 {
			t.Errorf("curve %v ran %d", cv.acc, cv.ran)
		}
	})
	for _, c := range []struct {
		tried    []float64
		best     float64
		up, down int
		next     float64
		ok       bool
	}{
		{[]float64{1e-2, 3e-3, 1e-3}, 1e-2, 0, 0, 3e-2, true},
		{[]float64{1e-2, 3e-3, 1e-3}, 1e-3, 0, 0, 3e-4, true},
		{[]float64{1e-2, 3e-3, 1e-3}, 3e-3, 0, 0, 0, false},
		{[]float64{1e-2, 3e-3, 1e-3, 3e-2, 9e-2}, 9e-2, 2, 0, 0, false},
		{[]float64{0.3, 1}, 1, 0, 0, 0, false},
	} {
		next, ok := extendGrid(c.tried, c.best, c.up, c.down)
		if ok != c.ok || math.Abs(next-c.next) > 1e-12 {
			t.Errorf("extendGrid(%v, %g) = %g, %v; want %g, %v", c.tried, c.best, next, ok, c.next, c.ok)
		}
	}
	// searchRates: the grid, then steps past the edge the best sits at
	// while it stays there; an error ends the search.
	for _, c := range []struct {
		name  string
		score map[float64]float64 // validation accuracy by rate; missing: diverged
		fail  float64             // the rate whose try fails (0: none)
		want  []float64
	}{
		{"best inside", map[float64]float64{1e-2: 0.5, 1e-3: 0.7, 1e-4: 0.6}, 0, []float64{1e-2, 1e-3, 1e-4}},
		{"best at the top, twice", map[float64]float64{1e-2: 0.5, 1e-3: 0.4, 1e-1: 0.6, 1: 0.7}, 0, []float64{1e-2, 1e-3, 1e-1, 1}},
		{"best at the bottom, then inside", map[float64]float64{1e-2: 0.5, 1e-3: 0.6, 1e-4: 0.5}, 0, []float64{1e-2, 1e-3, 1e-4}},
		{"all diverge: no extension", map[float64]float64{}, 0, []float64{1e-2, 1e-3}},
		{"a failure stops it", map[float64]float64{1e-2: 0.5, 1e-3: 0.6}, 1e-3, []float64{1e-2, 1e-3}},
	} {
		grid := []float64{1e-2, 1e-3}
		if c.name == "best inside" {
			grid = []float64{1e-2, 1e-3, 1e-4}
		}
		best := -1.0
		tried, err := searchRates(grid, func(lr float64) (bool, error) {
			if lr == c.fail {
				return false, errors.New("boom")
			}
			acc, ok := c.score[lr]
			if ok && acc > best {
				best = acc
				return true, nil
			}
			return false, nil
		})
		if (err != nil) != (c.fail != 0) || !slices.EqualFunc(tried, c.want, func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }) {
			t.Errorf("%s: tried %v (err %v), want %v", c.name, tried, err, c.want)
		}
	}
	for _, c := range []struct{ val, k, max, want int }{
		{5, 5, 3, 3}, {86, 5, 3, 2}, {200, 5, 3, 1}, {1, 2, 3, 2},
	} {
		if got := foldsFor(c.val, c.k, c.max); got != c.want {
			t.Errorf("foldsFor(%d, %d, %d) = %d, want %d", c.val, c.k, c.max, got, c.want)
		}
	}
}

// manyClasses is n grey 12×12 images per class for k classes (the last
// class gets only last images): a bar at a class-specific angle and offset.
func manyClasses(k, n, last int, seed uint64) data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 5))
	var ims []*data.Image
	var labels []int
	var names []string
	for c := 0; c < k; c++ {
		names = append(names, "c"+string(rune('A'+c%26))+string(rune('a'+c/26)))
		cnt := n
		if c == k-1 {
			cnt = last
		}
		for i := 0; i < cnt; i++ {
			im := data.NewImage(1, 12, 12)
			for j := 0; j < 12; j++ {
				y := (c/4 + j*(c%4)/3) % 12
				im.Set(0, y, j, 1)
			}
			for j := range im.Pix {
				im.Pix[j] += float32(rng.NormFloat64() * 0.1)
			}
			ims = append(ims, im)
			labels = append(labels, c)
		}
	}
	ds, _ := data.NewInMemory(ims, labels, names)
	return ds
}

// 43 classes × 10 shots where one class has 3 images: the comparison runs,
// the short class gives what it has, and results.json says so.
func TestShortClassesRunAndAreReported(t *testing.T) {
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	cfg := Config{
		Base: base, Train: manyClasses(43, 12, 3, 1), Test: manyClasses(43, 2, 2, 2),
		Strategies: parseAll(t, "probe"), Shots: []int{10}, Seeds: 1, Budget: strategy.Budget{Epochs: 2, Patience: 1},
		LRGrid: []float64{1e-2}, Batch: 32, Out: filepath.Join(dir, "cmp"),
	}
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ShortClasses) != 1 || res.ShortClasses[0].Count != 1 || res.ShortClasses[0].Fewest != 3 {
		t.Errorf("short classes %+v, want one class of 3 at 10 shots", res.ShortClasses)
	}
	if r := res.Runs[0]; r.Status != "ok" || r.Refit == nil || r.Refit.Images != 42*10+3 {
		t.Errorf("run %+v", r)
	}
	strict := cfg
	strict.ShotsStrict, strict.Out = true, filepath.Join(dir, "strict")
	if _, err := Compare(context.Background(), strict); err == nil {
		t.Error("--shots-strict accepted a class of 3 images at 10 shots")
	}
	// splits.json lists every training shot by source, for bench/plain.py.
	sf, err := os.ReadFile(filepath.Join(cfg.Out, "splits.json"))
	if err != nil || len(sf) == 0 {
		t.Errorf("splits.json: %v", err)
	}
}

func TestSchema1StillReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	old := `{"schema":1,"command":"graft compare","spec":{"strategies":["probe"],"shots":[5],"seeds":1,"epochs":3,"lr_grid":[0.001]},
"runs":[{"strategy":"probe","shots":5,"seed":1,"status":"ok","test_accuracy":0.5,"epochs":3,"best_epoch":3,"converged":false}],
"summary":[],"winners":[{"shots":5,"strategy":"probe","mean_accuracy":0.5}]}`
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Spec.Protocol != ProtocolHoldout || !r.Runs[0].CutOff || r.Winners[0].Tied == nil {
		t.Errorf("schema 1 read as %+v", r)
	}
}
