package experiment

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch/torchtest"
)

// The race runs every strategy's rates on a short budget, the strategies
// on the full one and the best on further seeds; it resumes from its
// file without training, and refuses a file from other settings.
// raceConfig is the race tests' comparison: a base checkpoint in dir, 90
// training images, 6 epochs with patience 2, two rates, batch 8.
func raceConfig(t *testing.T, dir string, seeds int, strategies ...string) Config {
	t.Helper()
	return Config{
		Base: baseCheckpoint(t, dir), Train: lines(90, 1, 1), Strategies: parseAll(t, strategies...),
		Seeds: seeds, Budget: strategy.Budget{Epochs: 6, Patience: 2}, LRGrid: []float64{1e-2, 3e-3}, Batch: 8,
	}
}

func TestRace(t *testing.T) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	cfg := raceConfig(t, dir, 2, "scratch", "probe", "freeze:1", "finetune", "freeze:stage1")
	// As advise's: the spec lists every candidate, one the race does not run too.
	cfg.Spec.Strategies = []string{"scratch", "probe", "freeze:1", "finetune", "freeze:stage1", "truncate:1"}
	state := filepath.Join(dir, "race.json")
	var logged []string
	res, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 1, State: state, Log: func(l string) { logged = append(logged, l) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 5 {
		t.Fatalf("%d entries", len(res.Entries))
	}
	if want := []string{"scratch", "probe", "freeze:1", "finetune", "freeze:stage1"}; !slices.Equal(res.Spec.Strategies, want) {
		t.Errorf("race.json's spec lists %v, want the strategies raced, %v", res.Spec.Strategies, want)
	}
	rungs := map[string]int{}
	for _, tr := range res.Trials {
		rungs[tr.Rung]++
		if tr.Rung == "rates" && tr.Budget != 3 {
			t.Errorf("screen budget %d, want 3 (a sixth of 6, at least 3)", tr.Budget)
		}
	}
	// 5 strategies × 2 rates (+ the raw-head arm of the head-only ones,
	// + extensions) on the short budget; 5 on the full one, and runner-up
	// rates the short runs could not separate; the best third (at least 2)
	// and their ties on seed 2.
	if rungs["rates"] < 10 || rungs["strategies"] < 5 || rungs["strategies"] > 10 || rungs["seeds"] < 2 {
		t.Errorf("trials per rung %v", rungs)
	}
	if len(logged) != len(res.Trials) {
		t.Errorf("%d lines logged for %d trials", len(logged), len(res.Trials))
	}
	best := res.Entries[0]
	if best.Rung != "seeds" || best.Seeds < 2 || best.Low > best.ValAcc || best.High < best.ValAcc || best.Margin != nil {
		t.Errorf("best %+v", best)
	}
	if res.FullSeconds <= res.Seconds || res.Seconds <= 0 {
		t.Errorf("race %.2fs of an estimated full comparison of %.2fs", res.Seconds, res.FullSeconds)
	}
	// freeze:1 and freeze:stage1 are one strategy: whichever ranks lower
	// is tied with the other at exactly no difference, and with the best.
	var twin []RaceEntry
	for _, e := range res.Entries {
		if strings.HasPrefix(e.Strategy, "freeze") {
			twin = append(twin, e)
		}
	}
	if math.Abs(twin[0].ValAcc-twin[1].ValAcc) > 1e-12 {
		t.Errorf("twins scored %v and %v", twin[0].ValAcc, twin[1].ValAcc)
	}
	if !slices.Contains(res.TiedWithBest, res.Entries[0].Strategy) {
		t.Errorf("tied %v lacks the best", res.TiedWithBest)
	}
	// A strategy that ran two rates on the first seed's full budget runs
	// both on every further seed, and scores each seed by their mean.
	two := 0
	for _, e := range res.Entries {
		if e.Rung != "seeds" {
			continue
		}
		bySeed := map[int][]RaceTrial{}
		for _, tr := range res.Trials {
			if tr.Strategy == e.Strategy && tr.Rung != "rates" && tr.Status == "ok" {
				bySeed[tr.Seed] = append(bySeed[tr.Seed], tr)
			}
		}
		if len(bySeed[1]) == 2 {
			two++
		}
		var mean, adjusted float64
		for seed, ts := range bySeed {
			if len(ts) != len(bySeed[1]) {
				t.Errorf("%s ran %d rates on seed %d and %d on the first", e.Strategy, len(ts), seed, len(bySeed[1]))
			}
			var m float64
			for _, tr := range ts {
				m += tr.ValAcc / float64(len(ts))
			}
			mean += m / float64(len(bySeed))
			adjusted += (m - res.SeedEffects[seed-1]) / float64(len(bySeed))
		}
		if math.Abs(mean-e.ValAcc) > 1e-12 || math.Abs(adjusted-e.Adjusted) > 1e-12 {
			t.Errorf("%s scored %v (adjusted %v); the mean of its seeds' rate means is %v, less the seeds' effects %v",
				e.Strategy, e.ValAcc, e.Adjusted, mean, adjusted)
		}
	}
	// Every strategy that ran the full budget ranks by its mean over its
	// seeds, above those the short rung stopped.
	for i := 1; i < len(res.Entries); i++ {
		a, b := res.Entries[i-1], res.Entries[i]
		if a.Status == "ok" && b.Status == "ok" && ((a.Rung == "rates" && b.Rung != "rates") || (a.Rung != "rates") == (b.Rung != "rates") && a.ValAcc < b.ValAcc) {
			t.Errorf("%s (%s, %v) ranks above %s (%s, %v)", a.Strategy, a.Rung, a.ValAcc, b.Strategy, b.Rung, b.ValAcc)
		}
	}
	if two == 0 {
		t.Error("no strategy of the seeds rung ran two rates: the two-rate score went untested")
	}
	// Resuming trains nothing and gives the same result.
	again, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 1, State: state, Log: func(l string) { t.Errorf("trained again: %s", l) }})
	if err != nil {
		t.Fatal(err)
	}
	if again.Entries[0].Strategy != best.Strategy || again.Entries[0].ValAcc != best.ValAcc {
		t.Errorf("resumed best %+v, was %+v", again.Entries[0], best)
	}
	// Other settings are refused, naming the difference.
	other := cfg
	other.Batch = 4
	if _, err := Race(context.Background(), other, RaceOptions{Shots: 20, Budget: 1, State: state}); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("other batch: %v", err)
	}
	// A damaged file is reported with the fix.
	if err := os.WriteFile(state, []byte("{\"trials\": ["), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 1, State: state}); err == nil || !strings.Contains(err.Error(), "delete it") {
		t.Errorf("damaged: %v", err)
	}
}

