package report

import (
	"cmp"
	"math"
	"slices"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/strategy"
)

// entry is one strategy at one shots setting: its summary as results.json
// gives it, plus what the report derives from the runs themselves.
type entry struct {
	Strategy string
	Color    int // index into the palette, the same for a strategy everywhere
	Sum      experiment.Summary
	Runs     []experiment.Run // every run, in seed order
	OK       []experiment.Run // the runs whose status is ok
	Diverged int
	Failed   int // failed for another reason than divergence
	Rank     int // 1-based; 0 when no run succeeded

	// Derived from the successful runs; Has* is false when no run gave
	// the figure (no validation split, or no history).
	MeanBestEpoch float64
	SecPerEpoch   float64
	HasSecPerEp   bool
	Gap           float64 // train − validation accuracy at the best epoch
	ValAtBest     float64
	TrainAtBest   float64
	HasGap        bool
}

// succeeded reports whether the entry has at least one usable run, so a
// mean accuracy of 0 from all-failed runs is not ranked as a real result.
func (e *entry) succeeded() bool { return len(e.OK) > 0 }

// group is one shots setting: its entries, best first.
type group struct {
	Shots   int
	Entries []*entry
	Winner  *entry             // nil when no strategy succeeded
	Win     *experiment.Winner // results.json's winner record, if any
}

// runnerUp is the best successful entry after the winner, or nil.
func (g *group) runnerUp() *entry {
	for _, e := range g.Entries {
		if e != g.Winner && e.succeeded() {
			return e
		}
	}
	return nil
}

// scratch is the entry of the from-scratch baseline, or nil.
func (g *group) scratch() *entry {
	for _, e := range g.Entries {
		if isScratch(e.Strategy) {
			return e
		}
	}
	return nil
}

func isScratch(name string) bool {
	s, err := strategy.Parse(name)
	return err == nil && s.Def().Scratch
}

// view is the whole report's data, computed once, in a fixed order so
// that every output is deterministic whatever the order of results.json.
type view struct {
	R          *experiment.Results
	Strategies []string // canonical order: the spec's, then any others as first seen
	Shots      []int    // ascending, with 0 (all images) last
	Groups     []*group // in Shots order
}

func newView(r *experiment.Results) *view {
	v := &view{R: r, Strategies: strategyOrder(r), Shots: shotsOrder(r)}
	color := make(map[string]int, len(v.Strategies))
	for i, s := range v.Strategies {
		color[s] = i
	}
	for _, shots := range v.Shots {
		g := &group{Shots: shots}
		for _, s := range v.Strategies {
			runs := runsOf(r, s, shots)
			sum, ok := summaryOf(r, s, shots)
			if len(runs) == 0 && !ok {
				continue
			}
			if !ok {
				sum = summarize(s, shots, runs, r.Spec.Protocol)
			}
			e := &entry{Strategy: s, Color: color[s], Sum: sum, Runs: runs}
			e.derive()
			g.Entries = append(g.Entries, e)
		}
		rankEntries(g)
		for i := range r.Winners {
			if r.Winners[i].Shots == shots {
				g.Win = &r.Winners[i]
			}
		}
		g.Winner = pickWinner(g)
		v.Groups = append(v.Groups, g)
	}
	return v
}

