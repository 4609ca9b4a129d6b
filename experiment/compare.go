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
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

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
	// learning rate and the epoch; never the test set. Under the refit
	// protocol it sets the folds' size: 1/ValFraction folds.
	ValFraction float64
	// Protocol is ProtocolRefit (default) or ProtocolHoldout.
	Protocol string
	// RateChoice is how each run's rate is chosen from its search:
	// RateBest (default, "" too), RateSmoothed or RatePooled; the last
	// two need the refit protocol.
	RateChoice string
	// Folds is the most validation folds a refit selection averages
	// (default DefaultFolds); fewer when one fold holds MinValImages.
	Folds int
	// ShotsStrict refuses a class with fewer images than shots; by
	// default such a class gives all it has and is reported short.
	ShotsStrict bool
	// Group is how images are grouped so that no group sits on both
	// sides of a split: "auto" (GTSRB tracks when the names show them),
	// "none", or a regular expression over sample sources (data.Grouping).
	Group    string
	Batch    int
	ClassMap []int
	TrainBN  bool
	Augment  data.Augment
	// DetectionAugment transforms a detector's training images and their
	// boxes (off by default: what is measured is then the model's).
	DetectionAugment data.DetectionAugment
	Device           torch.Device
	// Precision runs every trial's and test's forward passes in mixed
	// precision (fit.Config.Precision); classifiers only.
	Precision torch.Precision
	Workers   int
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

// completeSpec records in the spec every setting a run depends on.
func (c *Config) completeSpec() error {
	if err := c.checkPrecision(); err != nil {
		return err
	}
	c.Spec.Precision = ""
	if c.Precision.Mixed() {
		c.Spec.Precision = string(c.Precision)
	}
	c.Spec.Protocol, c.Spec.ShotsStrict = c.Protocol, c.ShotsStrict
	c.Spec.RateChoice = ""
	if c.RateChoice == RateSmoothed || c.RateChoice == RatePooled {
		c.Spec.RateChoice = c.RateChoice // the default stays out, so older comparisons resume
	}
	_, groups, err := data.Grouping(c.Train, c.Group)
	if err != nil {
		return fmt.Errorf("grouping: %w", err)
	}
	c.Spec.Groups = groups
	c.Spec.Batch, c.Spec.Patience, c.Spec.ValFraction = c.Batch, c.Budget.Patience, c.ValFraction
	c.Spec.TrainBN, c.Spec.ClassMap = c.TrainBN, c.ClassMap
	c.Spec.Augment = ""
	if c.Augment.Enabled() {
		b, _ := json.Marshal(c.Augment)
		c.Spec.Augment = string(b)
	}
	c.Spec.Task, c.Spec.DetectionAugment = "", ""
	if c.detection() != nil {
		c.Spec.Task = "detect"
		if c.DetectionAugment.Enabled() {
			b, _ := json.Marshal(c.DetectionAugment)
			c.Spec.DetectionAugment = string(b)
		}
	}
	return nil
}

// checkPrecision refuses a mixed precision the device cannot run, and
// one for detectors, whose heads and losses graft runs in fp32 only.
func (c Config) checkPrecision() error {
	if err := c.Precision.Check(c.Device); err != nil {
		return err
	}
	if c.Precision.Mixed() && c.detection() != nil {
		return fmt.Errorf("--precision %s covers classifiers; detectors train in fp32: use --precision fp32", c.Precision)
	}
	return nil
}

// withDefaults fills the settings a comparison, a race and an adaptation
// share: one seed, the default rate grid, a fifth of the shots per
// validation fold, the refit protocol, DefaultFolds folds at most.
func (c Config) withDefaults() Config {
	if c.Seeds < 1 {
		c.Seeds = 1
	}
	if len(c.LRGrid) == 0 {
		c.LRGrid = DefaultLRGrid
	}
	if c.ValFraction == 0 {
		c.ValFraction = 0.2
	}
	if c.Protocol == "" {
		c.Protocol = ProtocolRefit
	}
	if c.Folds <= 0 {
		c.Folds = DefaultFolds
	}
	return c
}

