package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Config is a comparison: every strategy × shots × seed on identical
// splits, each with the same budget and the same learning-rate search.
type Config struct {
	Base       *Base
	Train      data.Dataset
	Test       data.Dataset
	Strategies []strategy.Strategy
	Shots      []int // images per class; 0 = the whole training set
	Seeds      int
	Budget     strategy.Budget
	LRGrid     []float64
	// ValFraction of each training sample is held out to choose the
	// learning rate and the epoch; never the test set.
	ValFraction float64
	Batch       int
	ClassMap    []int
	TrainBN     bool
	Augment     data.Augment
	Device      torch.Device
	Workers     int
	// Out is the folder of results.json; an existing one with the same
	// spec is resumed: finished runs are kept, the rest run.
	Out  string
	Spec Spec
	Env  Env
	// Command is recorded so the report can show how to reproduce it.
	Command  string
	Progress Progress
}

// Progress receives the comparison's progress.
type Progress interface {
	// RunStart announces run i of n (1-based).
	RunStart(i, n int, strategy string, shots, seed int, lr float64)
	// RunDone reports a finished run.
	RunDone(i, n int, r Run)
	fit.Events
}

// DefaultLRGrid is searched for every strategy: the Adam rates users try,
// about a factor of three apart, from scratch training's (1e-2) down to
// gentle fine-tuning's (3e-4).
var DefaultLRGrid = []float64{1e-2, 3e-3, 1e-3, 3e-4}

type job struct {
	strategy strategy.Strategy
	shots    int
	seed     int
}

// Compare runs the comparison, writing results.json after every run.
func Compare(ctx context.Context, c Config) (*Results, error) {
	if c.Seeds < 1 {
		c.Seeds = 1
	}
	if len(c.LRGrid) == 0 {
		c.LRGrid = DefaultLRGrid
	}
	if c.ValFraction == 0 {
		c.ValFraction = 0.2
	}
	if err := safefile.CheckDir(c.Out); err != nil {
		return nil, err
	}
	res := &Results{Schema: SchemaVersion, Command: c.Command, Spec: c.Spec, Env: c.Env}
	resPath := filepath.Join(c.Out, "results.json")
	done := map[string]Run{}
	if prev, err := ReadResults(resPath); err == nil && sameSpec(prev.Spec, c.Spec) {
		for _, r := range prev.Runs {
			done[runKey(r.Strategy, r.Shots, r.Seed)] = r
		}
	}
	var jobs []job
	for _, k := range c.Shots {
		for seed := 1; seed <= c.Seeds; seed++ {
			for _, s := range c.Strategies {
				jobs = append(jobs, job{s, k, seed})
			}
		}
	}
	// Splits depend on (shots, seed) only, so every strategy sees the same
	// images; features of frozen prefixes are shared through the cache.
	type split struct {
		train, val *data.Loader
		key        string
		cache      *fit.FeatureCache
	}
	splits := map[[2]int]*split{}
	getSplit := func(shots, seed int) (*split, error) {
		if sp, ok := splits[[2]int{shots, seed}]; ok {
			return sp, nil
		}
		var ds data.Dataset = c.Train
		if shots > 0 {
			sub, err := data.KShot(c.Train, shots, uint64(seed))
			if err != nil {
				return nil, fmt.Errorf("%d shots: %w", shots, err)
			}
			ds = sub
		}
		tr, va, err := data.StratifiedSplit(ds, c.ValFraction, uint64(seed))
		if err != nil {
			return nil, fmt.Errorf("%d shots: validation split: %w", shots, err)
		}
		pre := c.Base.Meta.Preprocess
		batch, dropLast := FewShotBatch(c.Batch, tr.Len())
		tl, err := data.NewLoader(tr, data.LoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast,
			Seed: uint64(seed), Preprocess: pre, Augment: c.Augment, CacheDecoded: true})
		if err != nil {
			return nil, err
		}
		vl, err := data.NewLoader(va, data.LoaderConfig{BatchSize: max(c.Batch, 64), Preprocess: pre, CacheDecoded: true})
		if err != nil {
			return nil, err
		}
		sp := &split{train: tl, val: vl, key: fmt.Sprintf("shots=%d/seed=%d", shots, seed), cache: fit.NewFeatureCache(fit.DefaultCacheBytes)}
		splits[[2]int{shots, seed}] = sp
		return sp, nil
	}
	defer func() {
		for _, sp := range splits {
			sp.cache.Free()
		}
	}()
	testL, err := data.NewLoader(c.Test, data.LoaderConfig{BatchSize: max(c.Batch, 64), Preprocess: c.Base.Meta.Preprocess, CacheDecoded: true})
	if err != nil {
		return nil, fmt.Errorf("test set: %w", err)
	}

	n := len(jobs)
	slots := make([]*Run, n)
	for i, j := range jobs {
		if r, ok := done[runKey(j.strategy.Name, j.shots, j.seed)]; ok {
			slots[i] = &r
		}
	}
	// Runs are independent, so --workers runs them side by side. Results
	// land in their job's slot, keeping results.json in job order whatever
	// finishes first; libtorch's threads are shared out among the workers.
	workers := max(1, min(c.Workers, n))
	if workers > 1 {
		threads := torch.NumThreads()
		if err := torch.SetNumThreads(max(1, threads/workers)); err != nil {
			return res, err
		}
		defer torch.SetNumThreads(threads)
	}
	var mu sync.Mutex // guards slots, splits, res and progress
	flush := func() error {
		res.Runs = res.Runs[:0]
		for _, r := range slots {
			if r != nil {
				res.Runs = append(res.Runs, *r)
			}
		}
		res.summarize()
		return WriteResults(resPath, res)
	}
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				mu.Lock()
				sp, err := getSplit(j.shots, j.seed)
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
				run := c.runOne(ctx, i+1, n, j, sp.train, sp.val, testL, sp.cache, sp.key, &mu)
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				slots[i] = &run
				if c.Progress != nil {
					c.Progress.RunDone(i+1, n, run)
				}
				err = flush()
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var firstErr error
feed:
	for i := range jobs {
		if slots[i] != nil {
			continue
		}
		select {
		case next <- i:
		case firstErr = <-errs:
			break feed
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		select {
		case firstErr = <-errs:
		default:
		}
	}
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, flush()
}

