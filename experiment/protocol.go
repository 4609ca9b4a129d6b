package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// split is one (shots, seed): every shot, and the folds that choose the
// settings. All strategies share it, and with it the frozen-feature cache.
type split struct {
	key   string
	all   *data.Subset  // every shot: what the refit trains on
	allL  feed          // empty under the holdout protocol
	folds []foldLoaders // validation folds (one under holdout)
	cache *fit.FeatureCache
	// preciseBN: the training sets are small enough that BatchNorm
	// statistics are re-estimated before every evaluation.
	preciseBN bool
	valImages int // over the folds used
}

type foldLoaders struct {
	feed
	key string
}

// feed is what a trial trains and validates on: a classifier's loaders,
// or a detector's.
type feed struct {
	train, val   *data.Loader
	dtrain, dval *data.DetectionLoader
}

// trainFeed is the training loader of ds; score, when set, adds the
// loader that scores on it (a validation fold).
func (c Config) trainFeed(ds, score data.Dataset, seed int) (feed, error) {
	var f feed
	var err error
	if c.detection() != nil {
		f.dtrain, err = c.detectionLoader(ds, seed, true)
	} else {
		f.train, err = c.trainLoader(ds, seed)
	}
	if err != nil || score == nil {
		return f, err
	}
	sf, err := c.scoringFeed(score)
	f.val, f.dval = sf.val, sf.dval
	return f, err
}

// scoringFeed is the loader that scores on ds (a validation fold or the
// test set): in order, unaugmented.
func (c Config) scoringFeed(ds data.Dataset) (feed, error) {
	var f feed
	var err error
	if c.detection() != nil {
		f.dval, err = c.detectionLoader(ds, 0, false)
	} else {
		f.val, err = data.NewLoader(ds, data.LoaderConfig{BatchSize: max(c.Batch, 64), Preprocess: c.Base.Meta.Preprocess, CacheDecoded: true})
	}
	return f, err
}

// sample draws the shots of one seed: k per class, or all a short class has.
func (c Config) sample(shots, seed int) (data.Dataset, error) {
	if shots == 0 {
		return c.Train, nil
	}
	if det := c.detection(); det != nil {
		return c.sampleDetection(det, shots, seed)
	}
	var opts []data.SampleOption
	if !c.ShotsStrict {
		opts = append(opts, data.AllowFewer())
	}
	sub, err := data.KShot(c.Train, shots, uint64(seed), opts...)
	if err != nil {
		return nil, fmt.Errorf("%d shots: %w (or drop --shots-strict to let short classes give what they have)", shots, err)
	}
	return sub, nil
}

