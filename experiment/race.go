package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/strategy"
)

// A race is successive halving (Jamieson & Talwalkar 2016; the rung
// structure of Hyperband, Li et al. 2018) over strategy × learning rate,
// run on the folds and with the selection rule a comparison uses, so that
// a small share of a comparison's compute names the strategy the
// comparison would name. Three rungs, each on fewer candidates with more
// resource:
//
//   - rates: every strategy at every rate of the grid (extended at its
//     edges as a comparison's is) for a sixth of the budget on the first
//     seed's folds; each strategy keeps its best rate, and goes on to the
//     full budget in the order of its short runs' score smoothed over
//     neighbouring rates (SmoothedSelectionScore).
//   - strategies: every strategy at its rate for the whole budget, on the
//     same folds: the ranking, with which validation images each got
//     right.
//   - seeds: the comparison's further seeds, one at a time, for every
//     strategy the leader cannot yet be said to beat (a race: the
//     statistically beaten leave), while the compute budget allows:
//     other samples of the shots, the largest source of variance at a
//     few images per class. Each runs at the rates the strategies rung
//     ran on the first seed (the runner-up too, where it ran), and a
//     seed scores the mean of their readings (armsScore).
//
// The strategies rung also runs a strategy's runner-up rate when the short
// run could not separate it from the best.
//
// Strategies that ran the full budget are ranked by their mean over the
// seeds they ran, whichever rung they reached: the seeds rung leaves a
// strategy behind when the budget runs out as well as when it is beaten.
// Each seed's effect (seedAdjusted) is reported beside it, not ranked on.
// The tie is every one of them whose paired interval against the best, on
// the seeds both ran, includes no difference; one the seeds rung found
// beaten has none.
//
// Slow starters are not judged on a short run: the short rung chooses
// rates within a strategy, and the order in which strategies get the full
// budget (the first two always do; the rest while the budget allows);
// strategies are compared on the full budget.
const (
	// RaceScreenShare is the rates rung's share of the budget.
	RaceScreenShare = 1.0 / 6
	// DefaultRaceBudget is the share of a full comparison's compute a race
	// may spend, measurements included.
	DefaultRaceBudget = 0.25
)

// RaceOptions set a race; the comparison it stands for is the Config.
type RaceOptions struct {
	Shots int
	// Budget is the share of the estimated full comparison's compute the
	// race may spend, Spent included (DefaultRaceBudget when 0).
	Budget float64
	// Spent is compute already spent on the same question (measurements),
	// in seconds, and SpentGFLOP the same in GFLOP: it counts against the
	// budget, in the race's unit (RaceResult.Unit).
	Spent      float64
	SpentGFLOP float64
	// Order scores each strategy without training (higher first): the
	// order candidates are tried and, where the budget cuts, kept.
	Order map[string]float64
	// State is the race's file: every finished training is written to it,
	// and a rerun with the same settings resumes from it. "" for none.
	State string
	// Log, when set, gets one line per training.
	Log func(line string)
}

// RaceResult is race.json.
type RaceResult struct {
	Schema int  `json:"schema"`
	Spec   Spec `json:"spec"` // the comparison raced (resume key with Budget)
	Shots  int  `json:"shots"`
	// Budget is the share of the full comparison allowed.
	Budget       float64 `json:"budget"`
	ScreenEpochs int     `json:"screen_epochs"`
	// Trials are every training, in the order run.
	Trials  []RaceTrial `json:"trials"`
	Entries []RaceEntry `json:"entries"` // one per strategy, best first
	// FullSeconds estimates the full comparison's training time (its rate
	// search on every fold, every seed, and the refits) from what the race
	// measured per strategy.
	FullSeconds float64 `json:"full_seconds"`
	Seconds     float64 `json:"seconds"` // the race's own training
	Spent       float64 `json:"spent"`   // counted before the race
	// Unit is what the budget is kept in: "gflop", the arithmetic the
	// runs count (fit.Result.FLOPs), which is the same from run to run so
	// that a race is reproducible; or "seconds" where a model's arithmetic
	// cannot be counted (a module nn.Model.FLOPs does not know). The GFLOP
	// fields mirror the seconds fields.
	Unit       string  `json:"cost_unit"`
	FullGFLOP  float64 `json:"full_gflop,omitempty"`
	GFLOP      float64 `json:"gflop,omitempty"`
	SpentGFLOP float64 `json:"spent_gflop,omitempty"`
	// SeedEffects is how much each seed's sample of the shots (index: seed
	// − 1) read above or below the others, over the strategies that ran the
	// full budget (seedAdjusted); the entries' Adjusted scores are net of
	// it, their ranking scores are not.
	SeedEffects []float64 `json:"seed_effects,omitempty"`
	// BudgetCut: the budget stopped a rung short.
	BudgetCut bool     `json:"budget_cut,omitempty"`
	Notes     []string `json:"notes,omitempty"`
	// TiedWithBest lists the best and the strategies of the last rung
	// whose paired interval against it includes no difference.
	TiedWithBest []string `json:"tied_with_best"`
}