// Compare runs the comparison, writing results.json after every run.
func Compare(ctx context.Context, c Config) (*Results, error) {
	c = c.withDefaults()
	if c.Protocol != ProtocolRefit && c.Protocol != ProtocolHoldout {
		return nil, fmt.Errorf("protocol %q: choose %s or %s", c.Protocol, ProtocolRefit, ProtocolHoldout)
	}
	if err := c.checkRateChoice(); err != nil {
		return nil, err
	}
	if err := c.completeSpec(); err != nil {
		return nil, err
	}
	if c.detection() != nil && c.ClassMap != nil {
		return nil, fmt.Errorf("a class map starts a classifier's head rows from the source's; a detector's class predictors start fresh: drop --class-map")
	}
	if c.Protocol == ProtocolRefit {
		c.Spec.Folds = c.Folds
	}
	if err := safefile.CheckDir(c.Out); err != nil {
		return nil, err
	}
	res := &Results{Schema: SchemaVersion, Command: c.Command, Spec: c.Spec, Env: c.Env}
	resPath := filepath.Join(c.Out, "results.json")
	done := map[string]Run{}
	prev, err := readPrevious(resPath)
	if err != nil {
		return nil, err
	}
	// A results.json of other settings is another comparison: resuming
	// from it would mix runs made two ways, and replacing it would lose
	// it, so the user chooses.
	if prev != nil {
		if diff := specDiff(prev.Spec, c.Spec); diff != "" {
			return nil, fmt.Errorf("%s holds a comparison with other settings (%s): use another --out, or move it aside to start this one", resPath, diff)
		}
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
	splits := map[[2]int]*split{}
	getSplit := func(shots, seed int) (*split, error) {
		if sp, ok := splits[[2]int{shots, seed}]; ok {
			return sp, nil
		}
		sp, err := c.makeSplit(shots, seed)
		if err != nil {
			return nil, err
		}
		splits[[2]int{shots, seed}] = sp
		return sp, nil
	}
	defer func() {
		for _, sp := range splits {
			sp.cache.Free()
		}
	}()
	short, err := c.shortClasses()
	if err != nil {
		return nil, err
	}
	res.ShortClasses = short
	testL, err := c.scoringFeed(c.Test)
	if err != nil {
		return nil, fmt.Errorf("test set: %w", err)
	}
	if err := c.writeSplits(); err != nil {
		return nil, err
	}

	n := len(jobs)
	slots := make([]*Run, n)
	for i, j := range jobs {
		if r, ok := done[runKey(j.strategy.Name, j.shots, j.seed)]; ok {
			slots[i] = &r
		}
	}
	// A unit is what one worker does at a time: one job, or under
	// RatePooled one strategy at one shot count on every seed, whose rate
	// is chosen over them all. A unit with a run missing runs whole.
	var units [][]int
	type unitKey struct {
		strategy string
		shots    int
	}
	pooled := map[unitKey]int{}
	for i, j := range jobs {
		if c.RateChoice != RatePooled {
			units = append(units, []int{i})
			continue
		}
		key := unitKey{j.strategy.Name, j.shots}
		u, ok := pooled[key]
		if !ok {
			u = len(units)
			pooled[key] = u
			units = append(units, nil)
		}
		units[u] = append(units[u], i)
	}
	// Units are independent, so --workers runs them side by side. Results
	// land in their job's slot, keeping results.json in job order whatever
	// finishes first; libtorch's threads are shared out among the workers.
	workers := max(1, min(c.Workers, len(units)))
	perWorker := 0
	if workers > 1 {
		threads := torch.NumThreads()
		perWorker = max(1, threads/workers)
		if err := torch.SetNumThreads(perWorker); err != nil {
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
			if perWorker > 0 {
				// Each worker keeps to one OS thread and sets its share of
				// libtorch's threads there: OpenMP's thread count is per
				// OS thread, fixed when a thread first runs libtorch work,
				// so a run that landed on a thread from before the share
				// was set computed with two threads where another used
				// one. That changed the order of float reductions, and
				// runs side by side were not bit-reproducible (scratch,
				// whose training amplifies it, on two seeds of three).
				defer torch.LockThread()()
				if err := torch.SetNumThreads(perWorker); err != nil {
					errs <- err
					return
				}
			}
			for u := range next {
				idx := units[u]
				js := make([]job, len(idx))
				sps := make([]*split, len(idx))
				var err error
				mu.Lock()
				for k, i := range idx {
					js[k] = jobs[i]
					if sps[k], err = getSplit(js[k].shots, js[k].seed); err != nil {
						break
					}
				}
				mu.Unlock()
				if err != nil {
					errs <- err
					return
				}
				var runs []Run
				if c.RateChoice != RatePooled { // a unit of one job
					runs = []Run{c.runOne(ctx, idx[0]+1, n, js[0], sps[0], testL, &mu)}
				} else {
					pos := make([]int, len(idx))
					for k, i := range idx {
						pos[k] = i + 1
					}
					runs = c.runPooled(ctx, pos, n, js, sps, testL, &mu)
				}
				if ctx.Err() != nil {
					return
				}
				mu.Lock()
				for k, i := range idx {
					slots[i] = &runs[k]
					if c.Progress != nil {
						c.Progress.RunDone(i+1, n, runs[k])
					}
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
	for u, idx := range units {
		if !slices.ContainsFunc(idx, func(i int) bool { return slots[i] == nil }) {
			continue
		}
		select {
		case next <- u:
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

// CountedMean is the mean of xs where every one was counted (> 0), else 0:
// the rule for a summary's MeanTrainGFLOP, where a run that could not
// count its work (0) makes the mean unknown rather than low.
func CountedMean(xs []float64) float64 {
	if slices.ContainsFunc(xs, func(x float64) bool { return x <= 0 }) {
		return 0
	}
	return mean(xs)
}

// summarize fills Summary and Winners from Runs.
func (r *Results) summarize() {
	type acc struct {
		accs, f1s, secs, epochs, rates, gflop []float64
		params                                int64
		runs, failed, cut                     int
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
		g.gflop = append(g.gflop, run.TrainGFLOP)
		g.epochs = append(g.epochs, float64(run.Epochs))
		g.rates = append(g.rates, run.ImgPerSec)
		g.params = run.TrainableParams
		if run.CutOff {
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
			MeanTrainGFLOP: CountedMean(g.gflop),
		})
	}
	sort.SliceStable(r.Summary, func(i, j int) bool {
		if r.Summary[i].Shots != r.Summary[j].Shots {
			return r.Summary[i].Shots < r.Summary[j].Shots
		}
		return r.Summary[i].MeanAccuracy > r.Summary[j].MeanAccuracy
	})
	r.Winners = r.Winners[:0]
	byStrategy := r.runsByStrategy()
	nTest := r.testImages()
	// A detector's mAP is resampled from its runs' AP records, a
	// classifier's accuracy from which test images it got right.
	detecting := r.Spec.Task == "detect"
	for i := range r.Summary {
		sm := &r.Summary[i]
		rng := rand.New(rand.NewPCG(uint64(sm.Shots)+1, 0x9e3779b9))
		runs := byStrategy[[2]string{sm.Strategy, fmt.Sprint(sm.Shots)}]
		interval := func() (float64, float64, bool) { return meanInterval(runs, nTest, rng) }
		if detecting {
			interval = func() (float64, float64, bool) { return meanIntervalAP(runs, rng) }
		}
		if lo, hi, ok := interval(); ok {
			sm.CILow, sm.CIHigh = lo, hi
		}
	}
	for _, s := range r.Summary {
		if len(r.Winners) > 0 && r.Winners[len(r.Winners)-1].Shots == s.Shots {
			continue
		}
		if s.Runs == s.Failed {
			continue
		}
		w := Winner{Shots: s.Shots, Strategy: s.Strategy, Accuracy: s.MeanAccuracy, Tied: []string{}}
		bestAcc := -1.0
		for _, run := range r.Runs {
			if run.Strategy == s.Strategy && run.Shots == s.Shots && run.Status == "ok" && run.TestAccuracy > bestAcc {
				bestAcc, w.Confusion = run.TestAccuracy, run.Confusion
			}
		}
		// The winner against every rival, paired over seeds and images;
		// a rival whose interval reaches 0 is tied with it.
		wins := byStrategy[[2]string{s.Strategy, fmt.Sprint(s.Shots)}]
		rng := rand.New(rand.NewPCG(uint64(s.Shots)+1, 0x85ebca6b))
		for _, o := range r.Summary {
			if o.Shots != s.Shots || o.Strategy == s.Strategy || o.Runs == o.Failed {
				continue
			}
			rival := byStrategy[[2]string{o.Strategy, fmt.Sprint(o.Shots)}]
			var d, lo, hi float64
			if detecting {
				seeds := pairedRunsAP(wins, rival)
				if len(seeds) == 0 {
					continue
				}
				d, lo, hi = pairedDiffAP(wins, rival, seeds, rng)
			} else {
				seeds := pairedRuns(wins, rival, nTest)
				if len(seeds) == 0 {
					continue
				}
				d, lo, hi = pairedDiff(wins, rival, seeds, nTest, rng)
			}
			m := Margin{Strategy: o.Strategy, Diff: d, Low: lo, High: hi, Tied: lo <= 0}
			w.Margins = append(w.Margins, m)
			if m.Tied {
				w.Tied = append(w.Tied, o.Strategy)
			}
		}
		r.Winners = append(r.Winners, w)
	}
}

// runsByStrategy indexes the successful runs by (strategy, shots), then seed.
func (r *Results) runsByStrategy() map[[2]string]map[int]Run {
	out := map[[2]string]map[int]Run{}
	for _, run := range r.Runs {
		if run.Status != "ok" {
			continue
		}
		k := [2]string{run.Strategy, fmt.Sprint(run.Shots)}
		if out[k] == nil {
			out[k] = map[int]Run{}
		}
		out[k][run.Seed] = run
	}
	return out
}

// testImages is the size of the test set, read off a confusion matrix.
func (r *Results) testImages() int {
	for _, run := range r.Runs {
		if run.Status == "ok" && len(run.TestCorrect) > 0 {
			n := 0
			for _, row := range run.Confusion {
				for _, v := range row {
					n += v
				}
			}
			return n
		}
	}
	return 0
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
		return nil, &DamagedError{Path: path, Err: err}
	}
	switch r.Schema {
	case SchemaVersion:
	case 1:
		// Schema 1 knew one protocol and flagged a run cut off when its
		// best epoch was its last.
		r.Spec.Protocol = ProtocolHoldout
		for i := range r.Runs {
			r.Runs[i].CutOff = r.Runs[i].Status == "ok" && !r.Runs[i].Converged
		}
		for i := range r.Winners {
			if r.Winners[i].Tied == nil {
				r.Winners[i].Tied = []string{}
			}
		}
	default:
		return nil, fmt.Errorf("%s: schema %d, this graft reads 1 to %d; use a newer graft", path, r.Schema, SchemaVersion)
	}
	return &r, nil
}

// DamagedError is a file that exists but is not the JSON it should be:
// cut short by a full disk or a crash outside graft, or edited by hand.
type DamagedError struct {
	Path string
	Err  error
}

func (e *DamagedError) Error() string { return fmt.Sprintf("%s is damaged (%v)", e.Path, e.Err) }
func (e *DamagedError) Unwrap() error { return e.Err }

// readPrevious reads the results.json a comparison resumes from: nil when
// there is none. One that is there but cannot be read is an error, never
// taken for an empty one, since the first save would overwrite its runs.
func readPrevious(path string) (*Results, error) {
	prev, err := ReadResults(path)
	var damaged *DamagedError
	switch {
	case err == nil:
		return prev, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case errors.As(err, &damaged):
		return nil, fmt.Errorf("%w: move it aside to start the comparison again, or restore it", err)
	default:
		return nil, fmt.Errorf("cannot resume the comparison: %w", err)
	}
}

// specDiff names the settings two specs differ in, with the saved value
// and this run's ("batch: 32 there, 64 here"); "" when a saved comparison
// may be resumed.
func specDiff(saved, now Spec) string {
	var a, b map[string]any
	ja, _ := json.Marshal(saved)
	jb, _ := json.Marshal(now)
	_ = json.Unmarshal(ja, &a)
	_ = json.Unmarshal(jb, &b)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		va, _ := json.Marshal(a[k])
		vb, _ := json.Marshal(b[k])
		if string(va) != string(vb) {
			diffs = append(diffs, fmt.Sprintf("%s: %s there, %s here", k, shorten(unsetAs(va, b[k])), shorten(unsetAs(vb, a[k]))))
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// unsetAs shows a setting a spec leaves out (omitempty: the zero value)
// as that zero value, of the other side's type: "train_bn: false there,
// true here" rather than null.
func unsetAs(v []byte, other any) []byte {
	if string(v) != "null" {
		return v
	}
	switch other.(type) {
	case bool:
		return []byte("false")
	case float64:
		return []byte("0")
	case string:
		return []byte(`""`)
	}
	return []byte("none")
}

// shorten keeps a value readable in a message.
func shorten(v []byte) string {
	if len(v) > 60 {
		return string(v[:57]) + "…"
	}
	return string(v)
}

// checkRateChoice refuses an unknown rule, and smoothing or pooling under the
// holdout protocol, which keeps the best rate's trained model rather than
// refitting at a chosen rate.
func (c Config) checkRateChoice() error {
	switch c.RateChoice {
	case "", RateBest:
		return nil
	case RateSmoothed, RatePooled:
		if c.Protocol == ProtocolHoldout {
			return fmt.Errorf("rate choice %s needs the refit protocol: holdout keeps the model of the best rate", c.RateChoice)
		}
		return nil
	}
	return fmt.Errorf("rate choice %q: choose %s, %s or %s", c.RateChoice, RateBest, RateSmoothed, RatePooled)
}