// A small budget stops the race short and says so.
func TestRaceBudget(t *testing.T) {
	cfg := raceConfig(t, t.TempDir(), 3, "scratch", "probe", "finetune", "lpft")
	res, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	if !res.BudgetCut || len(res.Notes) == 0 {
		t.Errorf("budget not cut: %+v", res.Notes)
	}
	full := 0
	for _, tr := range res.Trials {
		if tr.Rung != "rates" {
			full++
		}
	}
	if full != 2 {
		t.Errorf("%d full-budget trials under a spent budget, want the 2 a verdict needs", full)
	}
}

// A race keeps its budget in the arithmetic its runs count, so that two
// races on the same settings run the same trials, wherever the budget
// cuts; in seconds, which strategies fit on a later seed turned on the
// machine's load.
func TestRaceReproducible(t *testing.T) {
	dir := t.TempDir()
	cfg := raceConfig(t, dir, 3, "scratch", "probe", "finetune", "freeze:1")
	var runs [2]*RaceResult
	for i := range runs {
		res, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 0.4})
		if err != nil {
			t.Fatal(err)
		}
		runs[i] = res
	}
	res := runs[0]
	if res.Unit != "gflop" || res.GFLOP <= 0 || res.FullGFLOP <= res.GFLOP || res.GFLOP > 0.4*res.FullGFLOP {
		t.Fatalf("unit %q: race %g GFLOP of an estimated %g", res.Unit, res.GFLOP, res.FullGFLOP)
	}
	seeds := 0
	for _, tr := range res.Trials {
		if tr.GFLOP <= 0 {
			t.Errorf("%s at %g on seed %d counted no arithmetic", tr.Strategy, tr.LR, tr.Seed)
		}
		if tr.Rung == "seeds" {
			seeds++
		}
	}
	// The budget must cut inside the seeds rung for the test to say
	// anything: some strategies run a later seed, not all.
	if !res.BudgetCut || seeds == 0 {
		t.Fatalf("budget cut %v with %d seeds-rung trials: the budget does not cut inside the seeds rung", res.BudgetCut, seeds)
	}
	keys := func(r *RaceResult) []string {
		var k []string
		for _, tr := range r.Trials {
			k = append(k, tr.Rung+" "+tr.key())
		}
		return k
	}
	if a, b := keys(runs[0]), keys(runs[1]); !slices.Equal(a, b) {
		t.Errorf("two races on the same settings ran different trials:\n%v\n%v", a, b)
	}

	// Interrupted and resumed, the race runs the same trials and counts
	// the same arithmetic for each: a resumed process finds the feature
	// cache empty, and a run's count must not depend on it.
	state := filepath.Join(dir, "race.json")
	ctx, cancel := context.WithCancel(context.Background())
	lines := 0
	_, err := Race(ctx, cfg, RaceOptions{Shots: 20, Budget: 0.4, State: state, Log: func(string) {
		if lines++; lines == len(res.Trials)/2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted race: %v", err)
	}
	resumed, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 0.4, State: state})
	if err != nil {
		t.Fatal(err)
	}
	gflop := func(r *RaceResult) []float64 {
		var g []float64
		for _, tr := range r.Trials {
			g = append(g, tr.GFLOP)
		}
		return g
	}
	if a, b := keys(res), keys(resumed); !slices.Equal(a, b) || !slices.Equal(gflop(res), gflop(resumed)) {
		t.Errorf("the resumed race ran other trials or counted otherwise:\n%v %v\n%v %v", a, gflop(res), b, gflop(resumed))
	}
}