// RaceTrial is one strategy at one rate on one seed's folds.
type RaceTrial struct {
	Rung     string  `json:"rung"` // rates, strategies, seeds
	Strategy string  `json:"strategy"`
	LR       float64 `json:"lr"`
	Raw      bool    `json:"raw_head,omitempty"`
	Budget   int     `json:"budget_epochs"`
	Seed     int     `json:"seed"`
	Status   string  `json:"status"`
	// ValAcc is the smoothed mean validation accuracy at the chosen
	// length (the comparison's selection score); Epochs that length.
	ValAcc    float64 `json:"val_accuracy"`
	ValLoss   float64 `json:"val_loss"`
	Epochs    int     `json:"epochs"`
	ValImages int     `json:"val_images"`
	// Trainable is the weights it trains (the last phase's).
	Trainable int64 `json:"trainable"`
	// Correct is which validation images (over the folds) the best-epoch
	// models got right: the paired intervals resample it.
	Correct []byte  `json:"correct,omitempty"`
	Seconds float64 `json:"seconds"`
	// GFLOP is the arithmetic it did over the folds (0: not counted).
	GFLOP float64 `json:"gflop,omitempty"`
	// EpochsRun over the folds: the cost per epoch is Seconds/EpochsRun.
	EpochsRun int `json:"epochs_run"`
}