// strategyOrder fixes each strategy's position and hence its colour.
func strategyOrder(r *experiment.Results) []string {
	var out []string
	add := func(s string) {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	for _, s := range r.Spec.Strategies {
		add(s)
	}
	for _, run := range r.Runs {
		add(run.Strategy)
	}
	for _, s := range r.Summary {
		add(s.Strategy)
	}
	return out
}

// shotsOrder puts few-shot settings first and "all images" (0) last,
// the order in which a reader expects accuracy to grow.
func shotsOrder(r *experiment.Results) []int {
	var out []int
	add := func(n int) {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	for _, n := range r.Spec.Shots {
		add(n)
	}
	for _, run := range r.Runs {
		add(run.Shots)
	}
	for _, s := range r.Summary {
		add(s.Shots)
	}
	slices.SortFunc(out, compareShots)
	return out
}

func compareShots(a, b int) int {
	if (a == 0) != (b == 0) {
		if a == 0 {
			return 1
		}
		return -1
	}
	return cmp.Compare(a, b)
}

func runsOf(r *experiment.Results, strategy string, shots int) []experiment.Run {
	var out []experiment.Run
	for _, run := range r.Runs {
		if run.Strategy == strategy && run.Shots == shots {
			out = append(out, run)
		}
	}
	slices.SortStableFunc(out, func(a, b experiment.Run) int { return cmp.Compare(a.Seed, b.Seed) })
	return out
}

func summaryOf(r *experiment.Results, strategy string, shots int) (experiment.Summary, bool) {
	for _, s := range r.Summary {
		if s.Strategy == strategy && s.Shots == shots {
			return s, true
		}
	}
	return experiment.Summary{}, false
}

// summarize stands in for a summary missing from results.json (a partial
// file): means over the successful runs, sample standard deviation. It
// cannot recompute the bootstrap interval, which needs every run's test
// predictions resampled together.
func summarize(strategy string, shots int, runs []experiment.Run, protocol string) experiment.Summary {
	s := experiment.Summary{Strategy: strategy, Shots: shots, Runs: len(runs)}
	var acc, gflop []float64
	for _, r := range runs {
		if s.TrainableParams == 0 {
			s.TrainableParams = r.TrainableParams // the same for every run of a strategy
		}
		if !isOK(r) {
			s.Failed++
			continue
		}
		acc = append(acc, r.TestAccuracy)
		s.MeanMacroF1 += r.MacroF1
		s.MeanTrainSeconds += r.TrainSeconds
		gflop = append(gflop, r.TrainGFLOP)
		s.MeanEpochs += float64(r.Epochs)
		s.MeanImgPerSec += r.ImgPerSec
		if cutOff(protocol, r) {
			s.CutOff++
		}
	}
	if n := float64(len(acc)); n > 0 {
		s.MeanAccuracy, s.StdAccuracy = meanStd(acc)
		s.MeanMacroF1 /= n
		s.MeanTrainSeconds /= n
		s.MeanTrainGFLOP = experiment.CountedMean(gflop)
		s.MeanEpochs /= n
		s.MeanImgPerSec /= n
	}
	return s
}

func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// cutOff reports whether a run was still improving when its budget ran
// out: schema 2 (a protocol is named) records it, judged on smoothed
// validation accuracy; schema 1 only says whether the best epoch was the
// last one.
func cutOff(protocol string, r experiment.Run) bool {
	if protocol != "" {
		return r.CutOff
	}
	return !r.Converged
}

// isOK treats an empty status as ok: older or hand-made files may omit it.
func isOK(r experiment.Run) bool { return r.Status == "" || r.Status == "ok" }

func (e *entry) derive() {
	var best, secs, gap, val, train float64
	var nSecs, nGap int
	for _, r := range e.Runs {
		switch {
		case isOK(r):
			e.OK = append(e.OK, r)
		case r.Status == "diverged":
			e.Diverged++
			continue
		default:
			e.Failed++
			continue
		}
		best += float64(r.BestEpoch)
		if s, ok := secondsPerEpoch(r); ok {
			secs += s
			nSecs++
		}
		if h, ok := atEpoch(r.History, r.BestEpoch); ok && h.HasVal {
			gap += h.TrainAcc - h.ValAcc
			val += h.ValAcc
			train += h.TrainAcc
			nGap++
		}
	}
	if n := len(e.OK); n > 0 {
		e.MeanBestEpoch = best / float64(n)
	}
	if nSecs > 0 {
		e.SecPerEpoch, e.HasSecPerEp = secs/float64(nSecs), true
	}
	if nGap > 0 {
		n := float64(nGap)
		e.Gap, e.ValAtBest, e.TrainAtBest, e.HasGap = gap/n, val/n, train/n, true
	}
}

// secondsPerEpoch prefers the history's own timings: TrainSeconds may
// include evaluation and set-up that are not the epochs' cost.
func secondsPerEpoch(r experiment.Run) (float64, bool) {
	var s float64
	for _, h := range r.History {
		s += h.Seconds
	}
	if len(r.History) > 0 && s > 0 {
		return s / float64(len(r.History)), true
	}
	if r.Epochs > 0 && r.TrainSeconds > 0 {
		return r.TrainSeconds / float64(r.Epochs), true
	}
	return 0, false
}

// atEpoch finds the 1-based epoch n in a history.
func atEpoch(hist []fit.EpochStats, n int) (fit.EpochStats, bool) {
	for i, h := range hist {
		if epochNumber(h, i) == n {
			return h, true
		}
	}
	return fit.EpochStats{}, false
}

// epochNumber is h's 1-based epoch, from its position when not recorded.
func epochNumber(h fit.EpochStats, i int) int {
	if h.Epoch > 0 {
		return h.Epoch
	}
	return i + 1
}

// rankEntries sorts best mean test accuracy first; entries without a
// successful run go last, unranked. Ties keep the canonical order.
func rankEntries(g *group) {
	slices.SortStableFunc(g.Entries, func(a, b *entry) int {
		if a.succeeded() != b.succeeded() {
			if a.succeeded() {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.Sum.MeanAccuracy, a.Sum.MeanAccuracy)
	})
	rank := 0
	for _, e := range g.Entries {
		if e.succeeded() {
			rank++
			e.Rank = rank
		}
	}
}

// pickWinner trusts results.json's winner record and falls back to the
// top of the ranking when it has none for this setting.
func pickWinner(g *group) *entry {
	if g.Win != nil {
		for _, e := range g.Entries {
			if e.Strategy == g.Win.Strategy {
				return e
			}
		}
	}
	if len(g.Entries) > 0 && g.Entries[0].succeeded() {
		return g.Entries[0]
	}
	return nil
}
