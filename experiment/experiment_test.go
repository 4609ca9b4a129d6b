package experiment

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// lines makes n grey 12×12 images of 3 classes: a line at angle class·60°
// (offset by rot), at a random position, with noise.
func lines(n int, seed uint64, rot int) data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 2))
	var ims []*data.Image
	var labels []int
	for i := 0; i < n; i++ {
		c := i % 3
		im := data.NewImage(1, 12, 12)
		p := 2 + rng.IntN(8)
		for k := 0; k < 12; k++ {
			switch (c + rot) % 3 {
			case 0:
				im.Set(0, p, k, 1)
			case 1:
				im.Set(0, k, p, 1)
			default:
				im.Set(0, k, k, 1)
			}
		}
		for j := range im.Pix {
			im.Pix[j] += float32(rng.NormFloat64() * 0.15)
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, _ := data.NewInMemory(ims, labels, []string{"a", "b", "c"})
	return ds
}

func baseCheckpoint(t *testing.T, dir string) *Base {
	t.Helper()
	torch.ManualSeed(1)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	path := filepath.Join(dir, "base")
	if err := checkpoint.Save(path, m, checkpoint.Meta{Classes: []string{"a", "b", "c"}, Preprocess: data.Preprocess{Size: 12, Channels: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCompareRunsEveryStrategyAndResumes(t *testing.T) {
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	// Every registered strategy (the strategytest suite trains each
	// through Transfer; this is the comparison, its parallel runs and its
	// resume).
	strategies, err := strategy.Expand("all", base.Shape())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Base: base, Train: lines(60, 1, 1), Test: lines(30, 2, 1), Strategies: strategies,
		Shots: []int{5, 10}, Seeds: 1, Budget: strategy.Budget{Epochs: 4, Patience: 2},
		LRGrid: []float64{3e-3}, Batch: 8, Out: filepath.Join(dir, "cmp"),
		Spec: Spec{Base: "base", Strategies: []string{"…"}},
	}
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 2*len(strategies) {
		t.Fatalf("%d runs, want %d strategies × 2 shots", len(res.Runs), len(strategies))
	}
	for _, r := range res.Runs {
		if r.Status != "ok" {
			t.Errorf("%s/%d: %s %s", r.Strategy, r.Shots, r.Status, r.Error)
			continue
		}
		if r.TestAccuracy < 0 || r.TestAccuracy > 1 || len(r.History) == 0 || r.LR != 3e-3 || r.TrainableParams == 0 {
			t.Errorf("%s/%d: %+v", r.Strategy, r.Shots, r)
		}
	}
	if len(res.Summary) != 2*len(strategies) || len(res.Winners) != 2 {
		t.Errorf("summary %d rows, winners %d", len(res.Summary), len(res.Winners))
	}
	// Side by side, the runs give the same results in the same order.
	par := cfg
	par.Workers, par.Out = 2, filepath.Join(dir, "cmp-par")
	pres, err := Compare(context.Background(), par)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Runs {
		a, b := res.Runs[i], pres.Runs[i]
		if a.Strategy != b.Strategy || a.Shots != b.Shots || a.TestAccuracy != b.TestAccuracy {
			t.Errorf("run %d: serial %s/%d %.4f, parallel %s/%d %.4f", i, a.Strategy, a.Shots, a.TestAccuracy, b.Strategy, b.Shots, b.TestAccuracy)
		}
	}
	// A second call finds every run done and trains nothing.
	cfg.Progress = failOnRun{t}
	again, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Runs) != 2*len(strategies) || again.Runs[3].TestAccuracy != res.Runs[3].TestAccuracy {
		t.Error("resumed comparison differs")
	}
}

type failOnRun struct{ t *testing.T }

func (f failOnRun) RunStart(i, n int, s string, shots, seed int, lr float64) {
	f.t.Errorf("resumed comparison retrained %s", s)
}
func (failOnRun) RunDone(int, int, Run) {}
func (failOnRun) Step(fitStep)          {}
func (failOnRun) Epoch(fitEpoch)        {}

func TestFewShotBatch(t *testing.T) {
	cases := []struct {
		batch, n, size int
		drop           bool
	}{
		{32, 10000, 32, false},
		{32, 40, 10, false},
		{32, 25, 7, false}, // 25 = 3·7+4
		{32, 9, 3, false},
		{64, 129, 33, false},
		{4, 5, 2, true}, // a lone fifth image would be a batch of one
	}
	for _, c := range cases {
		size, drop := FewShotBatch(c.batch, c.n)
		if size != c.size || drop != c.drop {
			t.Errorf("FewShotBatch(%d, %d) = %d, %v; want %d, %v", c.batch, c.n, size, drop, c.size, c.drop)
		}
	}
}

// TestClassMapStartsHeadRowsFromSource: a target class mapped to a source
// class starts with that class's head row and bias.
func TestClassMapStartsHeadRowsFromSource(t *testing.T) {
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	csvPath := filepath.Join(dir, "map.csv")
	os.WriteFile(csvPath, []byte("target,source\nc,a\n0,2\n"), 0o644)
	cm, err := ReadClassMap(csvPath, []string{"x", "y", "c", "d"}, base.Meta.Classes)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, -1, 0, -1}; !slices.Equal(cm, want) {
		t.Fatalf("class map %v, want %v", cm, want)
	}
	s, _ := strategy.Parse("probe")
	plan, _ := s.Plan(base.Shape(), strategy.Budget{Epochs: 1})
	m, err := base.Model(s, plan, 4, 1, cm)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	src, err := checkpoint.Load(base.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Model.Free()
	old, _ := src.Model.Classifier()
	cls, _ := m.Classifier()
	ow, _ := old.Weight.Float32s()
	nw, _ := cls.Weight.Float32s()
	in := old.In()
	if !slices.Equal(nw[0:in], ow[2*in:3*in]) || !slices.Equal(nw[2*in:3*in], ow[0:in]) {
		t.Error("mapped head rows do not start from the source rows")
	}
	if slices.Equal(nw[in:2*in], ow[in:2*in]) {
		t.Error("an unmapped row kept a source row")
	}
	for _, bad := range []string{"target,source\nnope,a\n", "target,source\nc,zzz\n"} {
		os.WriteFile(csvPath, []byte(bad), 0o644)
		if _, err := ReadClassMap(csvPath, []string{"x", "c"}, base.Meta.Classes); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The probe trains its head on standardised features; what Run returns
// must be the plain model again — the base's parameter names, so that it
// saves and loads like any other — computing what was trained.
func TestProbeTrialFoldsStandardisedHead(t *testing.T) {
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	pre := base.Meta.Preprocess
	tl, err := data.NewLoader(lines(30, 1, 1), data.LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 1, Preprocess: pre})
	if err != nil {
		t.Fatal(err)
	}
	vl, err := data.NewLoader(lines(12, 2, 1), data.LoaderConfig{BatchSize: 8, Preprocess: pre})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := strategy.Parse("probe")
	plan, _ := s.Plan(base.Shape(), strategy.Budget{Epochs: 3})
	if !plan.StandardizeHead {
		t.Fatal("the probe's plan does not standardise the head's input")
	}
	fresh, err := base.Model(s, plan, 3, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Free()
	out, err := Trial{Base: base, Strategy: s, Train: tl, Val: vl, Classes: 3, Seed: 1, LR: 3e-3,
		Budget: strategy.Budget{Epochs: 3, Patience: 3}, Batch: 8}.Run(context.Background())
	if err != nil || out.Status != "ok" {
		t.Fatalf("probe trial: %v %+v", err, out)
	}
	defer out.Model.Free()
	names := func(ps []nn.Param) (n []string) {
		for _, p := range ps {
			n = append(n, p.Name)
		}
		return n
	}
	if got, want := names(out.Model.Params()), names(fresh.Params()); !slices.Equal(got, want) {
		t.Errorf("trained probe's parameters %v, a fresh model's %v", got, want)
	}
	// The folded model is the one that was validated: evaluating it gives
	// the validation accuracy its best epoch recorded.
	ev, err := fit.Evaluate(context.Background(), out.Model, vl, fit.Config{BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if acc := ev.Confusion.Accuracy(); math.Abs(acc-out.ValAcc) > 1e-9 {
		t.Errorf("folded model scores %.4f on validation, training recorded %.4f", acc, out.ValAcc)
	}
	if err := checkpoint.Save(filepath.Join(dir, "probe"), out.Model, checkpoint.Meta{Classes: []string{"a", "b", "c"}, Preprocess: pre}, nil); err != nil {
		t.Fatal(err)
	}
}

// TestCompareSmoothedRateChoice: under RateChoice smoothed every run's
// rate is the one best on its search smoothed over neighbouring rates,
// the spec says so (and so is another comparison than the default's), and
// holdout refuses it.
func TestCompareSmoothedRateChoice(t *testing.T) {
	cfg, dir := rateRuleConfig(t, RateSmoothed, 2)
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Spec.RateChoice != RateSmoothed {
		t.Errorf("spec rate_choice %q, want %q", res.Spec.RateChoice, RateSmoothed)
	}
	differs := 0 // runs where the rule chose other than the best rate
	for _, r := range res.Runs {
		if r.Status != "ok" {
			t.Fatalf("%s seed %d: %s %s", r.Strategy, r.Seed, r.Status, r.Error)
		}
		best := 0
		for k, l := range r.LRSearch {
			if l.ValAcc > r.LRSearch[best].ValAcc {
				best = k
			}
		}
		if r.LR != r.LRSearch[best].LR {
			differs++
		}
		i, ok := SmoothedBestRate(r.LRSearch)
		if !ok || r.LR != r.LRSearch[i].LR {
			t.Errorf("%s seed %d: rate %g, smoothed choice %g of %+v", r.Strategy, r.Seed, r.LR, r.LRSearch[i].LR, r.LRSearch)
		}
	}
	if differs == 0 {
		t.Error("every run took its best rate: the data no longer tell the rules apart")
	}
	// The default rule's comparison is another one: the folder refuses it.
	def := cfg
	def.RateChoice = ""
	if _, err := Compare(context.Background(), def); err == nil {
		t.Error("a comparison with another rate rule resumed this one")
	}
	checkHoldoutRefuses(t, cfg, dir)
	bad := cfg
	bad.RateChoice, bad.Out = "median", filepath.Join(dir, "bad")
	if _, err := Compare(context.Background(), bad); err == nil {
		t.Error("an unknown rate rule was accepted")
	}
}

// TestComparePooledRateChoice: under RateChoice pooled the seeds of a
// strategy share one rate, every seed tried every rate, the rate is the
// best of the seeds' mean curve smoothed over neighbouring rates and
// brackets, and a finished comparison resumes without training.
func TestComparePooledRateChoice(t *testing.T) {
	cfg, dir := rateRuleConfig(t, RatePooled, 3)
	cfg.Workers = 2
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Spec.RateChoice != RatePooled {
		t.Errorf("spec rate_choice %q, want %q", res.Spec.RateChoice, RatePooled)
	}
	type arm struct {
		head string
		lr   float64
	}
	own := 0 // seeds whose own smoothed choice is not the pooled rate
	for _, s := range []string{"finetune", "probe"} {
		var runs []Run
		for _, r := range res.Runs {
			if r.Strategy == s {
				runs = append(runs, r)
			}
		}
		if len(runs) != 3 {
			t.Fatalf("%s: %d runs, want 3", s, len(runs))
		}
		sum := map[arm]float64{}
		var order []arm
		for _, r := range runs {
			if r.Status != "ok" {
				t.Fatalf("%s seed %d: %s %s", s, r.Seed, r.Status, r.Error)
			}
			if r.LR != runs[0].LR || r.Head != runs[0].Head {
				t.Errorf("%s seed %d: rate %g head %q, seed 1 %g %q", s, r.Seed, r.LR, r.Head, runs[0].LR, runs[0].Head)
			}
			if len(r.LRSearch) != len(runs[0].LRSearch) {
				t.Errorf("%s seed %d tried %d rates, seed 1 %d", s, r.Seed, len(r.LRSearch), len(runs[0].LRSearch))
			}
			for _, l := range r.LRSearch {
				a := arm{l.Head, l.LR}
				if _, ok := sum[a]; !ok {
					order = append(order, a)
				}
				sum[a] += l.ValAcc / 3
			}
			if i, ok := SmoothedBestRate(r.LRSearch); ok && (r.LRSearch[i].LR != r.LR || r.LRSearch[i].Head != r.Head) {
				own++
			}
		}
		pooled := make([]LRTrial, len(order))
		rates := map[string][]float64{}
		for i, a := range order {
			pooled[i] = LRTrial{Head: a.head, LR: a.lr, ValAcc: sum[a], Status: "ok"}
			rates[a.head] = append(rates[a.head], a.lr)
		}
		i, ok := SmoothedBestRate(pooled)
		if !ok || pooled[i].LR != runs[0].LR || pooled[i].Head != runs[0].Head {
			t.Errorf("%s: rate %g (%q), the pooled curve's best %g (%q) of %+v", s, runs[0].LR, runs[0].Head, pooled[i].LR, pooled[i].Head, pooled)
		}
		// Bracketing: at an edge of the rates tried only once the
		// extensions in that direction ran out.
		r := rates[runs[0].Head]
		past := 0
		for _, lr := range r {
			if (runs[0].LR == slices.Max(r) && lr > slices.Max(cfg.LRGrid)) || (runs[0].LR == slices.Min(r) && lr < slices.Min(cfg.LRGrid)) {
				past++
			}
		}
		if lo, hi := slices.Min(r), slices.Max(r); (runs[0].LR == lo || runs[0].LR == hi) && past < MaxExtensions {
			if _, more := extendGrid(r, runs[0].LR, past, past); more {
				t.Errorf("%s: rate %g sits at the edge of %v, and the grid was not extended past it", s, runs[0].LR, r)
			}
		}
	}
	t.Logf("seeds whose own smoothed choice differs from the pooled rate: %d of 6", own)
	// Resuming a finished comparison trains nothing and changes nothing.
	again, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range res.Runs {
		if again.Runs[i].TestAccuracy != res.Runs[i].TestAccuracy || again.Runs[i].TrainSeconds != res.Runs[i].TrainSeconds {
			t.Errorf("run %d changed on resume", i)
		}
	}
	checkHoldoutRefuses(t, cfg, dir)
}

// rateRuleConfig is a small comparison of finetune and probe over a
// three-rate grid under a rate rule, and its folder's parent.
func rateRuleConfig(t *testing.T, rule string, seeds int) (Config, string) {
	t.Helper()
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	strategies, err := strategy.Expand("finetune,probe", base.Shape())
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Base: base, Train: lines(60, 1, 1), Test: lines(30, 2, 1), Strategies: strategies,
		Shots: []int{10}, Seeds: seeds, Budget: strategy.Budget{Epochs: 3, Patience: 3},
		LRGrid: []float64{1e-3, 1e-2, 1e-1}, Batch: 8, Out: filepath.Join(dir, "cmp"), RateChoice: rule,
		Spec: Spec{Base: "base", Strategies: []string{"…"}},
	}, dir
}

// checkHoldoutRefuses: cfg's rate rule under the holdout protocol is
// refused with an error naming refit.
func checkHoldoutRefuses(t *testing.T, cfg Config, dir string) {
	t.Helper()
	hold := cfg
	hold.Protocol, hold.Out = ProtocolHoldout, filepath.Join(dir, "hold")
	if _, err := Compare(context.Background(), hold); err == nil || !strings.Contains(err.Error(), "refit") {
		t.Errorf("holdout with %s rates: %v, want a refusal naming refit", cfg.RateChoice, err)
	}
}