// RaceEntry is one strategy's standing.
type RaceEntry struct {
	Strategy string `json:"strategy"`
	// Rung is the furthest rung it reached.
	Rung   string  `json:"rung"`
	LR     float64 `json:"lr"`
	Head   string  `json:"head,omitempty"` // raw or standardized, for a new head on frozen features
	Epochs int     `json:"epochs"`         // training length chosen (first seed)
	// ValAcc is the predicted accuracy: the smoothed validation accuracy
	// at the chosen length, averaged over the seeds run; Low/High its 95%
	// interval (validation images resampled within each seed); Adjusted
	// the same mean net of those seeds' effects (RaceResult.SeedEffects),
	// reported, not ranked on (seedAdjusted says why). For a strategy
	// the budget stopped at the rates rung, its short runs' score smoothed
	// over neighbouring rates (SmoothedSelectionScore), Low and High equal.
	ValAcc    float64 `json:"val_accuracy"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	Adjusted  float64 `json:"seed_adjusted_val_accuracy,omitempty"`
	Seeds     int     `json:"seeds"`
	ValImages int     `json:"val_images"`
	// Seconds is what the race spent on it; FullSeconds what a full
	// comparison would (estimated): the cost a tie is broken by.
	Seconds     float64 `json:"seconds"`
	FullSeconds float64 `json:"full_seconds"`
	// Trainable is the weights it trains: with Epochs, the training work
	// a tie is settled by (deterministic, unlike seconds).
	Trainable int64  `json:"trainable"`
	Status    string `json:"status"`
	// Margin is the best's lead over it, with its paired 95% interval
	// (nil for the best itself and for strategies not run on full budget).
	Margin *Interval `json:"margin,omitempty"`
}

// Interval is a difference with its 95% interval, in accuracy (0–1).
type Interval struct {
	Diff float64 `json:"diff"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// Race runs the race for o.Shots images per class.
func Race(ctx context.Context, c Config, o RaceOptions) (*RaceResult, error) {
	c = c.withDefaults()
	if c.detection() != nil {
		return nil, fmt.Errorf("advise races classifiers; for a detector, run graft compare (its verdict carries the interval advise would give)")
	}
	if o.Budget <= 0 {
		o.Budget = DefaultRaceBudget
	}
	if o.Budget > 1 {
		return nil, fmt.Errorf("budget %g: give a share of the full comparison, between 0 and 1", o.Budget)
	}
	if len(c.Strategies) == 0 {
		return nil, fmt.Errorf("no strategies to race")
	}
	c.Protocol = ProtocolRefit
	if err := c.checkRateChoice(); err != nil {
		return nil, err
	}
	if err := c.completeSpec(); err != nil {
		return nil, err
	}
	c.Spec.Folds = c.Folds
	c.Spec.Test = "" // a race never tests
	c.Spec.Shots, c.Spec.Seeds, c.Spec.Epochs, c.Spec.LRGrid = []int{o.Shots}, c.Seeds, c.Budget.Epochs, c.LRGrid
	// The strategies raced, in place of whatever the caller's spec listed
	// (advise's lists them all, the pruned too; appending to it had named
	// every raced strategy twice).
	c.Spec.Strategies = nil
	for _, s := range c.Strategies {
		c.Spec.Strategies = append(c.Spec.Strategies, s.Name)
	}
	res := &RaceResult{Schema: 1, Spec: c.Spec, Shots: o.Shots, Budget: o.Budget, Spent: o.Spent, SpentGFLOP: o.SpentGFLOP,
		ScreenEpochs: max(3, int(math.Ceil(RaceScreenShare*float64(c.Budget.Epochs))))}
	done := map[string]RaceTrial{}
	if o.State != "" {
		prev, err := readRace(o.State)
		if err != nil {
			return nil, err
		}
		if prev != nil {
			a, _ := json.Marshal(prev.Spec)
			b, _ := json.Marshal(res.Spec)
			if string(a) != string(b) || prev.Budget != res.Budget || prev.Shots != res.Shots {
				return nil, fmt.Errorf("%s is from another race (%s); use another --out, or delete it to start over", o.State, raceDiff(prev, res))
			}
			for _, t := range prev.Trials {
				done[t.key()] = t
			}
		}
	}
	r := &racer{c: c, o: o, res: res, done: done, splits: map[int]*split{}, full: map[string][]RaceTrial{}}
	defer r.free()
	if err := r.run(ctx); err != nil {
		return res, err
	}
	r.rank()
	return res, r.save()
}

type racer struct {
	c      Config
	o      RaceOptions
	res    *RaceResult
	done   map[string]RaceTrial
	splits map[int]*split
	full   map[string][]RaceTrial // full-budget trials per strategy that ran ok
}

func (t RaceTrial) key() string {
	return fmt.Sprintf("%s|%g|%v|%d|%d", t.Strategy, t.LR, t.Raw, t.Budget, t.Seed)
}

func (r *racer) free() {
	for _, sp := range r.splits {
		sp.cache.Free()
	}
}

func (r *racer) split(seed int) (*split, error) {
	if sp, ok := r.splits[seed]; ok {
		return sp, nil
	}
	sp, err := r.c.makeSplit(r.o.Shots, seed)
	if err != nil {
		return nil, err
	}
	r.splits[seed] = sp
	return sp, nil
}

func (r *racer) save() error {
	if r.o.State == "" {
		return nil
	}
	b, err := json.MarshalIndent(r.res, "", " ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(r.o.State, append(b, '\n'))
}

// trial trains (or recalls) one strategy at one rate on one seed's folds.
func (r *racer) trial(ctx context.Context, rung string, s strategy.Strategy, lr float64, raw bool, epochs, seed int, keep bool) (RaceTrial, error) {
	t := RaceTrial{Rung: rung, Strategy: s.Name, LR: lr, Raw: raw, Budget: epochs, Seed: seed}
	if prev, ok := r.done[t.key()]; ok {
		r.res.Trials = append(r.res.Trials, prev)
		r.res.Seconds += prev.Seconds
		return prev, nil
	}
	if err := ctx.Err(); err != nil {
		return t, err
	}
	sp, err := r.split(seed)
	if err != nil {
		return t, err
	}
	budget := r.c.selectionBudget()
	if epochs != budget.Epochs {
		// A short rung runs its whole (short) schedule: patience would
		// only cut what is already short.
		budget = strategy.Budget{Epochs: epochs, Patience: epochs}
	}
	start := time.Now()
	rr := r.c.selectRate(ctx, job{strategy: s, shots: r.o.Shots, seed: seed}, sp, lr, raw, budget, smoothWindow(budget.Epochs), nil, keep)
	if err := ctx.Err(); err != nil {
		return t, err
	}
	t.Seconds = time.Since(start).Seconds()
	t.GFLOP = rr.flops / 1e9
	t.Status, t.ValImages, t.Trainable = rr.status, sp.valImages, rr.trainabl
	if rr.status == "failed" {
		return t, fmt.Errorf("%s at rate %g: %s", s.Name, lr, rr.err)
	}
	if rr.status == "ok" {
		t.ValAcc, t.ValLoss, t.Epochs = rr.acc, rr.loss, rr.epochs
		t.Correct = correctBits(rr.correct)
	}
	// Epochs run over the folds, each fold's own: they stop early apart.
	t.EpochsRun = max(1, rr.trained)
	r.res.Trials = append(r.res.Trials, t)
	r.res.Seconds += t.Seconds
	if r.o.Log != nil {
		acc := "diverged"
		if t.Status == "ok" {
			acc = fmt.Sprintf("validation %.1f%% at %d epochs", 100*t.ValAcc, t.Epochs)
		}
		head := ""
		if raw {
			head = " (raw head)"
		}
		r.o.Log(fmt.Sprintf("%-8s %-16s lr %-7g%s seed %d, %d-epoch budget: %s, %.1fs", rung, s.Name, lr, head, seed, epochs, acc, t.Seconds))
	}
	return t, r.save()
}

// better orders trials by the selection score.
func better(a, b RaceTrial) bool {
	if b.Status != "ok" {
		return a.Status == "ok"
	}
	// As a comparison's selection does: accuracy, then the lower loss,
	// which separates what a few validation images count as equal.
	return a.Status == "ok" && (a.ValAcc > b.ValAcc || (a.ValAcc == b.ValAcc && a.ValLoss < b.ValLoss))
}

// survivors are the strategies the leader (the best mean over the seeds
// it ran, of every strategy that ran the full budget) cannot be
// said to beat — its paired lead over them includes no difference — best
// first; the leader and the runner-up always, so that a verdict between
// two exists.
func (r *racer) survivors(alive []*standing, rng *rand.Rand) []*standing {
	sorted := slices.Clone(alive)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].mean() > sorted[j].mean() })
	if len(sorted) <= 2 {
		return sorted
	}
	keep := sorted[:2:2]
	for _, sd := range sorted[2:] {
		if tiedTrials(sorted[0].ok(), sd.ok(), rng) {
			keep = append(keep, sd)
		}
	}
	return keep
}