func (c Config) makeSplit(shots, seed int) (*split, error) {
	ds, err := c.sample(shots, seed)
	if err != nil {
		return nil, err
	}
	groups, _, err := data.Grouping(ds, c.Group)
	if err != nil {
		return nil, fmt.Errorf("%d shots: --group: %w", shots, err)
	}
	sp := &split{key: fmt.Sprintf("shots=%d/seed=%d", shots, seed), cache: fit.NewFeatureCache(fit.DefaultCacheBytes)}
	if sub, ok := ds.(*data.Subset); ok {
		sp.all = sub
	} else {
		idx := make([]int, ds.Len())
		for i := range idx {
			idx[i] = i
		}
		sp.all = &data.Subset{Base: ds, Indices: idx}
	}
	// Precise BatchNorm is for classifiers (fit refuses it for a task).
	sp.preciseBN = ds.Len() <= PreciseBNImages && c.detection() == nil
	var folds []data.Fold
	if c.Protocol == ProtocolHoldout {
		tr, va, err := data.StratifiedSplitGroups(ds, c.ValFraction, uint64(seed), groups)
		if err != nil {
			return nil, fmt.Errorf("%d shots: validation split: %w", shots, err)
		}
		folds = []data.Fold{{Train: tr, Val: va}}
	} else {
		k := max(2, int(math.Round(1/c.ValFraction)))
		all, err := data.StratifiedFolds(ds, k, uint64(seed), groups)
		if err != nil {
			return nil, fmt.Errorf("%d shots: validation folds: %w", shots, err)
		}
		// Folds without validation images (classes too small) are no use.
		all = slices.DeleteFunc(all, func(f data.Fold) bool { return f.Val.Len() == 0 })
		if len(all) == 0 {
			return nil, fmt.Errorf("%d shots: no validation fold has an image; add data or use --protocol holdout", shots)
		}
		folds = all[:foldsFor(all[0].Val.Len(), len(all), c.Folds)]
	}
	for i, f := range folds {
		fd, err := c.trainFeed(f.Train, f.Val, seed)
		if err != nil {
			return nil, err
		}
		sp.folds = append(sp.folds, foldLoaders{feed: fd, key: fmt.Sprintf("%s/fold=%d", sp.key, i)})
		sp.valImages += f.Val.Len()
	}
	if c.Protocol == ProtocolRefit {
		if sp.allL, err = c.trainFeed(ds, nil, seed); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

func (c Config) trainLoader(ds data.Dataset, seed int) (*data.Loader, error) {
	batch, dropLast := FewShotBatch(c.Batch, ds.Len())
	return data.NewLoader(ds, data.LoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast,
		Seed: uint64(seed), Preprocess: c.Base.Meta.Preprocess, Augment: c.Augment, CacheDecoded: true})
}

// ShortClassesOf lists, per shots setting, the classes of ds with images
// but fewer than shots of them (those give all they have).
func ShortClassesOf(ds data.Dataset, shots []int) []ShortClasses {
	return shortClassesFrom(data.ClassCounts(ds), ds.Classes(), shots)
}

// shortClassesFrom lists, per shots setting, the classes with a count of
// images above zero and below shots.
func shortClassesFrom(counts []int, classes []string, shots []int) []ShortClasses {
	var out []ShortClasses
	for _, k := range shots {
		if k == 0 {
			continue
		}
		sc := ShortClasses{Shots: k, Fewest: k}
		for cl, n := range counts {
			if n > 0 && n < k {
				sc.Count++
				sc.Classes = append(sc.Classes, classes[cl])
				sc.Fewest = min(sc.Fewest, n)
			}
		}
		if sc.Count > 0 {
			out = append(out, sc)
		}
	}
	return out
}

// shortClasses reports the short classes, or refuses them under
// ShotsStrict.
func (c Config) shortClasses() ([]ShortClasses, error) {
	out := ShortClassesOf(c.Train, c.Shots)
	if det := c.detection(); det != nil {
		out = detectionShortClasses(det, c.Shots)
	}
	if c.ShotsStrict && len(out) > 0 {
		sc := out[0]
		return nil, fmt.Errorf("%d shots: %d classes have fewer images (%q has %d); lower --shots or drop --shots-strict to let them give what they have",
			sc.Shots, sc.Count, sc.Classes[0], sc.Fewest)
	}
	return out, nil
}

// SplitsFile is splits.json: the images of every (shots, seed) and of the
// test set, by source, so that another program (bench/plain.py) trains
// and tests on exactly what graft did.
type SplitsFile struct {
	Schema  int         `json:"schema"`
	Train   string      `json:"train"`
	Test    string      `json:"test"`
	Classes []string    `json:"classes"`
	TestSet SplitImages `json:"test_set"`
	Splits  []SplitSet  `json:"splits"`
}

// SplitImages are images by source with their labels.
type SplitImages struct {
	Sources []string `json:"sources"`
	Labels  []int    `json:"labels"`
}

// SplitSet is every training shot of one (shots, seed).
type SplitSet struct {
	Shots int `json:"shots"`
	Seed  int `json:"seed"`
	SplitImages
}

func images(ds data.Dataset) SplitImages {
	out := SplitImages{Sources: make([]string, ds.Len()), Labels: make([]int, ds.Len())}
	for i := range out.Sources {
		out.Sources[i], out.Labels[i] = ds.Source(i), ds.Label(i)
	}
	return out
}

// writeSplits writes splits.json beside results.json.
func (c Config) writeSplits() error {
	f := SplitsFile{Schema: 1, Train: c.Spec.Train, Test: c.Spec.Test, Classes: c.Train.Classes(), TestSet: images(c.Test)}
	for _, k := range c.Shots {
		for seed := 1; seed <= c.Seeds; seed++ {
			ds, err := c.sample(k, seed)
			if err != nil {
				return err
			}
			f.Splits = append(f.Splits, SplitSet{Shots: k, Seed: seed, SplitImages: images(ds)})
		}
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return safefile.WriteBytes(filepath.Join(c.Out, "splits.json"), append(b, '\n'))
}

// trialFor is a training of job j at rate lr on train (validated on val
// when not nil) for budget.
func (c Config) trialFor(j job, f feed, key string, cache *fit.FeatureCache, lr float64, budget strategy.Budget, precise bool, events fit.Events) Trial {
	return Trial{Base: c.Base, Strategy: j.strategy, Train: f.train, Val: f.val, DetTrain: f.dtrain, DetVal: f.dval, Classes: len(c.Train.Classes()),
		Seed: uint64(j.seed), LR: lr, Budget: budget, Batch: c.Batch, ClassMap: c.ClassMap, Cache: cache,
		TrainKey: key + "/train", ValKey: key + "/val", Events: events, TrainBN: c.TrainBN, Device: c.Device,
		Precision: c.Precision, PreciseBN: precise, MinShare: DefaultMinShare}
}

// selectionBudget is the budget of a selection run: the comparison's
// epochs, with patience at least PatienceShare of them.
func (c Config) selectionBudget() strategy.Budget {
	b := c.Budget
	if c.Protocol == ProtocolRefit && b.Patience > 0 {
		b.Patience = max(b.Patience, int(math.Ceil(PatienceShare*float64(b.Epochs))))
	}
	return b
}

// rateResult is one rate's selection: its mean curve and chosen length.
type rateResult struct {
	lr      float64
	raw     bool // the head trained on raw, not standardised, features
	status  string
	acc     float64 // smoothed mean validation accuracy at the chosen length
	loss    float64
	epochs  int
	ran     int // epochs the longest fold ran
	trained int // epochs run over all folds: the work done
	// flops is the arithmetic over all folds (fit.Result.FLOPs), the
	// validation pass of keepCorrect included; 0 where any fold's could
	// not be counted.
	flops    float64
	hist     []fit.EpochStats
	err      string
	model    fitted // holdout: the trained model, kept for the best rate
	trainabl int64
	// correct: per validation image over the folds, whether the fold's
	// best-epoch model got it right (kept only when asked for).
	correct []bool
}

// selectRate trains a job at one rate on every fold of the split and
// scores it by the selection rule: the smoothed mean validation curve
// and the length it supports. keepCorrect also records which validation
// images each fold's best-epoch model got right.
func (c Config) selectRate(ctx context.Context, j job, sp *split, lr float64, raw bool, budget strategy.Budget, window int, events fit.Events, keepCorrect bool) *rateResult {
	rr := &rateResult{lr: lr, raw: raw, status: "ok"}
	var hists [][]fit.EpochStats
	counted := true
	defer func() {
		if !counted {
			rr.flops = 0
		}
	}()
	for _, f := range sp.folds {
		tr := c.trialFor(j, f.feed, f.key, sp.cache, lr, budget, sp.preciseBN, events)
		tr.RawHead = raw
		out, err := tr.Run(ctx)
		if err != nil {
			rr.status, rr.err = "failed", err.Error()
			return rr
		}
		rr.flops += out.FLOPs
		counted = counted && out.FLOPs > 0
		if out.Status != "ok" {
			if out.Model != nil {
				out.Model.Free()
			}
			rr.status = out.Status
			return rr
		}
		hists = append(hists, out.Result.History)
		rr.trained += len(out.Result.History)
		rr.trainabl = out.Trainable
		if rr.hist == nil {
			rr.hist = out.Result.History
		}
		if c.Protocol == ProtocolHoldout {
			rr.model = fitted{out.Model, out.Detector}
			rr.acc, rr.loss, rr.epochs, rr.ran = out.ValAcc, out.ValLoss, out.Result.BestEpoch, out.Result.Epochs
			return rr
		}
		if keepCorrect {
			var r Run
			if err := c.test(ctx, out.Model, f.val, c.evalConfig(), &r); err != nil {
				out.Model.Free()
				rr.status, rr.err = "failed", "validation: "+err.Error()
				return rr
			}
			for i := 0; i < f.val.Dataset().Len(); i++ {
				rr.correct = append(rr.correct, bit(r.TestCorrect, i))
			}
			rr.flops += evalFLOPs(out.Model, f.val)
		}
		out.Model.Free()
	}
	cv := foldCurve(hists, budget.Epochs, window)
	rr.ran = cv.ran
	rr.epochs, rr.acc, rr.loss = cv.choose(sp.valImages)
	return rr
}

// evalFLOPs is a forward pass of m over l's images (0 where it cannot be
// counted).
func evalFLOPs(m *nn.Model, l *data.Loader) float64 {
	if l == nil {
		return 0
	}
	h, w, err := l.InputSize()
	if err != nil {
		return 0
	}
	n, err := m.FLOPs(h, w)
	if err != nil {
		return 0
	}
	return float64(n) * float64(l.Dataset().Len())
}

// headArms are the heads a strategy's selection tries: a new head on
// frozen features trains on standardised features by default (fast to
// converge where features share a large mean), but on a few images that
// speed can overfit where the raw features' slower head does not; both
// are cheap on cached features, so the selection tries both (raw = true)
// and keeps what validation prefers. Other strategies, and heads started
// from a class map (which expect raw features), have one.
func (c Config) headArms(s strategy.Strategy) []bool {
	if plan, err := s.Plan(c.Base.Shape(), c.Budget); err == nil && plan.StandardizeHead && c.ClassMap == nil {
		return []bool{false, true}
	}
	return []bool{false}
}

// runOne adapts the base for one job and tests the model it gives.
// progressMu serialises progress reports from concurrent workers.
func (c Config) runOne(ctx context.Context, i, n int, j job, sp *split, test feed, progressMu *sync.Mutex) Run {
	model, run := c.adapt(ctx, i, n, j, sp, progressMu)
	return c.tested(ctx, model, run, test)
}

// tested scores a run's model (none when the run failed) on the test set
// into the run, and frees the model.
func (c Config) tested(ctx context.Context, model fitted, run Run, test feed) Run {
	if model.m == nil {
		return run
	}
	defer model.free()
	if err := c.testFitted(ctx, model, test, &run); err != nil {
		run.Status, run.Error = "failed", "test: "+err.Error()
	}
	return run
}

// fitted is a trained model: a classifier, or a detector and the network
// it wraps.
type fitted struct {
	m   *nn.Model
	det *detect.Model // a detector, whose Model is m; nil for a classifier
}

func (f fitted) free() {
	if f.m != nil {
		f.m.Free()
	}
}

// testFitted scores a trained model on the test set.
func (c Config) testFitted(ctx context.Context, f fitted, test feed, run *Run) error {
	if f.det != nil {
		return c.testDetector(ctx, f.det, test.dval, run)
	}
	return c.test(ctx, f.m, test.val, c.evalConfig(), run)
}

// evalConfig evaluates a model where and how its training left it.
func (c Config) evalConfig() fit.Config {
	return fit.Config{BatchSize: c.Batch, Device: c.Device, ChannelsLast: c.Base.channelsLast(c.Device), Precision: c.Precision}
}

// adapt chooses a job's rate and length on the split's folds (extending
// the grid when the best rate sits at its edge), then — under the refit
// protocol — trains on every shot with them and returns that model; under
// holdout, the best-epoch weights of the chosen rate's training. The model
// is nil when the run failed (run says why).
func (c Config) adapt(ctx context.Context, i, n int, j job, sp *split, progressMu *sync.Mutex) (fitted, Run) {
	s := c.newSearcher(i, n, j, sp, progressMu)
	s.search(ctx)
	chosen := s.best
	if c.RateChoice == RateSmoothed && c.Protocol == ProtocolRefit {
		// run.LRSearch and results are in the same order. Under refit no
		// rate's model is kept: the refit trains at the chosen rate anew.
		if k, ok := SmoothedBestRate(s.run.LRSearch); ok {
			chosen = s.results[k]
		}
	}
	return s.finish(ctx, chosen)
}

// searcher is one job's rate search: every rate tried on the split's
// folds, in order, and the best so far.
type searcher struct {
	c        Config
	j        job
	sp       *split
	run      Run
	results  []*rateResult // in run.LRSearch's order
	best     *rateResult
	budget   strategy.Budget
	window   int
	events   fit.Events
	heads    []bool
	announce func(lr float64)
	secs     float64 // spent training, this job's alone
	// flops is the same training's arithmetic; uncounted once any run's
	// could not be counted.
	flops     float64
	uncounted bool
}

func (c Config) newSearcher(i, n int, j job, sp *split, progressMu *sync.Mutex) *searcher {
	s := &searcher{c: c, j: j, sp: sp, budget: c.selectionBudget(), heads: c.headArms(j.strategy),
		run: Run{Strategy: j.strategy.Name, Shots: j.shots, Seed: j.seed, Status: "ok", PreciseBN: sp.preciseBN}}
	s.window = smoothWindow(s.budget.Epochs)
	if c.Protocol == ProtocolHoldout {
		s.window = 1
	}
	if c.Progress != nil {
		s.events = lockedEvents{c.Progress, progressMu}
	}
	s.announce = func(lr float64) {
		if c.Progress != nil {
			progressMu.Lock()
			c.Progress.RunStart(i, n, j.strategy.Name, j.shots, j.seed, lr)
			progressMu.Unlock()
		}
	}
	return s
}

// betterRate says whether rate result a beats b.
func betterRate(a, b *rateResult) bool {
	if b == nil || b.status != "ok" {
		return a.status == "ok"
	}
	return a.status == "ok" && (a.acc > b.acc || (a.acc == b.acc && a.loss < b.loss))
}

func (s *searcher) headName(raw bool) string {
	if len(s.heads) == 1 {
		return ""
	}
	if raw {
		return "raw"
	}
	return "standardized"
}

// find is the result of (raw, lr) if it was tried.
func (s *searcher) find(raw bool, lr float64) *rateResult {
	for _, r := range s.results {
		if r.raw == raw && r.lr == lr {
			return r
		}
	}
	return nil
}

// consider trains one rate on every fold and records it.
func (s *searcher) consider(ctx context.Context, lr float64, raw bool) *rateResult {
	if !slices.Contains(s.c.LRGrid, lr) && !slices.Contains(s.run.LRExtended, lr) {
		s.run.LRExtended = append(s.run.LRExtended, lr)
	}
	s.announce(lr)
	start := time.Now()
	rr := s.c.selectRate(ctx, s.j, s.sp, lr, raw, s.budget, s.window, s.events, false)
	s.secs += time.Since(start).Seconds()
	s.count(rr.flops)
	s.results = append(s.results, rr)
	t := LRTrial{LR: lr, Head: s.headName(raw), Status: rr.status, ValAcc: rr.acc, Epochs: rr.ran}
	if rr.status != "ok" {
		t.ValAcc, t.Epochs = 0, 0
	}
	s.run.LRSearch = append(s.run.LRSearch, t)
	if betterRate(rr, s.best) {
		if s.best != nil {
			s.best.model.free()
		}
		s.best = rr
	} else {
		rr.model.free()
	}
	return rr
}

// count adds a run's arithmetic (0: uncounted).
func (s *searcher) count(flops float64) {
	s.flops += flops
	s.uncounted = s.uncounted || flops <= 0
}

// gflop is the job's arithmetic so far in GFLOP (0: uncounted).
func (s *searcher) gflop() float64 {
	if s.uncounted {
		return 0
	}
	return s.flops / 1e9
}

// search tries the grid for every head, extending it while the head's
// best rate sits at an edge.
func (s *searcher) search(ctx context.Context) {
	for _, raw := range s.heads {
		var arm *rateResult // the best of this head's rates
		// The search stops at an interruption (ctx's error); what was
		// measured until then stands.
		searchRates(s.c.LRGrid, func(lr float64) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			if r := s.consider(ctx, lr, raw); betterRate(r, arm) {
				arm = r
				return true, nil
			}
			return false, nil
		})
	}
}

// finish records the chosen rate (nil when none trained ok) and, under
// refit, trains on every shot with it.
func (s *searcher) finish(ctx context.Context, best *rateResult) (fitted, Run) {
	c, j, sp, run := s.c, s.j, s.sp, s.run
	run.TrainSeconds, run.TrainGFLOP = s.secs, s.gflop()
	if best == nil {
		for _, r := range s.results {
			if r.status == "failed" {
				run.Status, run.Error = "failed", r.err
				return fitted{}, run
			}
		}
		run.Status = "diverged"
		return fitted{}, run
	}
	run.LR, run.History, run.TrainableParams = best.lr, best.hist, best.trainabl
	run.Head = s.headName(best.raw)
	run.ImgPerSec = imgPerSec(best.hist)
	// Cut off: the chosen length reaches into the budget's last window
	// while the run was not stopped: more epochs might have helped.
	run.CutOff = best.ran >= s.budget.Epochs && best.epochs > s.budget.Epochs-max(1, s.window)
	run.Converged = !run.CutOff
	if c.Protocol == ProtocolHoldout {
		run.Epochs, run.BestEpoch = best.ran, best.epochs
		return best.model, run
	}
	run.Selection = &Selection{Folds: len(sp.folds), ValImages: sp.valImages, Epochs: best.epochs, ValAcc: best.acc,
		Smoothing: s.window, MinEpochs: int(math.Ceil(DefaultMinShare * float64(s.budget.Epochs)))}
	s.announce(best.lr)
	refitStart := time.Now()
	tr := c.trialFor(j, sp.allL, sp.key+"/all", sp.cache, best.lr, strategy.Budget{Epochs: best.epochs}, sp.preciseBN, s.events)
	tr.RawHead = best.raw
	out, err := tr.Run(ctx)
	refit := time.Since(refitStart).Seconds()
	run.TrainSeconds += refit
	if err == nil {
		s.count(out.FLOPs)
		run.TrainGFLOP = s.gflop()
	}
	if err != nil {
		run.Status, run.Error = "failed", "refit: "+err.Error()
		return fitted{}, run
	}
	if out.Status != "ok" {
		if out.Model != nil {
			out.Model.Free()
		}
		run.Status, run.Error = out.Status, fmt.Sprintf("refit on every shot at %g for %d epochs diverged", best.lr, best.epochs)
		return fitted{}, run
	}
	run.Refit = &Refit{Images: sp.all.Len(), Epochs: best.epochs, LR: best.lr, Seconds: refit}
	run.Epochs, run.BestEpoch = best.epochs, best.epochs
	run.History = out.Result.History
	return fitted{out.Model, out.Detector}, run
}

// runPooled adapts one strategy at one shot count on all its seeds with
// one rate (RatePooled), and tests each seed's model. Each seed searches
// as adapt does; then every seed trains the rates any other seed tried,
// so that each rate is scored on every seed's folds; the grid is extended
// while the best of the pooled curve — each rate's validation accuracy
// averaged over the seeds, then smoothed over neighbouring rates as
// RateSmoothed smooths one seed's — sits at its edge; and every seed is
// refit at that rate, for the length its own folds chose at it. A rate
// that failed or diverged on any seed is not chosen; when none trained ok
// on every seed, each seed keeps its own smoothed choice. idx are the
// jobs' positions for progress, 1-based.
func (c Config) runPooled(ctx context.Context, idx []int, n int, js []job, sps []*split, test feed, progressMu *sync.Mutex) []Run {
	ss := make([]*searcher, len(js))
	for k := range js {
		ss[k] = c.newSearcher(idx[k], n, js[k], sps[k], progressMu)
		ss[k].search(ctx)
	}
	type arm struct {
		raw bool
		lr  float64
	}
	var chosen *arm
	for ctx.Err() == nil {
		var union []arm
		for _, s := range ss {
			for _, r := range s.results {
				if a := (arm{r.raw, r.lr}); !slices.Contains(union, a) {
					union = append(union, a)
				}
			}
		}
		for _, s := range ss {
			for _, a := range union {
				if ctx.Err() == nil && s.find(a.raw, a.lr) == nil {
					s.consider(ctx, a.lr, a.raw)
				}
			}
		}
		pooled := make([]LRTrial, len(union))
		for u, a := range union {
			pooled[u] = LRTrial{LR: a.lr, Head: ss[0].headName(a.raw), Status: "ok"}
			for _, s := range ss {
				r := s.find(a.raw, a.lr)
				if r == nil || r.status != "ok" {
					pooled[u].Status, pooled[u].ValAcc = "diverged", 0
					break
				}
				pooled[u].ValAcc += r.acc / float64(len(ss))
			}
		}
		b, ok := SmoothedBestRate(pooled)
		if !ok {
			break
		}
		best := union[b]
		var rates []float64
		for _, a := range union {
			if a.raw == best.raw {
				rates = append(rates, a.lr)
			}
		}
		// Extensions so far, the seeds' own included, count against
		// MaxExtensions in each direction.
		up, down := 0, 0
		for _, lr := range rates {
			if lr > slices.Max(c.LRGrid) {
				up++
			} else if lr < slices.Min(c.LRGrid) {
				down++
			}
		}
		next, more := extendGrid(rates, best.lr, up, down)
		if !more {
			chosen = &best
			break
		}
		for _, s := range ss {
			if ctx.Err() == nil {
				s.consider(ctx, next, best.raw)
			}
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted: the unit runs again on resume
	}
	runs := make([]Run, len(ss))
	for k, s := range ss {
		var pick *rateResult
		if chosen != nil {
			pick = s.find(chosen.raw, chosen.lr)
		} else if i, ok := SmoothedBestRate(s.run.LRSearch); ok {
			pick = s.results[i]
		}
		model, run := s.finish(ctx, pick)
		runs[k] = c.tested(ctx, model, run, test)
	}
	return runs
}

func imgPerSec(h []fit.EpochStats) float64 {
	var imgs, secs float64
	for _, e := range h {
		imgs += e.ImgPerSec * e.Seconds
		secs += e.Seconds
	}
	if secs == 0 {
		return 0
	}
	return imgs / secs
}

// test scores the model on the test set, keeping which images it got
// right for the paired comparison of strategies.
func (c Config) test(ctx context.Context, m *nn.Model, test *data.Loader, cfg fit.Config, run *Run) error {
	conf := metrics.NewConfusion(test.Dataset().Classes())
	var correct []bool
	err := fit.Predict(ctx, m, test, cfg, func(_ *data.Batch, logits, labels *torch.Tensor) error {
		pred, err := logits.Argmax(1).Int64s()
		if err != nil {
			return err
		}
		truth, err := labels.Int64s()
		if err != nil {
			return err
		}
		for i := range pred {
			conf.Add(int(truth[i]), int(pred[i]))
			correct = append(correct, pred[i] == truth[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	run.TestAccuracy, run.MacroF1 = conf.Accuracy(), conf.MacroF1()
	run.Confusion = conf.M
	run.TestCorrect = correctBits(correct)
	return nil
}