// FewShotBatch picks the batch size and last-batch rule for n training
// images: at most batch, and small enough for at least four steps an
// epoch, since a few-shot set in one or two batches per epoch would see a
// handful of updates over the whole budget; the last partial batch is kept
// unless it would hold a single image, which BatchNorm cannot normalise.
func FewShotBatch(batch, n int) (size int, dropLast bool) {
	size = max(1, min(batch, (n+3)/4))
	if n >= 8 {
		size = max(size, 2)
	}
	return size, n%size == 1
}

// runOne trains a job at every rate of the grid, keeps the rate with the
// best validation accuracy, and tests that model.
// progressMu serialises progress reports from concurrent workers.
func (c Config) runOne(ctx context.Context, i, n int, j job, train, val, test *data.Loader, cache *fit.FeatureCache, key string, progressMu *sync.Mutex) Run {
	run := Run{Strategy: j.strategy.Name, Shots: j.shots, Seed: j.seed, Status: "ok"}
	var best *TrialResult
	var bestLR float64
	start := time.Now()
	for _, lr := range c.LRGrid {
		if c.Progress != nil {
			progressMu.Lock()
			c.Progress.RunStart(i, n, j.strategy.Name, j.shots, j.seed, lr)
			progressMu.Unlock()
		}
		var events fit.Events
		if c.Progress != nil {
			events = lockedEvents{c.Progress, progressMu}
		}
		tr := Trial{Base: c.Base, Strategy: j.strategy, Train: train, Val: val, Classes: len(c.Train.Classes()),
			Seed: uint64(j.seed), LR: lr, Budget: c.Budget, Batch: c.Batch, ClassMap: c.ClassMap, Cache: cache,
			TrainKey: key + "/train", ValKey: key + "/val", Events: events, TrainBN: c.TrainBN, Device: c.Device}
		out, err := tr.Run(ctx)
		if err != nil {
			run.Status, run.Error = "failed", err.Error()
			run.LRSearch = append(run.LRSearch, LRTrial{LR: lr, Status: "failed"})
			continue
		}
		t := LRTrial{LR: lr, ValAcc: out.ValAcc, Status: out.Status}
		if out.Result != nil {
			t.Epochs = out.Result.Epochs
		}
		run.LRSearch = append(run.LRSearch, t)
		if out.Status == "ok" && (best == nil || out.ValAcc > best.ValAcc || (out.ValAcc == best.ValAcc && out.ValLoss < best.ValLoss)) {
			if best != nil {
				best.Model.Free()
			}
			best, bestLR = out, lr
		} else {
			out.Model.Free()
		}
	}
	run.TrainSeconds = time.Since(start).Seconds()
	if best == nil {
		if run.Status == "ok" {
			run.Status = "diverged"
		}
		return run
	}
	defer best.Model.Free()
	run.Status, run.Error = "ok", ""
	run.LR = bestLR
	res := best.Result
	run.History, run.Epochs, run.BestEpoch, run.Converged = res.History, res.Epochs, res.BestEpoch, res.Converged
	run.TrainableParams = best.Trainable
	var imgs, secs float64
	for _, h := range res.History {
		imgs += h.ImgPerSec * h.Seconds
		secs += h.Seconds
	}
	if secs > 0 {
		run.ImgPerSec = imgs / secs
	}
	ev, err := fit.Evaluate(ctx, best.Model, test, fit.Config{BatchSize: c.Batch, Device: c.Device})
	if err != nil {
		run.Status, run.Error = "failed", "test: "+err.Error()
		return run
	}
	run.TestAccuracy, run.MacroF1 = ev.Confusion.Accuracy(), ev.Confusion.MacroF1()
	run.Confusion = ev.Confusion.M
	return run
}