// standing is one strategy through the race.
type standing struct {
	s      strategy.Strategy
	screen RaceTrial // its best rate on the short budget
	second RaceTrial // the runner-up rate, when the short run cannot separate it from the best
	// arms are the rates it runs on the full budget: the screen's best
	// and, when it ran ok on the first seed, the runner-up; the better of
	// the two on the first seed first (the rate advise recommends).
	arms []RaceTrial
	// full is one trial per seed: the first arm's, scored by the mean of
	// its arms' readings on that seed (seeds' scores).
	full  []RaceTrial
	rates int // rates the screen tried (a comparison tries as many)

	// smoothed is the short runs' score over their rates, smoothed with
	// neighbouring rates: what strategies are ordered by after the short
	// rung (0 when no rate trained ok).
	smoothed float64
}

// armsScore is one seed's standing from its trials at a strategy's arms
// (ts[0] at the first): the first arm's trial, its score the mean of the
// readings of the arms that trained ok. A strategy whose two best rates
// the short run could not separate is read at both on every seed, as the
// comparison's floor reads each seed's curve smoothed over neighbouring
// rates: one rate's reading alone rewards the first seed's lucky rate
// (docs/advise.md, "Where advise loses to the floor"). The images it got
// right stay the first arm's, for the paired intervals: a mean over two
// rates varies less than one rate's reading, so they err wide.
func armsScore(ts []RaceTrial) RaceTrial {
	t := ts[0]
	if t.Status != "ok" {
		return t
	}
	var sum float64
	n := 0
	for _, a := range ts {
		if a.Status == "ok" {
			sum += a.ValAcc
			n++
		}
	}
	t.ValAcc = sum / float64(n)
	return t
}

// ok are the full-budget trials that trained without diverging.
func (sd *standing) ok() []RaceTrial {
	var ts []RaceTrial
	for _, t := range sd.full {
		if t.Status == "ok" {
			ts = append(ts, t)
		}
	}
	return ts
}

// aheadOf orders strategies after the short rung: those with a rate that
// trained ok first, then by the short runs' smoothed score (a spike at one
// rate is the short run's luck as much as a comparison's), then as the
// best rates compare.
func (sd *standing) aheadOf(o *standing) bool {
	if (sd.screen.Status == "ok") != (o.screen.Status == "ok") {
		return sd.screen.Status == "ok"
	}
	if sd.smoothed != o.smoothed {
		return sd.smoothed > o.smoothed
	}
	return better(sd.screen, o.screen)
}

// chooseRates picks a strategy's rate from its short runs (all rates of
// every head variant, on the same folds and budget): the best, as the
// comparison chooses its rate, and a runner-up when the short run cannot
// separate it from the best (within one binomial standard error). A short
// run is a noisy judge of rates, and biased towards those that learn fast
// (Wu et al., "Understanding short-horizon bias", 2018), so that rate also
// gets the full budget. second is the zero trial when there is none.
//
// Choosing the rate on the curve smoothed over neighbouring rates, as
// strategies are ranked, was tried on the five Fashion-MNIST settings of
// docs/advise.md's validation (2026-12-07): the same recommendations,
// regret 1.6 → 1.7 points on one setting and one tie that no longer held
// the comparison's winner, so the rate stays the best unsmoothed one.
//
// Under RateSmoothed (and RatePooled, whose race searches one seed, so
// that there is nothing to pool) the race chooses as such a comparison does: the rate
// best on the smoothed curve, with no runner-up.
func chooseRates(all []RaceTrial, rule string) (best, second RaceTrial) {
	if len(all) == 0 {
		return best, second
	}
	if rule == RateSmoothed || rule == RatePooled {
		if i, ok := SmoothedBestRate(searchOf(all)); ok {
			return all[i], second
		}
	}
	ranked := slices.Clone(all)
	sort.SliceStable(ranked, func(i, j int) bool { return better(ranked[i], ranked[j]) })
	best = ranked[0]
	if len(ranked) > 1 && ranked[1].Status == "ok" && best.Status == "ok" {
		p, n := best.ValAcc, float64(max(best.ValImages, 1))
		if ranked[1].ValAcc >= p-math.Sqrt(p*(1-p)/n) {
			second = ranked[1]
		}
	}
	return best, second
}

// searchOf is race trials as a comparison's rate search, for
// SmoothedSelectionScore: the raw head apart from the standardized one.
func searchOf(ts []RaceTrial) []LRTrial {
	out := make([]LRTrial, len(ts))
	for i, t := range ts {
		out[i] = LRTrial{LR: t.LR, ValAcc: t.ValAcc, Epochs: t.Epochs, Status: t.Status}
		if t.Raw {
			out[i].Head = "raw"
		}
	}
	return out
}

// mean is the selection score averaged over the seeds that ran ok.
func (sd *standing) mean() float64 {
	ts := sd.ok()
	var m float64
	for _, t := range ts {
		m += t.ValAcc / float64(len(ts))
	}
	return m
}