// The race trains on the comparison's folds under its selection rule: a
// strategy's full-budget run on the first seed scores exactly what the
// comparison's selection scored at that rate.
func TestRaceMatchesCompareSelection(t *testing.T) {
	dir := t.TempDir()
	base := baseCheckpoint(t, dir)
	cfg := Config{
		Base: base, Train: lines(90, 1, 1), Test: lines(30, 2, 1), Strategies: parseAll(t, "finetune", "probe"),
		Shots: []int{20}, Seeds: 1, Budget: strategy.Budget{Epochs: 6, Patience: 2}, LRGrid: []float64{3e-3}, Batch: 8,
		Out: filepath.Join(dir, "cmp"),
	}
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	race, err := Race(context.Background(), cfg, RaceOptions{Shots: 20, Budget: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Runs {
		var got *RaceTrial
		for i, tr := range race.Trials {
			if tr.Strategy == r.Strategy && tr.Rung == "strategies" && tr.Seed == 1 && tr.LR == r.LR && (tr.Raw == (r.Head == "raw")) {
				got = &race.Trials[i]
			}
		}
		if got == nil {
			t.Errorf("%s: the race has no full-budget run at %g (head %q)", r.Strategy, r.LR, r.Head)
			continue
		}
		if got.ValAcc != r.Selection.ValAcc || got.Epochs != r.Selection.Epochs {
			t.Errorf("%s: race %.4f at %d epochs, comparison's selection %.4f at %d", r.Strategy, got.ValAcc, got.Epochs, r.Selection.ValAcc, r.Selection.Epochs)
		}
	}
}

// After the short rung, strategies go on to the full budget in the order
// of their short runs' smoothed scores: a plateau before a spike that
// reads higher at its best rate, a strategy with no rate that trained
// last, equal smoothed scores as their best rates compare.
func TestRaceOrder(t *testing.T) {
	screen := func(acc, loss float64) RaceTrial { return RaceTrial{Status: "ok", ValAcc: acc, ValLoss: loss} }
	spike := &standing{screen: screen(0.9, 1), smoothed: 0.7}
	plateau := &standing{screen: screen(0.8, 1), smoothed: 0.7875}
	diverged := &standing{screen: RaceTrial{Status: "diverged"}}
	sameLower := &standing{screen: screen(0.8, 2), smoothed: 0.7875}
	for _, c := range []struct {
		name string
		a, b *standing
		want bool
	}{
		{"plateau before spike", plateau, spike, true},
		{"spike after plateau", spike, plateau, false},
		{"trained before diverged", spike, diverged, true},
		{"diverged after trained", diverged, spike, false},
		{"equal smoothed: the lower loss", plateau, sameLower, true},
		{"equal smoothed, the other way", sameLower, plateau, false},
		{"diverged both: neither", diverged, diverged, false},
	} {
		if got := c.a.aheadOf(c.b); got != c.want {
			t.Errorf("%s: aheadOf = %v, want %v", c.name, got, c.want)
		}
	}
	// The short runs as a rate search: the raw head apart.
	got := searchOf([]RaceTrial{{LR: 1e-2, Raw: true, ValAcc: 0.1, Status: "ok"}, {LR: 1e-2, ValAcc: 0.9, Status: "ok"}, {LR: 1e-3, ValAcc: 0.9, Status: "ok"}, {LR: 1e-3, Raw: true, ValAcc: 0.1, Status: "ok"}})
	if s, ok := SmoothedSelectionScore(got); !ok || math.Abs(s-0.9) > 1e-12 {
		t.Errorf("two heads' short runs smoothed to %v, %v; want 0.9 (the standardized head's own curve)", s, ok)
	}
}

// TestChooseRates: the race takes a strategy's best short run, as the
// comparison takes its best rate, and runs a runner-up only when the
// short run cannot separate it from the best.
func TestChooseRates(t *testing.T) {
	tr := func(lr, acc float64, raw bool) RaceTrial {
		return RaceTrial{LR: lr, ValAcc: acc, Raw: raw, Status: "ok", ValImages: 100, ValLoss: 1 - acc}
	}
	for _, c := range []struct {
		name    string
		all     []RaceTrial
		best    float64 // rate
		bestRaw bool
		second  float64 // 0: none
		rule    string  // RateBest when empty
	}{
		// One standard error of 0.80 on 100 images is 0.04: 0.77 is
		// within it, 0.74 is not.
		{"runner-up within one standard error", []RaceTrial{tr(1e-2, 0.40, false), tr(3e-3, 0.80, false), tr(1e-3, 0.77, false)}, 3e-3, false, 1e-3, ""},
		{"clear winner", []RaceTrial{tr(3e-3, 0.80, false), tr(1e-3, 0.74, false)}, 3e-3, false, 0, ""},
		{"the raw head's run", []RaceTrial{tr(1e-2, 0.1, false), tr(1e-2, 0.9, true)}, 1e-2, true, 0, ""},
		// A diverged rate is never chosen, nor run again.
		{"diverged", []RaceTrial{{LR: 1e-1, Status: "diverged"}, tr(1e-2, 0.5, false)}, 1e-2, false, 0, ""},
		// Under RateSmoothed: the plateau, not the spike, and no runner-up.
		{"smoothed: plateau over spike", []RaceTrial{tr(1e-1, 0.40, false), tr(3e-2, 0.85, false), tr(1e-2, 0.40, false), tr(3e-3, 0.78, false), tr(1e-3, 0.80, false)}, 1e-3, false, 0, RateSmoothed},
		{"smoothed: diverged", []RaceTrial{{LR: 1e-1, Status: "diverged"}, tr(1e-2, 0.5, false)}, 1e-2, false, 0, RateSmoothed},
	} {
		t.Run(c.name, func(t *testing.T) {
			best, second := chooseRates(c.all, c.rule)
			if best.LR != c.best || best.Raw != c.bestRaw || second.LR != c.second {
				t.Errorf("chose %g (raw %v), runner-up %g; want %g (raw %v), %g", best.LR, best.Raw, second.LR, c.best, c.bestRaw, c.second)
			}
		})
	}
}

// Seed-adjusted scores are the least-squares fit of strategy + seed to
// every seed's reading; the expected values were solved independently
// (numpy.linalg.lstsq with the effects summing to zero).
func TestSeedAdjusted(t *testing.T) {
	type read struct {
		strategy string
		seed     int
		acc      float64
	}
	for _, c := range []struct {
		name    string
		reads   []read
		score   map[string]float64
		effects []float64
	}{
		{"every strategy on every seed: the plain means",
			[]read{{"a", 1, 0.6}, {"a", 2, 0.4}, {"b", 1, 0.7}, {"b", 2, 0.5}},
			map[string]float64{"a": 0.5, "b": 0.6}, []float64{0.1, -0.1}},
		// b ran only the first seed, which read 0.2 above the second for
		// a: b's 0.62 there is 0.52 on the footing of both seeds, a's
		// plain 0.5.
		{"a strategy stopped after an easy first seed",
			[]read{{"a", 1, 0.6}, {"a", 2, 0.4}, {"b", 1, 0.62}},
			map[string]float64{"a": 0.5, "b": 0.52}, []float64{0.1, -0.1}},
		{"three seeds, not all run",
			[]read{{"a", 1, 0.6}, {"a", 2, 0.4}, {"b", 1, 0.7}, {"b", 2, 0.6}, {"c", 1, 0.65}, {"a", 3, 0.5}, {"b", 3, 0.45}},
			map[string]float64{"a": 0.5, "b": 0.5833333333333334, "c": 0.5416666666666667},
			[]float64{0.10833333333333334, -0.041666666666666664, -0.06666666666666667}},
		{"a seed nobody ran has no effect",
			[]read{{"a", 1, 0.6}, {"a", 3, 0.4}, {"b", 1, 0.7}},
			map[string]float64{"a": 0.5, "b": 0.6}, []float64{0.1, 0, -0.1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			by := map[string]*standing{}
			var sds []*standing
			for _, r := range c.reads {
				sd := by[r.strategy]
				if sd == nil {
					sd = &standing{s: strategy.Strategy{Name: r.strategy}}
					by[r.strategy] = sd
					sds = append(sds, sd)
				}
				sd.full = append(sd.full, RaceTrial{Strategy: r.strategy, Seed: r.seed, ValAcc: r.acc, Status: "ok"})
			}
			// A strategy that never ran the full budget, and a diverged
			// seed, are left out.
			sds = append(sds, &standing{s: strategy.Strategy{Name: "short"}})
			by[c.reads[0].strategy].full = append(by[c.reads[0].strategy].full, RaceTrial{Seed: 1, Status: "diverged"})
			score, effects := seedAdjusted(sds)
			if len(score) != len(c.score) {
				t.Errorf("scored %d strategies, want %d", len(score), len(c.score))
			}
			for name, want := range c.score {
				if got := score[by[name]]; math.Abs(got-want) > 1e-9 {
					t.Errorf("%s scored %v, want %v", name, got, want)
				}
			}
			if len(effects) != len(c.effects) {
				t.Fatalf("effects %v, want %v", effects, c.effects)
			}
			for k := range effects {
				if math.Abs(effects[k]-c.effects[k]) > 1e-9 {
					t.Errorf("effects %v, want %v", effects, c.effects)
					break
				}
			}
		})
	}
}

// The ranking puts every strategy that ran the full budget above those
// the short rung stopped, by score whichever rung it reached, and ties
// with the best every such strategy the paired interval cannot separate
// from it: a strategy the budget stopped after the first seed can lead.
func TestRank(t *testing.T) {
	// 40 validation images a seed; a strategy got images from to to-1
	// right.
	trial := func(name string, seed, from, to int) RaceTrial {
		c := make([]bool, 40)
		for i := from; i < to; i++ {
			c[i] = true
		}
		return RaceTrial{Strategy: name, Seed: seed, Status: "ok", ValImages: 40, ValAcc: float64(to-from) / 40, Correct: correctBits(c)}
	}
	r := &racer{res: &RaceResult{Entries: []RaceEntry{
		{Strategy: "kept", Rung: "seeds", Status: "ok", ValAcc: 0.60},
		{Strategy: "short", Rung: "rates", Status: "ok", ValAcc: 0.90},
		{Strategy: "stopped", Rung: "strategies", Status: "ok", ValAcc: 0.65},
		{Strategy: "beaten", Rung: "strategies", Status: "ok", ValAcc: 0.20},
		{Strategy: "diverged", Rung: "strategies", Status: "diverged"},
	}}, full: map[string][]RaceTrial{
		"kept":    {trial("kept", 1, 2, 27), trial("kept", 2, 0, 23)},
		"stopped": {trial("stopped", 1, 0, 26)},
		"beaten":  {trial("beaten", 1, 0, 8)},
	}}
	r.rank()
	var order []string
	for _, e := range r.res.Entries {
		order = append(order, e.Strategy)
	}
	if want := []string{"stopped", "kept", "beaten", "short", "diverged"}; !slices.Equal(order, want) {
		t.Errorf("ranked %v, want %v", order, want)
	}
	if want := []string{"stopped", "kept"}; !slices.Equal(r.res.TiedWithBest, want) {
		t.Errorf("tied %v, want %v", r.res.TiedWithBest, want)
	}
	if m := r.res.Entries[1].Margin; m == nil || math.Abs(m.Diff-0.025) > 1e-12 {
		t.Errorf("the best's lead over kept on their shared seed: %+v, want 0.025", m)
	}
}

// The race leads with the best plain mean over the seeds each strategy
// ran, not with the additive seed fit: FM odd → even at 10 shots, where
// scratch ran two hard seeds and the pretrained strategies a third, easy
// for them, and the fit credited scratch with that seed's ease.
func TestSurvivorsPlainMean(t *testing.T) {
	sd := func(name string, accs ...float64) *standing {
		s := &standing{s: strategy.Strategy{Name: name}}
		for i, a := range accs {
			s.full = append(s.full, RaceTrial{Strategy: name, Seed: i + 1, Status: "ok", ValAcc: a, ValImages: 30})
		}
		return s
	}
	scratch := sd("scratch", 0.633, 0.489)
	freeze := sd("freeze:2", 0.567, 0.483, 0.75)
	probe := sd("probe", 0.467, 0.367, 0.767)
	all := []*standing{scratch, freeze, probe}
	if adj, _ := seedAdjusted(all); adj[scratch] <= adj[freeze] {
		t.Fatalf("the fit no longer credits scratch (%v against %v): the case is gone", adj[scratch], adj[freeze])
	}
	r := &racer{}
	got := r.survivors(all, rand.New(rand.NewPCG(5, 6)))
	if got[0] != freeze {
		t.Errorf("the leader is %s, want freeze:2, the best mean over its seeds", got[0].s.Name)
	}
}

// Two strategies that got the same validation images right, with scores
// that differ through their smoothing over epochs, are not declared apart
// by a point interval; nor is a strategy that got every image right.
func TestRaceIntervalsNotPoints(t *testing.T) {
	all := make([]bool, 15)
	for i := range all {
		all[i] = true
	}
	a := []RaceTrial{{Seed: 1, Status: "ok", ValImages: 15, ValAcc: 0.84, Correct: correctBits(all)}}
	b := []RaceTrial{{Seed: 1, Status: "ok", ValImages: 15, ValAcc: 0.80, Correct: correctBits(all)}}
	m, ok := pairedTrials(a, b, rand.New(rand.NewPCG(1, 2)))
	if !ok || !(m.Low < 0 && m.High > m.Diff) || math.Abs(m.Diff-0.04) > 1e-12 {
		t.Errorf("paired %+v, want a lead of 0.04 whose interval includes no difference", m)
	}
	lo, hi := trialInterval(a, rand.New(rand.NewPCG(1, 2)))
	if !(lo < 0.84 && hi > 0.84) {
		t.Errorf("interval [%v, %v] of a score of 0.84 on images all right", lo, hi)
	}
}
