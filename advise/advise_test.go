package advise

import (
	"context"
	"fmt"
	"github.com/graftml/graft/doctor"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
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

// raced fabricates a race's result: strategy → (validation accuracy, run
// seconds), best first; tied lists the strategies tied with the best.
func raced(entries []experiment.RaceEntry, secs map[string]float64, tied ...string) *experiment.RaceResult {
	r := &experiment.RaceResult{Budget: 0.25, FullSeconds: 100, Seconds: 10, Entries: entries, TiedWithBest: tied}
	for _, e := range entries {
		r.Trials = append(r.Trials, experiment.RaceTrial{Rung: "strategies", Strategy: e.Strategy, Seconds: secs[e.Strategy], Status: "ok"})
	}
	return r
}

func entry(name string, acc float64, lead float64) experiment.RaceEntry {
	e := experiment.RaceEntry{Strategy: name, Rung: "strategies", LR: 1e-3, Epochs: 20, ValAcc: acc, Low: acc - 0.05, High: acc + 0.05, Seeds: 1, ValImages: 100, Status: "ok"}
	if lead != 0 {
		e.Margin = &experiment.Interval{Diff: lead, Low: lead - 0.02, High: lead + 0.02}
	}
	return e
}

// One story: in every quadrant, whether the race's winner is the chart's
// kind of choice or not, and whether it ties, the quadrant, the chart's
// sentence, the recommendation, the story and graft doctor's caution say
// the same thing.
func TestOneStory(t *testing.T) {
	shape := outline()
	quadrants := []struct {
		name     string
		meas     *Measurements
		quadrant string
		inChart  string // a strategy the chart means here
		outChart string // one it does not
	}{
		{"good features, 5 per class", measured([]float64{0.4, 0.7, 0.95, 0.96}, 0.3, 5), "small-similar", "probe", "finetune"},
		{"features peak mid-network, 5 per class", measured([]float64{0.5, 0.7, 0.55, 0.5}, 0.2, 5), "small-different", "truncate:2", "scratch"},
		{"good features, 500 per class", measured([]float64{0.4, 0.7, 0.9, 0.92}, 0.3, 500), "large-similar", "discriminative", "probe"},
		{"weak features, 500 per class", measured([]float64{0.3, 0.5, 0.6, 0.6}, 0.4, 500), "large-different", "scratch", "lpft"},
	}
	for _, q := range quadrants {
		for _, winner := range []string{q.inChart, q.outChart} {
			for _, tc := range []struct {
				tie    bool
				policy string
			}{{false, TieBest}, {true, TieBest}, {true, TieCheapest}} {
				tie := tc.tie
				t.Run(fmt.Sprintf("%s/%s wins/tie=%v/%s", q.name, winner, tie, tc.policy), func(t *testing.T) {
					other := q.outChart
					if winner == q.outChart {
						other = q.inChart
					}
					secs := map[string]float64{winner: 10, other: 5}
					// other is the cheaper: fewer weights for as many epochs.
					var race *experiment.RaceResult
					if tie {
						race = raced([]experiment.RaceEntry{entry(winner, 0.8, 0), entry(other, 0.79, 0.01)}, secs, winner, other)
						race.Entries[1].Margin.Low = -0.01
					} else {
						race = raced([]experiment.RaceEntry{entry(winner, 0.8, 0), entry(other, 0.7, 0.1)}, secs, winner)
					}
					for i := range race.Entries {
						race.Entries[i].Trainable = int64(1000 * secs[race.Entries[i].Strategy])
					}
					a, err := Advise(q.meas, race, shape, nil, tc.policy)
					if err != nil {
						t.Fatal(err)
					}
					if a.Quadrant != q.quadrant || a.Chart != chart[q.quadrant].sentence {
						t.Fatalf("quadrant %s (%q), want %s", a.Quadrant, a.Chart, q.quadrant)
					}
					rec := a.Recommended.Strategy
					// The recommendation is the race's: the best, or under
					// TieCheapest the cheapest of a tie (here the other).
					want := winner
					if tie && tc.policy == TieCheapest {
						want = other
					}
					if tie {
						if strings.Join(a.Tie, ",") != winner+","+other {
							t.Errorf("tie %v", a.Tie)
						}
					}
					if rec != want {
						t.Errorf("recommended %s, want %s", rec, want)
					}
					// The story names the chart's sentence and the
					// recommendation, and says whether they agree.
					if !strings.Contains(a.Story, a.Chart) || !strings.Contains(a.Story, rec) {
						t.Errorf("story %q lacks the chart or %s", a.Story, rec)
					}
					s, _ := strategy.Parse(rec)
					agrees := s.Def().Families&chart[a.Quadrant].family != 0
					if agrees != strings.Contains(a.Story, "the two agree") {
						t.Errorf("story %q: recommendation %s in the chart's kind: %v", a.Story, rec, agrees)
					}
					if !agrees && !tie && !strings.Contains(a.Story, "overrides the chart") {
						t.Errorf("story %q does not say the measurement overrides the chart", a.Story)
					}
					// doctor's caution about the recommendation is carried
					// word for word, and doctor's fix names no rival.
					caution := doctor.TooFew(int(math.Round(q.meas.Target.TrainPerClass)), s)
					if (caution != "") != (len(a.Cautions) == 1) || (caution != "" && !strings.Contains(a.Cautions[0], caution)) {
						t.Errorf("doctor says %q, advice cautions %q", caution, a.Cautions)
					}
				})
			}
		}
	}
}

// The chart's sentences mean these strategies: each quadrant's family,
// read from the strategies' traits.
func TestChartFamilies(t *testing.T) {
	want := map[string][]string{
		"small-similar":   {"probe", "lpft"},
		"small-different": {"freeze", "truncate"},
		"large-similar":   {"freeze", "finetune", "lpft", "gradual", "discriminative", "l2sp"},
		"large-different": {"scratch", "finetune", "gradual", "discriminative"},
	}
	for q, w := range want {
		var got []string
		for _, d := range strategy.Registry {
			if d.Families&chart[q].family != 0 {
				got = append(got, d.Name)
			}
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: the chart means %v, want %v", q, got, w)
		}
	}
}

func TestPrune(t *testing.T) {
	shape := outline()
	cands, err := strategy.Expand("probe,truncate:1,truncate:2,finetune", shape)
	if err != nil {
		t.Fatal(err)
	}
	m := measured([]float64{0.4, 0.7, 0.72, 0.71}, 0.3, 50)
	m.Sampled = 500
	p := Prune(m, shape, cands)
	// stage1 probes 32 points below stage2, far beyond two standard
	// errors over 500 images; stage2 and the head are within noise.
	if len(p) != 1 || p[0].Strategy != "truncate:1" {
		t.Errorf("pruned %+v, want truncate:1 alone", p)
	}
}

func TestValidate(t *testing.T) {
	a := &Advice{Recommended: Recommended{Strategy: "probe"}, Compute: Compute{MeasureSeconds: 1, RaceSeconds: 1},
		Tie:     []string{"probe", "finetune"},
		Ranking: []Ranked{{Strategy: "probe", Score: 0.9}, {Strategy: "finetune", Score: 0.8}, {Strategy: "scratch", Score: 0.95, Stage: "rates"}}}
	res := &experiment.Results{
		Summary: []experiment.Summary{
			{Strategy: "probe", Shots: 5, MeanAccuracy: 0.85, Runs: 1},
			{Strategy: "finetune", Shots: 5, MeanAccuracy: 0.88, Runs: 1},
			{Strategy: "scratch", Shots: 5, MeanAccuracy: 0.40, Runs: 1},
			{Strategy: "probe", Shots: 20, MeanAccuracy: 0.99, Runs: 1}, // another setting: ignored
		},
		Runs: []experiment.Run{
			// probe: a spike at 1e-2, smoothed (0.6 + 2·0.9 + 0.6)/4 = 0.75;
			// its second seed's one rate 0.9; mean 0.825.
			{Strategy: "probe", Shots: 5, Seed: 1, TrainSeconds: 1, Status: "ok",
				LRSearch: []experiment.LRTrial{{LR: 1e-3, ValAcc: 0.6, Status: "ok"}, {LR: 1e-2, ValAcc: 0.9, Status: "ok"}, {LR: 1e-1, ValAcc: 0.6, Status: "ok"}}},
			{Strategy: "probe", Shots: 5, Seed: 2, Status: "ok",
				LRSearch: []experiment.LRTrial{{LR: 1e-2, ValAcc: 0.9, Status: "ok"}}},
			// finetune: a plateau (its 0.95 diverged), smoothed at 1e-2
			// (2·0.85 + 0.8)/3 = 0.8333.
			{Strategy: "finetune", Shots: 5, Seed: 1, TrainSeconds: 10, Status: "ok",
				LRSearch: []experiment.LRTrial{{LR: 1e-1, ValAcc: 0.95, Status: "diverged"}, {LR: 1e-2, ValAcc: 0.85, Status: "ok"}, {LR: 1e-3, ValAcc: 0.8, Status: "ok"}}},
			{Strategy: "scratch", Shots: 5, Seed: 1, TrainSeconds: 9, Status: "ok",
				LRSearch: []experiment.LRTrial{{LR: 1e-2, ValAcc: 0.5, Status: "ok"}}},
			{Strategy: "probe", Shots: 20, Seed: 1, TrainSeconds: 100},
		},
		Winners: []experiment.Winner{{Shots: 5, Strategy: "finetune", Tied: []string{"probe"}}},
	}
	v, err := Validate(a, res, 5)
	if err != nil {
		t.Fatal(err)
	}
	// The ranking's order is the prediction, whatever a strategy stopped
	// early scored: probe > finetune > scratch against finetune > probe >
	// scratch, one discordant pair of three, τ = 1/3.
	if math.Abs(v.Tau-1.0/3) > 1e-12 {
		t.Errorf("τ = %v, want 1/3", v.Tau)
	}
	if math.Abs(v.Regret-3) > 1e-9 || v.Best != "finetune" {
		t.Errorf("regret %.2f points against %s, want 3 against finetune", v.Regret, v.Best)
	}
	if math.Abs(v.BaselineRegret["finetune"]) > 1e-9 {
		t.Errorf("baselines %v", v.BaselineRegret)
	}
	if math.Abs(v.ComputeFraction-2/20.0) > 1e-12 {
		t.Errorf("compute fraction %v, want 2 s advise / 20 s", v.ComputeFraction)
	}
	if !v.TieAgrees {
		t.Errorf("the comparison's tie %v and advise's %v agree", v.CompareTie, v.AdviseTie)
	}
	// The floor: the comparison's own validation, smoothed over
	// neighbouring rates, picks finetune (0.8333 against probe's 0.825 and
	// scratch's 0.5; by the best rate alone probe's 0.9 would lead), the
	// best on test: regret 0, and finetune > probe > scratch is the test
	// order, τ 1.
	if v.ValidationChoice != "finetune" || math.Abs(v.ValidationChoiceRegret) > 1e-9 || math.Abs(v.ValidationTau-1) > 1e-12 {
		t.Errorf("validation floor %s, %.2f points, τ %v; want finetune, 0, 1", v.ValidationChoice, v.ValidationChoiceRegret, v.ValidationTau)
	}
	a.Tie = nil
	if v, _ := Validate(a, res, 5); v.TieAgrees {
		t.Error("a clear probe agrees with a comparison won by finetune")
	}
	if _, err := Validate(&Advice{Recommended: Recommended{Strategy: "lpft"}, Ranking: []Ranked{{Strategy: "lpft", Score: 1}}}, res, 5); err == nil {
		t.Error("advice with no measured strategy validated")
	}
}

// Two strategies with the same scores on different seeds tie on the
// floor's validation, whatever order the seeds add up in: 0.1 + 0.2 + 0.3
// and 0.3 + 0.2 + 0.1 differ in floating point.
func TestValidationFloorTie(t *testing.T) {
	var res experiment.Results
	for name, accs := range map[string][]float64{"a": {0.1, 0.2, 0.3}, "b": {0.3, 0.2, 0.1}} {
		for i, acc := range accs {
			res.Runs = append(res.Runs, experiment.Run{Strategy: name, Shots: 5, Seed: i + 1, Status: "ok",
				LRSearch: []experiment.LRTrial{{LR: 1e-2, ValAcc: acc, Status: "ok"}}})
		}
	}
	v := &Validation{BestAccuracy: 0.6}
	v.validationFloor(&res, 5, map[string]float64{"a": 0.5, "b": 0.6})
	// Tied on validation: the first name, and τ-b has no pair to count.
	if v.ValidationChoice != "a" || v.ValidationTau != 0 || math.Abs(v.ValidationChoiceRegret-10) > 1e-9 {
		t.Errorf("floor %s, τ %v, regret %.2f; want a (tied with b), 0, 10", v.ValidationChoice, v.ValidationTau, v.ValidationChoiceRegret)
	}
}

// Under pooled rates the floor scores each seed at the seeds' shared rate,
// not at its own best: here seed 2 of "a" peaks at a rate the pooled
// choice did not take, which would make "a" the floor's choice.
func TestValidationFloorPooled(t *testing.T) {
	search := func(lo, hi float64) []experiment.LRTrial {
		return []experiment.LRTrial{{LR: 1e-3, ValAcc: lo, Status: "ok"}, {LR: 1e-2, ValAcc: hi, Status: "ok"}}
	}
	res := experiment.Results{Runs: []experiment.Run{
		// Smoothed 1/2/1: a scores 0.40 and 0.77 on its own best rates
		// (mean 0.58), 0.40 and 0.58 at the shared 1e-2 (0.49); b 0.57.
		{Strategy: "a", Shots: 5, Seed: 1, Status: "ok", LR: 1e-2, LRSearch: search(0.0, 0.6)},
		{Strategy: "a", Shots: 5, Seed: 2, Status: "ok", LR: 1e-2, LRSearch: search(0.95, 0.4)},
		{Strategy: "b", Shots: 5, Seed: 1, Status: "ok", LR: 1e-2, LRSearch: search(0.5, 0.6)},
		{Strategy: "b", Shots: 5, Seed: 2, Status: "ok", LR: 1e-2, LRSearch: search(0.5, 0.6)},
	}}
	measured := map[string]float64{"a": 0.5, "b": 0.6}
	for _, tc := range []struct{ rule, want string }{{experiment.RateSmoothed, "a"}, {experiment.RatePooled, "b"}} {
		res.Spec.RateChoice = tc.rule
		v := &Validation{BestAccuracy: 0.6}
		v.validationFloor(&res, 5, measured)
		if v.ValidationChoice != tc.want {
			t.Errorf("%s: floor %s, want %s", tc.rule, v.ValidationChoice, tc.want)
		}
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

// Each ranked strategy's line says what its score is: a short run's, or
// the full budget's over its seeds with the score net of the seeds'
// effects where they move it, and the best's lead — or, where the
// strategy read higher on the seeds both ran, its lead.
func TestRankWhy(t *testing.T) {
	for _, c := range []struct {
		name string
		e    experiment.RaceEntry
		want string
	}{
		{"short rung", experiment.RaceEntry{Strategy: "finetune", Rung: "rates", ValAcc: 0.5},
			"stopped after the short budget: 50.0% on validation, its rates smoothed with their neighbours"},
		{"plain mean", experiment.RaceEntry{Strategy: "finetune", Rung: "seeds", ValAcc: 0.6, Adjusted: 0.6, Low: 0.5, High: 0.7, Seeds: 3, ValImages: 90,
			Margin: &experiment.Interval{Diff: 0.02, Low: -0.01, High: 0.05}},
			"60.0% on validation [50.0, 70.0] over 3 seed(s), 90 images; 2.0 points behind the best [-1.0, 5.0]"},
		{"adjusted, ahead where both ran", experiment.RaceEntry{Strategy: "finetune", Rung: "strategies", ValAcc: 0.55, Adjusted: 0.6, Low: 0.45, High: 0.65, Seeds: 1, ValImages: 30,
			Margin: &experiment.Interval{Diff: -0.02, Low: -0.06, High: 0.01}},
			"55.0% on validation [45.0, 65.0] over 1 seed(s), 30 images; 60.0% adjusted for its seeds' difficulty (not ranked on); 2.0 points ahead of the best on the seeds both ran [-1.0, 6.0]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			meas := &Measurements{Stages: []Stage{{Probe: 0.4}}}
			if got := rankWhy(c.e, meas, nil); got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

// The text output says what would separate a tie, and only where there is
// one.
func TestWriteTie(t *testing.T) {
	meas := measured([]float64{0.4, 0.7, 0.95, 0.96}, 0.3, 5)
	for _, c := range []struct {
		tied []string
		want bool
	}{{nil, false}, {[]string{"probe", "finetune"}, true}} {
		race := raced([]experiment.RaceEntry{entry("probe", 0.8, 0), entry("finetune", 0.79, 0.01)}, map[string]float64{"probe": 1, "finetune": 5}, c.tied...)
		a, err := Advise(meas, race, outline(), nil, TieBest)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		Write(&b, "target", a)
		if got := strings.Contains(b.String(), "the 2 tied cannot be told apart"); got != c.want {
			t.Errorf("tied %v: the line on separating a tie shown %v, want %v:\n%s", c.tied, got, c.want, b.String())
		}
	}
}