// seedAdjusted scores every strategy that ran the full budget on a common
// footing: its mean over the seeds it ran, each seed's reading less that
// seed's effect. The effects and scores are the least-squares fit of an
// additive model, score = strategy + seed, to every seed's reading (an
// incomplete block design: the seeds are blocks, and not every strategy
// runs every seed). effects[k] is seed k+1's, centred on zero over the
// seeds raced, so that a score estimates the strategy's mean over them
// all.
//
// It is reported (RaceEntry.Adjusted, RaceResult.SeedEffects), not ranked
// on. A seed is a sample of the shots, the largest source of variance at
// a few images per class, and the seeds rung runs only some strategies on
// the later seeds, so a plain mean credits a strategy with whatever its
// seeds were like; the fit corrects that where seeds are alike for every
// strategy. They are not: seed 3 of FM odd → even at 10 shots read 15
// points easy by the pretrained strategies that ran it, and the fit
// credited scratch, which never ran it, with those 15 points — and
// recommended it, 7.4 points below the comparison's winner. Ranked on
// the fit, races under the same budget scored 2.16 points of mean regret
// on docs/advise.md's sixteen settings; ranked on the plain mean, 1.57,
// and lower on six of seven race sets re-ranked offline
// (scripts/seed_rules_offline.py), at a Kendall τ 0.02 lower.
//
// Where every strategy ran the same seeds the effects leave the order
// and the scores unchanged: each score is the plain mean.
func seedAdjusted(sds []*standing) (score map[*standing]float64, effects []float64) {
	type cell struct {
		sd   *standing
		seed int
		y    float64
	}
	var cells []cell
	seeds := 0
	for _, sd := range sds {
		for _, t := range sd.ok() {
			cells = append(cells, cell{sd, t.Seed, t.ValAcc})
			seeds = max(seeds, t.Seed)
		}
	}
	score = map[*standing]float64{}
	effects = make([]float64, seeds)
	if len(cells) == 0 {
		return score, effects
	}
	// Alternating means (Gauss–Seidel on the normal equations) converge to
	// the least-squares fit when the design is connected, and it is: every
	// strategy on the full budget ran the first seed.
	for iter := 0; iter < 500; iter++ {
		sum, n := map[*standing]float64{}, map[*standing]int{}
		for _, c := range cells {
			sum[c.sd] += c.y - effects[c.seed-1]
			n[c.sd]++
		}
		for sd := range sum {
			score[sd] = sum[sd] / float64(n[sd])
		}
		es, en := make([]float64, seeds), make([]int, seeds)
		for _, c := range cells {
			es[c.seed-1] += c.y - score[c.sd]
			en[c.seed-1]++
		}
		var centre float64
		ran := 0
		for k := range es {
			if en[k] > 0 {
				es[k] /= float64(en[k])
				centre += es[k]
				ran++
			}
		}
		change := 0.0
		for k := range es {
			if en[k] > 0 {
				es[k] -= centre / float64(ran)
			}
			change = math.Max(change, math.Abs(es[k]-effects[k]))
		}
		effects = es
		if change < 1e-12 {
			break
		}
	}
	for sd := range score {
		var s float64
		ts := sd.ok()
		for _, t := range ts {
			s += (t.ValAcc - effects[t.Seed-1]) / float64(len(ts))
		}
		score[sd] = s
	}
	return score, effects
}

