package advise

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

func TestKendallTau(t *testing.T) {
	cases := []struct {
		name string
		a, b []float64
		want float64
	}{
		{"same order", []float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{"reversed", []float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{"one swap of four", []float64{1, 2, 3, 4}, []float64{1, 3, 2, 4}, 4.0 / 6},
		// τ-b with a tie in b: 2 concordant, 0 discordant, 1 tie in b:
		// 2 / sqrt(3·2).
		{"tie", []float64{1, 2, 3}, []float64{1, 2, 2}, 2 / math.Sqrt(6)},
		{"all tied", []float64{1, 1, 1}, []float64{1, 2, 3}, 0},
	}
	for _, tc := range cases {
		if got := KendallTau(tc.a, tc.b); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: τ = %.4f, want %.4f", tc.name, got, tc.want)
		}
	}
}

func TestDistances(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	gauss := func(n, d int, shift float64) [][]float64 {
		x := make([][]float64, n)
		for i := range x {
			x[i] = make([]float64, d)
			for j := range x[i] {
				x[i][j] = r.NormFloat64() + shift
			}
		}
		return x
	}
	// Hand case: means 1 and 4, both standard deviations 1 → (3²)/1.
	a := [][]float64{{0}, {2}}
	b := [][]float64{{3}, {5}}
	if got := frechet(a, b); math.Abs(got-9) > 1e-12 {
		t.Errorf("Fréchet of a 3-σ shift = %v, want 9", got)
	}
	if got := frechet(a, a); got != 0 {
		t.Errorf("Fréchet of a set with itself = %v", got)
	}
	same := mmd2(gauss(200, 4, 0), gauss(200, 4, 0), 1)
	far := mmd2(gauss(200, 4, 0), gauss(200, 4, 3), 1)
	if math.Abs(same) > 0.02 || far < 0.5 {
		t.Errorf("MMD²: one distribution %.4f (want ≈ 0), 3 σ apart %.4f (want > 0.5)", same, far)
	}
}

// outline is a 3-stage body and a head, like smallcnn.
func outline() *nn.Model {
	m := &nn.Model{Arch: "smallcnn"}
	for _, n := range []string{"stage1", "stage2", "stage3", "head"} {
		m.Stages = append(m.Stages, &nn.Stage{Name: n})
	}
	return m
}

// measured builds measurements by hand: probes per stage (stage1..3, then
// the head's), pixels' probe, images per class.
func measured(probes []float64, pixels float64, perClass int) *Measurements {
	m := &Measurements{Target: Target{Images: 10 * perClass, Classes: 10, Min: perClass, Median: perClass, Max: perClass,
		Imbalance: 1, TrainPerClass: 0.8 * float64(perClass)}, PixelProbe: pixels}
	for i, p := range probes {
		name := []string{"stage1", "stage2", "stage3", "head"}[i]
		m.Stages = append(m.Stages, Stage{Name: name, Cut: i + 1, Probe: p})
	}
	return m
}

func TestAdviseFourCases(t *testing.T) {
	shape := outline()
	cands, err := strategy.Expand("all", shape)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		meas      *Measurements
		quadrant  string
		top       string
		above     [2]string // first must rank above second
		wantWhyIn string
	}{
		{"good features, 5 per class", measured([]float64{0.4, 0.7, 0.95, 0.96}, 0.3, 5), "small-similar", "probe", [2]string{"lpft", "finetune"}, "similarity: similar"},
		{"weak features, 500 per class", measured([]float64{0.3, 0.5, 0.6, 0.6}, 0.4, 500), "large-different", "discriminative", [2]string{"finetune", "probe"}, "size: large"},
		{"good features, 500 per class", measured([]float64{0.4, 0.7, 0.9, 0.92}, 0.3, 500), "large-similar", "discriminative", [2]string{"finetune", "lpft"}, "similarity: similar"},
		{"features peak mid-network, 5 per class", measured([]float64{0.5, 0.7, 0.55, 0.5}, 0.2, 5), "small-different", "truncate:2", [2]string{"truncate:2", "probe"}, "depth: features peak before the head"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Advise(tc.meas, shape, cands)
			if err != nil {
				t.Fatal(err)
			}
			if a.Quadrant != tc.quadrant {
				t.Errorf("quadrant %s, want %s", a.Quadrant, tc.quadrant)
			}
			if a.Recommended.Strategy != tc.top || a.Ranking[0].Strategy != tc.top {
				t.Errorf("recommended %s, want %s; ranking %v", a.Recommended.Strategy, tc.top, a.Ranking)
			}
			rank := map[string]int{}
			for i, r := range a.Ranking {
				rank[r.Strategy] = i
			}
			if rank[tc.above[0]] > rank[tc.above[1]] {
				t.Errorf("%s ranked below %s: %v", tc.above[0], tc.above[1], a.Ranking)
			}
			if len(a.Ranking) != len(cands) {
				t.Errorf("%d ranked of %d candidates", len(a.Ranking), len(cands))
			}
			if !strings.Contains(strings.Join(a.Why, "\n"), tc.wantWhyIn) {
				t.Errorf("reasons lack %q:\n%s", tc.wantWhyIn, strings.Join(a.Why, "\n"))
			}
		})
	}
}