// lockedEvents forwards training progress under the comparison's lock.
type lockedEvents struct {
	ev fit.Events
	mu *sync.Mutex
}

func (l lockedEvents) Step(s fit.StepInfo) {
	l.mu.Lock()
	l.ev.Step(s)
	l.mu.Unlock()
}

func (l lockedEvents) Epoch(e fit.EpochStats) {
	l.mu.Lock()
	l.ev.Epoch(e)
	l.mu.Unlock()
}

func runKey(s string, shots, seed int) string { return fmt.Sprintf("%s|%d|%d", s, shots, seed) }

// summarize fills Summary and Winners from Runs.
func (r *Results) summarize() {
	type acc struct {
		accs, f1s, secs, epochs, rates []float64
		params                         int64
		runs, failed, cut              int
	}
	groups := map[[2]string]*acc{}
	var keys [][2]string
	for _, run := range r.Runs {
		k := [2]string{run.Strategy, fmt.Sprint(run.Shots)}
		g, ok := groups[k]
		if !ok {
			g = &acc{}
			groups[k] = g
			keys = append(keys, k)
		}
		g.runs++
		if run.Status != "ok" {
			g.failed++
			continue
		}
		g.accs = append(g.accs, run.TestAccuracy)
		g.f1s = append(g.f1s, run.MacroF1)
		g.secs = append(g.secs, run.TrainSeconds)
		g.epochs = append(g.epochs, float64(run.Epochs))
		g.rates = append(g.rates, run.ImgPerSec)
		g.params = run.TrainableParams
		if !run.Converged {
			g.cut++
		}
	}
	r.Summary = r.Summary[:0]
	for _, k := range keys {
		g := groups[k]
		var shots int
		fmt.Sscan(k[1], &shots)
		m, sd := meanStd(g.accs)
		r.Summary = append(r.Summary, Summary{
			Strategy: k[0], Shots: shots, MeanAccuracy: m, StdAccuracy: sd, MeanMacroF1: mean(g.f1s),
			MeanTrainSeconds: mean(g.secs), MeanEpochs: mean(g.epochs), TrainableParams: g.params,
			MeanImgPerSec: mean(g.rates), Runs: g.runs, Failed: g.failed, CutOff: g.cut,
		})
	}
	sort.SliceStable(r.Summary, func(i, j int) bool {
		if r.Summary[i].Shots != r.Summary[j].Shots {
			return r.Summary[i].Shots < r.Summary[j].Shots
		}
		return r.Summary[i].MeanAccuracy > r.Summary[j].MeanAccuracy
	})
	r.Winners = r.Winners[:0]
	for _, s := range r.Summary {
		if len(r.Winners) > 0 && r.Winners[len(r.Winners)-1].Shots == s.Shots {
			continue
		}
		if s.Runs == s.Failed {
			continue
		}
		w := Winner{Shots: s.Shots, Strategy: s.Strategy, Accuracy: s.MeanAccuracy}
		bestAcc := -1.0
		for _, run := range r.Runs {
			if run.Strategy == s.Strategy && run.Shots == s.Shots && run.Status == "ok" && run.TestAccuracy > bestAcc {
				bestAcc, w.Confusion = run.TestAccuracy, run.Confusion
			}
		}
		r.Winners = append(r.Winners, w)
	}
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// meanStd is the mean and the sample standard deviation (0 for one value).
func meanStd(v []float64) (float64, float64) {
	m := mean(v)
	if len(v) < 2 {
		return m, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}

// WriteResults writes results.json atomically.
func WriteResults(path string, r *Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteBytes(path, append(b, '\n'))
}

// ReadResults reads a results.json.
func ReadResults(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.Schema != SchemaVersion {
		return nil, fmt.Errorf("%s: schema %d, this graft writes %d", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// sameSpec reports whether a saved comparison may be resumed.
func sameSpec(a, b Spec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