func (r *racer) run(ctx context.Context) error {
	c := r.c
	strats := slices.Clone(c.Strategies)
	if r.o.Order != nil {
		sort.SliceStable(strats, func(i, j int) bool { return r.o.Order[strats[i].Name] > r.o.Order[strats[j].Name] })
	}
	full := c.Budget.Epochs
	screen := min(r.res.ScreenEpochs, full)
	var st []*standing
	// Rung 1: rates, on the short budget.
	for _, s := range strats {
		sd := &standing{s: s}
		var all []RaceTrial
		for _, raw := range c.headArms(s) {
			var arm RaceTrial
			tried, err := searchRates(c.LRGrid, func(lr float64) (bool, error) {
				t, err := r.trial(ctx, "rates", s, lr, raw, screen, 1, false)
				if err != nil {
					return false, err
				}
				all = append(all, t)
				if arm.Status == "" || better(t, arm) {
					arm = t
					return t.Status == "ok", nil
				}
				return false, nil
			})
			if err != nil {
				return err
			}
			sd.rates += len(tried)
		}
		sd.smoothed, _ = SmoothedSelectionScore(searchOf(all))
		sd.screen, sd.second = chooseRates(all, c.RateChoice)
		st = append(st, sd)
	}
	// The full comparison's cost, from the short runs' cost per epoch:
	// per seed, every rate tried on every fold for the whole budget, and
	// a refit on every shot (about one fold's training on 1/(1−val) as
	// many images).
	sp1, err := r.split(1)
	if err != nil {
		return err
	}
	folds := len(sp1.folds)
	// One selection run (every fold, the whole budget): what the
	// strategy's full-budget runs took, early stops included, once there
	// are any; before, the short runs' cost per fold-epoch times the
	// budget (an overestimate: short runs carry a larger share of fixed
	// costs, and nothing stops early).
	//
	// The budget is kept in GFLOP, the arithmetic each run counts, where
	// every short run counted it (and the measurements did): a unit that
	// is the same from run to run, so that a race is reproducible and
	// which strategies fit on a later seed does not turn on the machine's
	// load at that moment (in seconds the same short runs read 0.29 s in
	// one race and 0.39 s in the next). FLOPs leave out what does not
	// scale with the arithmetic (per-step overheads, BatchNorm, the
	// optimizer step), so they read cheap runs cheaper than seconds do;
	// the seconds are kept beside them, and advise reports both shares.
	r.res.Unit = "gflop"
	for _, t := range r.res.Trials {
		if t.GFLOP <= 0 && t.Status == "ok" {
			r.res.Unit = "seconds"
		}
	}
	if r.o.Spent > 0 && r.o.SpentGFLOP <= 0 {
		r.res.Unit = "seconds"
	}
	secondsOf := func(t RaceTrial) float64 { return t.Seconds }
	gflopOf := func(t RaceTrial) float64 { return t.GFLOP }
	costOf, spent := secondsOf, r.o.Spent
	if r.res.Unit == "gflop" {
		costOf, spent = gflopOf, r.o.SpentGFLOP
	}
	runCostIn := func(cost func(RaceTrial) float64, sd *standing) float64 {
		var secs, short float64
		n, ep := 0, 0
		for _, t := range r.res.Trials {
			switch {
			case t.Strategy != sd.s.Name:
			case t.Rung != "rates":
				secs += cost(t)
				n++
			default:
				short += cost(t)
				ep += t.EpochsRun
			}
		}
		if n > 0 {
			return secs / float64(n)
		}
		return short / float64(max(ep, 1)) * float64(full*folds)
	}
	runCost := func(sd *standing) float64 { return runCostIn(costOf, sd) }
	// The rates a comparison tries per seed: the grid for each head, and
	// past an edge where its best full-budget rate sits — once per run in
	// the median on the sixteen validation comparisons of docs/advise.md
	// (0–4 times, 1.2 on average), and so counted once per head. The
	// short runs' own count is no guide: a short run favours fast, high
	// rates and extends further (six rates where the comparison tried
	// four), which read the comparison high and let the race spend past
	// its share. Counting the grid alone read it low: the races spent a
	// fifth less, and chose worse (docs/advise.md, "Compute, measured").
	rates := func(sd *standing) int {
		return min(sd.rates, (len(c.LRGrid)+1)*len(c.headArms(sd.s)))
	}
	fullCostIn := func(cost func(RaceTrial) float64, sd *standing) float64 {
		perRun := runCostIn(cost, sd)
		return float64(c.Seeds) * (perRun*float64(rates(sd)) + perRun/float64(folds)/(1-c.ValFraction))
	}
	fullCost := func(sd *standing) float64 { return fullCostIn(secondsOf, sd) }
	// Re-estimated as full-budget runs measure their cost.
	fullEstimateIn := func(cost func(RaceTrial) float64) float64 {
		var total float64
		for _, sd := range st {
			total += fullCostIn(cost, sd)
		}
		return total
	}
	spentIn := func(cost func(RaceTrial) float64) float64 {
		var total float64
		for _, t := range r.res.Trials {
			total += cost(t)
		}
		return total
	}
	allowed := func() float64 { return r.o.Budget*fullEstimateIn(costOf) - spent }
	fits := func(sd *standing) bool {
		return spentIn(costOf)+runCost(sd) <= allowed()
	}
	// Rung 2: strategies, on the full budget, best smoothed screen first;
	// then the runner-up rates, while the budget allows. A strategy keeps
	// the better of its two.
	order := slices.Clone(st)
	sort.SliceStable(order, func(i, j int) bool { return order[i].aheadOf(order[j]) })
	ran := 0
	for _, sd := range order {
		if sd.screen.Status != "ok" {
			continue
		}
		if ran >= 2 && !fits(sd) {
			r.res.BudgetCut = true
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s was not run on the full budget: the budget (%.0f%% of the comparison) was spent", sd.s.Name, 100*r.o.Budget))
			continue
		}
		t, err := r.trial(ctx, "strategies", sd.s, sd.screen.LR, sd.screen.Raw, full, 1, true)
		if err != nil {
			return err
		}
		sd.arms = []RaceTrial{t}
		sd.full = append(sd.full, t)
		ran++
	}
	for _, sd := range order {
		if len(sd.full) == 0 || sd.second.Status != "ok" {
			continue
		}
		if !fits(sd) {
			r.res.BudgetCut = true
			r.res.Notes = append(r.res.Notes, fmt.Sprintf("%s's runner-up rate %g was not run on the full budget: the budget was spent", sd.s.Name, sd.second.LR))
			continue
		}
		t, err := r.trial(ctx, "strategies", sd.s, sd.second.LR, sd.second.Raw, full, 1, true)
		if err != nil {
			return err
		}
		if t.Status != "ok" || sd.arms[0].Status != "ok" {
			if better(t, sd.arms[0]) {
				sd.arms[0] = t // the screen's best diverged on the full budget
			}
		} else if better(t, sd.arms[0]) {
			sd.arms = []RaceTrial{t, sd.arms[0]}
		} else {
			sd.arms = append(sd.arms, t)
		}
		sd.full[0] = armsScore(sd.arms)
	}
	// Rung 3: seeds. A race in the sense of Maron & Moore's Hoeffding
	// races (1994) and Birattari's F-race (2002): a strategy leaves only
	// when the leader's paired lead over it excludes no difference, on the
	// seeds both ran; the rest run the next seed. Halving by rank instead
	// drops strategies that a few images per class cannot separate from
	// the leader — at five images per class the seed-1 order of the top
	// six is noise — and the cheap ones (a head on cached features) cost
	// next to nothing to keep.
	var alive []*standing
	for _, sd := range order {
		if len(sd.full) > 0 && sd.full[0].Status == "ok" {
			alive = append(alive, sd)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for seed := 2; seed <= c.Seeds; seed++ {
		alive = r.survivors(alive, rng)
		for _, sd := range alive {
			if !fits(sd) {
				r.res.BudgetCut = true
				r.res.Notes = append(r.res.Notes, fmt.Sprintf("seed %d of %s was not run: the budget (%.0f%% of the comparison) was spent", seed, sd.s.Name, 100*r.o.Budget))
				continue
			}
			var ts []RaceTrial
			for i, a := range sd.arms {
				if i > 0 && !fits(sd) {
					r.res.BudgetCut = true
					r.res.Notes = append(r.res.Notes, fmt.Sprintf("seed %d of %s ran at %g only: the budget (%.0f%% of the comparison) was spent", seed, sd.s.Name, sd.arms[0].LR, 100*r.o.Budget))
					break
				}
				t, err := r.trial(ctx, "seeds", sd.s, a.LR, a.Raw, full, seed, true)
				if err != nil {
					return err
				}
				ts = append(ts, t)
			}
			sd.full = append(sd.full, armsScore(ts))
		}
	}
	r.res.FullSeconds = fullEstimateIn(secondsOf)
	if r.res.Unit == "gflop" {
		r.res.FullGFLOP, r.res.GFLOP = fullEstimateIn(gflopOf), spentIn(gflopOf)
	}
	r.res.Entries = nil
	score, effects := seedAdjusted(st)
	r.res.SeedEffects = effects
	for _, sd := range st {
		chosen := sd.screen
		if len(sd.full) > 0 {
			chosen = sd.full[0]
		}
		e := RaceEntry{Strategy: sd.s.Name, Rung: "rates", LR: chosen.LR, Epochs: sd.screen.Epochs, ValAcc: sd.smoothed,
			Status: sd.screen.Status, ValImages: sd.screen.ValImages, FullSeconds: fullCost(sd), Seeds: 1}
		if chosen.Raw {
			e.Head = "raw"
		} else if len(c.headArms(sd.s)) > 1 {
			e.Head = "standardized"
		}
		for _, t := range r.res.Trials {
			if t.Strategy == sd.s.Name {
				e.Seconds += t.Seconds
			}
		}
		ok := sd.ok()
		if len(sd.full) > 0 {
			e.Rung, e.Status = "strategies", sd.full[0].Status
			if len(sd.full) > 1 {
				e.Rung = "seeds"
			}
			e.Epochs, e.Trainable = sd.full[0].Epochs, sd.full[0].Trainable
		}
		if len(ok) > 0 {
			e.Seeds, e.ValImages, e.ValAcc, e.Adjusted = len(ok), 0, sd.mean(), score[sd]
			for _, t := range ok {
				e.ValImages += t.ValImages
			}
			e.Low, e.High = trialInterval(ok, rand.New(rand.NewPCG(1, 2)))
		} else {
			e.Low, e.High = e.ValAcc, e.ValAcc
		}
		r.res.Entries = append(r.res.Entries, e)
		r.full[e.Strategy] = ok
	}
	return nil
}

// rank orders the entries: those that ran the full budget by their mean
// over the seeds they ran, above those the short rung stopped (whose
// score is a short run's); and measures the best's lead over every other
// strategy that ran the full budget. A strategy the seeds rung did not
// continue is not ranked below those it did by that alone: the budget,
// not a verdict, stops most of them.
func (r *racer) rank() {
	es := r.res.Entries
	full := func(e RaceEntry) bool { return e.Rung != "rates" }
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if (a.Status == "ok") != (b.Status == "ok") {
			return a.Status == "ok"
		}
		if full(a) != full(b) {
			return full(a)
		}
		return a.ValAcc > b.ValAcc
	})
	r.res.TiedWithBest = nil
	if len(es) == 0 || len(r.full[es[0].Strategy]) == 0 {
		return
	}
	rng := rand.New(rand.NewPCG(3, 4))
	best := r.full[es[0].Strategy]
	r.res.TiedWithBest = []string{es[0].Strategy}
	for i := 1; i < len(es); i++ {
		other := r.full[es[i].Strategy]
		if len(other) == 0 {
			continue
		}
		m, ok := pairedTrials(best, other, rng)
		if !ok {
			continue
		}
		es[i].Margin = &m
		if m.Low <= 0 {
			r.res.TiedWithBest = append(r.res.TiedWithBest, es[i].Strategy)
		}
	}
}