func TestRecommendedRates(t *testing.T) {
	shape := outline()
	for _, tc := range []struct {
		s, stage   string
		lr, baseLR float64
	}{
		{"probe", "", 1e-2, 0}, {"truncate:2", "stage2", 1e-2, 0}, {"freeze:1", "stage1", 1e-3, 1e-4}, {"scratch", "", 3e-3, 0},
	} {
		s, err := strategy.Parse(tc.s)
		if err != nil {
			t.Fatal(err)
		}
		r := recommend(s, shape)
		if r.Stage != tc.stage || r.LR != tc.lr || r.BaseLR != tc.baseLR {
			t.Errorf("%s: %+v, want stage %q lr %g base %g", tc.s, r, tc.stage, tc.lr, tc.baseLR)
		}
	}
}

func TestValidate(t *testing.T) {
	a := &Advice{Recommended: Recommended{Strategy: "probe"}, Measurements: &Measurements{Seconds: 1},
		Ranking: []Ranked{{"probe", 0.9, ""}, {"finetune", 0.8, ""}, {"scratch", 0.5, ""}}}
	res := &experiment.Results{
		Summary: []experiment.Summary{
			{Strategy: "probe", Shots: 5, MeanAccuracy: 0.85, Runs: 1},
			{Strategy: "finetune", Shots: 5, MeanAccuracy: 0.88, Runs: 1},
			{Strategy: "scratch", Shots: 5, MeanAccuracy: 0.40, Runs: 1},
			{Strategy: "probe", Shots: 20, MeanAccuracy: 0.99, Runs: 1}, // another setting: ignored
		},
		Runs: []experiment.Run{
			{Strategy: "probe", Shots: 5, Seed: 1, TrainSeconds: 1, LR: 1e-2},
			{Strategy: "finetune", Shots: 5, Seed: 1, TrainSeconds: 10, LR: 1e-3},
			{Strategy: "scratch", Shots: 5, Seed: 1, TrainSeconds: 9, LR: 3e-3},
			{Strategy: "probe", Shots: 20, Seed: 1, TrainSeconds: 100},
		},
	}
	v, err := Validate(a, res, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Predicted order probe > finetune > scratch, measured finetune > probe
	// > scratch: one discordant pair of three, τ = 1/3.
	if math.Abs(v.Tau-1.0/3) > 1e-12 {
		t.Errorf("τ = %v, want 1/3", v.Tau)
	}
	if math.Abs(v.Regret-3) > 1e-9 || v.Best != "finetune" {
		t.Errorf("regret %.2f points against %s, want 3 against finetune", v.Regret, v.Best)
	}
	if math.Abs(v.ComputeFraction-(1+1)/20.0) > 1e-12 {
		t.Errorf("compute fraction %v, want (1 s advise + 1 s probe) / 20 s", v.ComputeFraction)
	}
	if v.Rows[1].MeasuredRank != 1 || v.Rows[1].ChosenLR != 1e-3 {
		t.Errorf("finetune row %+v", v.Rows[1])
	}
	if _, err := Validate(&Advice{Recommended: Recommended{Strategy: "lpft"}, Measurements: &Measurements{}, Ranking: []Ranked{{"lpft", 1, ""}}}, res, 5); err == nil {
		t.Error("advice with no measured strategy validated")
	}
}

// Measure end to end on a random smallcnn: every field is filled, the
// target is counted, and a source set adds distances.
// bars is n grey 12×12 images of 3 classes, class c a bright bar in row
// 2+3c on a background of the given level, with noise.
func bars(t *testing.T, n int, level float32) data.Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(n), 3))
	var ims []*data.Image
	var labels []int
	for i := range n {
		im := data.NewImage(1, 12, 12)
		c := i % 3
		for j := range im.Pix {
			im.Pix[j] = level + 0.1*float32(r.NormFloat64())
		}
		for k := range 12 {
			im.Set(0, 2+3*c, k, 1)
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, err := data.NewInMemory(ims, labels, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestMeasure(t *testing.T) {
	torch.ManualSeed(2)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	set := func(n int, level float32) data.Dataset { return bars(t, n, level) }
	meas, err := Measure(context.Background(), m, set(30, 0.2), Options{Source: set(30, 0.6)})
	if err != nil {
		t.Fatal(err)
	}
	if meas.Target.Images != 30 || meas.Target.Classes != 3 || meas.Target.Median != 10 || meas.Target.TrainPerClass != 8 {
		t.Errorf("target %+v", meas.Target)
	}
	if len(meas.Stages) != 4 || meas.Stages[3].Name != "head" || meas.Stages[1].Cut != 2 {
		t.Fatalf("stages %+v", meas.Stages)
	}
	// The small CNN's classifier reads stage3's pooled output: the head
	// has stage3's scores under its own name and cut.
	if h, s3 := meas.Stages[3], meas.Stages[2]; h.Probe != s3.Probe || h.KNN != s3.KNN || h.Cut != 4 || h.BNShift != nil {
		t.Errorf("head %+v, stage3 %+v", h, s3)
	}
	for _, s := range meas.Stages {
		if s.FD == nil || s.MMD == nil || *s.FD <= 0 {
			t.Errorf("%s: no distance to a source twice as bright", s.Name)
		}
		if s.Probe < 0.6 {
			t.Errorf("%s: probe %.2f on bars a random network still separates", s.Name, s.Probe)
		}
	}
	if meas.Stages[0].BNShift == nil || meas.SourceClasses != 4 || meas.SourceConfidence <= 0 || meas.PixelProbe < 0.9 {
		t.Errorf("measurements %+v", meas)
	}
	if len(meas.Agreement) != 5 {
		t.Errorf("agreement %+v", meas.Agreement)
	}
}

func TestMeasureScratch(t *testing.T) {
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "base")
	err = checkpoint.Save(path, m, checkpoint.Meta{Classes: []string{"w", "x", "y", "z"}, Preprocess: data.Preprocess{Size: 12, Channels: 1}}, nil)
	m.Free()
	if err != nil {
		t.Fatal(err)
	}
	base, err := experiment.LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	run, err := MeasureScratch(context.Background(), base, bars(t, 60, 0.2), ScratchOptions{Epochs: 8, ValFraction: 0.2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Bars a few pixels apart are learnt from scratch within a few epochs;
	// chance is a third.
	if run.Status != "ok" || run.Images != 48 || run.Epochs != 8 || run.LR != scratchLR || run.ValAccuracy < 0.6 || run.Seconds <= 0 {
		t.Errorf("scratch run %+v", run)
	}
}

// A short run from scratch that beats what the pixels predict replaces the
// prediction; one that does not leaves it.
func TestScratchRunLowerBound(t *testing.T) {
	shape := outline()
	cands, err := strategy.Expand("scratch,probe", shape)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		run      float64
		measured bool
	}{{0.9, true}, {0.05, false}} {
		meas := measured([]float64{0.4, 0.6, 0.7, 0.7}, 0.3, 20)
		meas.Scratch = &ScratchRun{Epochs: 10, LR: scratchLR, ValAccuracy: tc.run, Status: "ok", Seconds: 1}
		a, err := Advise(meas, shape, cands)
		if err != nil {
			t.Fatal(err)
		}
		var got Ranked
		for _, r := range a.Ranking {
			if r.Strategy == "scratch" {
				got = r
			}
		}
		if isMeasured := strings.HasPrefix(got.Why, "measured"); isMeasured != tc.measured || (tc.measured && got.Score != tc.run) {
			t.Errorf("run at %.2f: scratch predicted %.3f (%s)", tc.run, got.Score, got.Why)
		}
		if tc.measured && a.Ranking[0].Strategy != "scratch" {
			t.Errorf("scratch measured at 90%% ranks below a 70%% probe: %v", a.Ranking)
		}
	}
}