// pairedTrials is a's lead over b on the seeds both ran: the difference of
// their selection scores, with the 95% interval of a bootstrap of the
// validation images (the same images for both) of the difference in which
// images their best-epoch models got right, centred on the scores'
// difference. The seeds are not resampled: they are the comparison's own
// samples of the shots, which the advice is about, and three are too few
// to resample.
//
// One image is added to each side of the disagreement, as Agresti & Min
// (2005) add to the cells of a paired table: on fifteen validation images
// two strategies often get exactly the same ones right, and the resampled
// difference would then be nil and the interval a point, though their
// scores (smoothed over epochs) differ — a lead of a few points declared
// certain, and a strategy wrongly out of the tie.
func pairedTrials(a, b []RaceTrial, rng *rand.Rand) (Interval, bool) {
	type pair struct {
		wa, wb int // images only a, only b got right
		n      int
		score  float64
	}
	var ps []pair
	for _, ta := range a {
		for _, tb := range b {
			if ta.Seed != tb.Seed || ta.ValImages != tb.ValImages || len(ta.Correct) != len(tb.Correct) || ta.ValImages == 0 {
				continue
			}
			p := pair{n: ta.ValImages, score: ta.ValAcc - tb.ValAcc}
			for i := 0; i < p.n && i/8 < len(ta.Correct); i++ {
				x, y := bit(ta.Correct, i), bit(tb.Correct, i)
				switch {
				case x && !y:
					p.wa++
				case y && !x:
					p.wb++
				}
			}
			ps = append(ps, p)
		}
	}
	if len(ps) == 0 {
		return Interval{}, false
	}
	var diff, obs float64
	for _, p := range ps {
		diff += p.score / float64(len(ps))
		obs += float64(p.wa-p.wb) / float64(p.n) / float64(len(ps))
	}
	lo, hi := percentiles(func() float64 {
		var tot float64
		for _, p := range ps {
			tot += (poisson(rng, p.wa+1) - poisson(rng, p.wb+1)) / float64(p.n)
		}
		return tot / float64(len(ps))
	})
	// Rounded to far below one image in a million: the score and the
	// images right are the same counts computed two ways, and a tie
	// decided by Low ≤ 0 should not turn on their last bit.
	round := func(x float64) float64 {
		if r := math.Round(x*1e12) / 1e12; r != 0 {
			return r
		}
		return 0 // not −0, which prints as "-0.0"
	}
	return Interval{Diff: round(diff), Low: round(diff + lo - obs), High: round(diff + hi - obs)}, true
}

// tiedTrials says whether b's paired interval against a includes no
// difference.
func tiedTrials(a, b []RaceTrial, rng *rand.Rand) bool {
	m, ok := pairedTrials(a, b, rng)
	return ok && m.Low <= 0
}

// trialInterval is the 95% interval of a strategy's mean selection score
// over its seeds: validation images resampled within each seed, the
// spread of the images it got right carried over to the score.
func trialInterval(ts []RaceTrial, rng *rand.Rand) (lo, hi float64) {
	type unit struct {
		hits, n int
		score   float64
	}
	var us []unit
	var mean, obs float64
	for _, t := range ts {
		u := unit{n: t.ValImages, score: t.ValAcc}
		for i := 0; i < u.n && i/8 < len(t.Correct); i++ {
			if bit(t.Correct, i) {
				u.hits++
			}
		}
		if u.n == 0 {
			continue
		}
		us = append(us, u)
		mean += u.score
		// One hit and one miss added, as pairedTrials adds a disagreement:
		// a seed whose model got all its images right would otherwise
		// resample to an interval of nothing.
		obs += float64(u.hits+1) / float64(u.n+2)
	}
	if len(us) == 0 {
		return 0, 0
	}
	mean /= float64(len(us))
	obs /= float64(len(us))
	lo, hi = percentiles(func() float64 {
		var tot float64
		for _, u := range us {
			// Hits and misses both drawn: the resampled set's size
			// varies as a bootstrap sample's share of images does.
			h, m := poisson(rng, u.hits+1), poisson(rng, u.n-u.hits+1)
			if h+m > 0 {
				tot += h / (h + m)
			}
		}
		return tot / float64(len(us))
	})
	return math.Max(0, mean+lo-obs), math.Min(1, mean+hi-obs)
}

// readRace reads a previous race's state; nil when there is none.
func readRace(path string) (*RaceResult, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r RaceResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, &DamagedError{Path: path, Err: fmt.Errorf("%w; delete it to start the race over", err)}
	}
	return &r, nil
}

// raceDiff names what differs between two races' settings.
func raceDiff(a, b *RaceResult) string {
	if d := specDiff(a.Spec, b.Spec); d != "" {
		return d
	}
	if a.Shots != b.Shots {
		return fmt.Sprintf("shots %d, now %d", a.Shots, b.Shots)
	}
	return fmt.Sprintf("budget %g, now %g", a.Budget, b.Budget)
}
