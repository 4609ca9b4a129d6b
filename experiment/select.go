package experiment

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/graftml/graft/fit"
)

// Selection defaults for the refit protocol.
const (
	// MinValImages is the validation size a selection aims for: with
	// fewer images per fold, more folds are averaged (up to Config.Folds).
	// One image per class at 5 shots of 5 classes is 5 images, where one
	// wrong prediction moves accuracy by 20 points: too few to choose a
	// rate, let alone an epoch.
	MinValImages = 100
	// DefaultFolds bounds the folds a selection averages; each fold costs
	// a training per rate, so this is the price of a less noisy choice.
	DefaultFolds = 3
	// DefaultMinShare is the share of a phase's budget that runs before
	// patience may stop it: slow starters (scratch on a few images) are
	// not judged on their first epochs.
	DefaultMinShare = 0.3
	// PatienceShare scales patience with the budget: at least this share
	// of the epochs without improvement before a run stops.
	PatienceShare = 0.2
	// PreciseBNImages: training sets up to this size re-estimate
	// BatchNorm statistics before every evaluation. Below it, running
	// averages over a few steps a epoch lag the weights (measured: 23%
	// test accuracy from the running statistics where the same weights
	// score 52% with re-estimated ones), and one extra forward pass over
	// so few images costs little.
	PreciseBNImages = 4096
	// MaxExtensions bounds how far the rate grid grows in each direction
	// when the best rate sits at its edge.
	MaxExtensions = 2
)

// foldsFor is how many folds of a k-fold partition a selection averages:
// enough that the validation images add up to MinValImages, at most max.
func foldsFor(valPerFold, k, max int) int {
	if valPerFold <= 0 {
		return 1
	}
	f := (MinValImages + valPerFold - 1) / valPerFold
	return min(max, k, f)
}

// smoothWindow is the moving-average width over validation epochs: about
// a tenth of the budget, odd, at least 3, so that one lucky epoch on a
// small validation set does not decide the training length.
func smoothWindow(epochs int) int {
	w := max(3, epochs/10)
	if w%2 == 0 {
		w++
	}
	return w
}

// curve is one rate's validation accuracy per epoch, averaged over folds.
type curve struct {
	acc, loss []float64
	ran       int // epochs run by the longest fold
}

// foldCurve turns fold histories into one mean curve over the budget. A
// fold that stopped early is held at its final smoothed value for the
// epochs it did not run: patience judged it past its best.
func foldCurve(hists [][]fit.EpochStats, epochs, window int) curve {
	c := curve{acc: make([]float64, epochs), loss: make([]float64, epochs)}
	n := 0
	for _, h := range hists {
		var acc, loss []float64
		for _, e := range h {
			if e.HasVal {
				acc = append(acc, e.ValAcc)
				loss = append(loss, e.ValLoss)
			}
		}
		if len(acc) == 0 {
			continue
		}
		c.ran = max(c.ran, len(acc))
		sa, sl := smooth(acc, window), smooth(loss, window)
		for e := 0; e < epochs; e++ {
			j := min(e, len(sa)-1)
			c.acc[e] += sa[j]
			c.loss[e] += sl[j]
		}
		n++
	}
	if n == 0 {
		return curve{}
	}
	for e := range c.acc {
		c.acc[e] /= float64(n)
		c.loss[e] /= float64(n)
	}
	c.acc, c.loss = c.acc[:min(epochs, c.ran)], c.loss[:min(epochs, c.ran)]
	return c
}

// smooth is a centred moving average whose window shrinks at the ends.
func smooth(v []float64, window int) []float64 {
	out := make([]float64, len(v))
	h := window / 2
	for i := range v {
		lo, hi := max(0, i-h), min(len(v), i+h+1)
		var s float64
		for _, x := range v[lo:hi] {
			s += x
		}
		out[i] = s / float64(hi-lo)
	}
	return out
}

// choose picks the training length on a mean curve: the longest training
// whose smoothed accuracy is within noise (half a binomial standard error
// of valImages) of the best. Longer training at an annealed rate rarely
// hurts a few-shot run, and the plain fixed-length recipe shows it;
// a curve's first peak on a few images is mostly noise.
func (c curve) choose(valImages int) (epoch int, acc, loss float64) {
	if len(c.acc) == 0 {
		return 0, -1, math.Inf(1)
	}
	best := slices.Max(c.acc)
	tol := 0.0
	if valImages > 0 {
		tol = 0.5 * math.Sqrt(best*(1-best)/float64(valImages))
	}
	for e := len(c.acc) - 1; e >= 0; e-- {
		if c.acc[e] >= best-tol {
			return e + 1, c.acc[e], c.loss[e]
		}
	}
	return 1, c.acc[0], c.loss[0]
}

// extendGrid says which rate to try next when the best of those tried sits
// at an edge: one grid step beyond it (the ratio of the two nearest
// rates), at most MaxExtensions times each way, within [1e-6, 1]. ok is
// false when the best is inside the grid or the bound is reached.
func extendGrid(tried []float64, best float64, up, down int) (next float64, ok bool) {
	rates := slices.Clone(tried)
	slices.Sort(rates)
	if len(rates) < 2 {
		return 0, false
	}
	switch best {
	case rates[len(rates)-1]:
		r := rates[len(rates)-1] / rates[len(rates)-2]
		next = best * r
		if up >= MaxExtensions || next > 1 {
			return 0, false
		}
		return roundRate(next), true
	case rates[0]:
		r := rates[1] / rates[0]
		next = best / r
		if down >= MaxExtensions || next < 1e-6 {
			return 0, false
		}
		return roundRate(next), true
	}
	return 0, false
}

// searchRates tries every rate of grid and then, while the best so far sits
// at an edge of what was tried, one step past it (extendGrid): grids that
// bracket. try trains one rate and says whether it is now the best and
// trained ok; a try that fails ends the search with its error. The rates
// tried are returned in order.
func searchRates(grid []float64, try func(lr float64) (best bool, err error)) ([]float64, error) {
	var tried []float64
	var best float64
	found := false
	step := func(lr float64) error {
		b, err := try(lr)
		tried = append(tried, lr)
		if b && err == nil {
			best, found = lr, true
		}
		return err
	}
	for _, lr := range grid {
		if err := step(lr); err != nil {
			return tried, err
		}
	}
	up, down := 0, 0
	for found {
		next, ok := extendGrid(tried, best, up, down)
		if !ok {
			break
		}
		if next > best {
			up++
		} else {
			down++
		}
		if err := step(next); err != nil {
			return tried, err
		}
	}
	return tried, nil
}

// roundRate keeps extended rates to one significant digit, as grids are
// written (3e-2, not 0.033333).
func roundRate(x float64) float64 {
	// Through the decimal form, so 9e-3 is 0.009, not 9 × 0.001.
	r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'e', 0, 64), 64)
	return r
}

// ChooseEpochs is the training length a single validated run supports, by
// the rule a comparison's selection uses: the longest training whose
// smoothed validation accuracy (a centred moving average of window epochs)
// is within noise of the best over valImages images. 0 without validation.
func ChooseEpochs(h []fit.EpochStats, window, valImages int) (epochs int, acc float64) {
	cv := foldCurve([][]fit.EpochStats{h}, len(h), window)
	if len(cv.acc) == 0 {
		return 0, 0
	}
	epochs, acc, _ = cv.choose(valImages)
	return epochs, acc
}

// SmoothedSelectionScore ranks strategies; it does not choose rates. It is
// one run's selection score (one seed's search, search as in
// Run.LRSearch) read off its rate curve smoothed over neighbouring rates:
// per head variant, the rates that trained ok in log-rate order, each
// rate's validation accuracy replaced by the 1/2/1-weighted mean of it and
// its grid neighbours (the weights renormalised at the grid's ends), and
// the best of those. ok is false when no rate trained ok.
//
// A strategy is scored by this averaged over its seeds. The plain best
// over the grid rewards a lucky spike — the winner's curse: on the ten
// settings of docs/advise.md's validation the best rate read 1.7 to 2.6
// points (by strategy, on average) above the smoothed curve there, and runs whose best rate
// was a spike (3 points or more above it) tested 1.4 points below their
// strategy's other seeds. A strategy whose neighbouring rates agree owes
// less of its score to noise. On those settings, ranking by the smoothed
// score moved the comparison's test-free choice's mean regret from 1.96
// to 0.76 points, better on two settings and worse on none; on the thirty
// smaller comparisons made of two of the three seeds, the more honest
// estimate (about twenty rules were tried), from 1.64 to 1.03. Weights
// 1/1/1 chose the same: the kernel matters less than smoothing at all.
//
// Each run keeps the rate the comparison chose (the best unsmoothed): a
// rate chosen on the smoothed curve was not measured on test, so the
// smoothing changes which strategy wins, not any model.
func SmoothedSelectionScore(search []LRTrial) (score float64, ok bool) {
	curve := smoothedCurve(search)
	if i, found := smoothedBest(search, curve); found {
		return curve[i], true
	}
	return 0, false
}

// SmoothedScoreAt is one run's selection score at its own rate (head and
// lr as in Run.Head and Run.LR) on its search smoothed over neighbouring
// rates. Under RatePooled every seed tried the same rates, so the mean of
// its seeds' scores at the shared rate is the best of the pooled curve:
// the score the comparison chose by. ok is false when that rate did not
// train ok.
func SmoothedScoreAt(search []LRTrial, head string, lr float64) (score float64, ok bool) {
	curve := smoothedCurve(search)
	for i, t := range search {
		if t.Head == head && t.LR == lr && t.Status == "ok" {
			return curve[i], true
		}
	}
	return 0, false
}

// SmoothedBestRate is the index in search of the rate whose smoothed value
// (SmoothedSelectionScore's curve) is highest; of equal values, the one
// with the higher accuracy of its own, then the earlier in search. ok is
// false when no rate trained ok. It is Config.RateChoice RateSmoothed's
// rule: a rate whose neighbours agree, rather than a lucky spike.
func SmoothedBestRate(search []LRTrial) (best int, ok bool) {
	return smoothedBest(search, smoothedCurve(search))
}

// smoothedBest is SmoothedBestRate on search's smoothed curve.
func smoothedBest(search []LRTrial, curve []float64) (best int, ok bool) {
	for i, v := range curve {
		if search[i].Status != "ok" {
			continue
		}
		// Values that differ by rounding alone (the same accuracies summed
		// in another order) are equal.
		tie := math.Abs(v-curve[best]) <= 1e-12
		if !ok || (v > curve[best] && !tie) || (tie && search[i].ValAcc > search[best].ValAcc) {
			best, ok = i, true
		}
	}
	return best, ok
}

// smoothedCurve is each trial's validation accuracy averaged 1/2/1 with
// its neighbours in log-rate order among the rates of its head variant
// that trained ok (weights renormalised at the ends); 0 for a trial that
// did not train ok.
func smoothedCurve(search []LRTrial) []float64 {
	out := make([]float64, len(search))
	byHead := map[string][]int{}
	var heads []string
	for i, t := range search {
		if t.Status != "ok" {
			continue // a failed rate has no score; its neighbours meet
		}
		if _, seen := byHead[t.Head]; !seen {
			heads = append(heads, t.Head)
		}
		byHead[t.Head] = append(byHead[t.Head], i)
	}
	for _, h := range heads {
		idx := byHead[h]
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(search[a].LR, search[b].LR) })
		for k, i := range idx {
			sum, weight := 2*search[i].ValAcc, 2.0
			if k > 0 {
				sum, weight = sum+search[idx[k-1]].ValAcc, weight+1
			}
			if k+1 < len(idx) {
				sum, weight = sum+search[idx[k+1]].ValAcc, weight+1
			}
			out[i] = sum / weight
		}
	}
	return out
}

// How a run's rate is chosen from its search (Config.RateChoice).
const (
	// RateBest takes the rate with the best validation score, the
	// comparison's rule since the first protocol.
	RateBest = "best"
	// RateSmoothed takes the rate best on the search smoothed over
	// neighbouring rates (SmoothedBestRate). On docs/advise.md's
	// validation settings, runs whose best rate was a spike 3 points or
	// more above its smoothed curve tested 1.4 points below their
	// strategy's other seeds: opt-in until a comparison has measured it
	// (docs/advise.md).
	RateSmoothed = "smoothed"
	// RatePooled takes one rate per strategy and shot count for all
	// seeds: the best of the mean over the seeds' searches, smoothed as
	// RateSmoothed smooths (Config.runPooled). Each seed's search is a
	// maximum over about five noisy rates; the mean over three seeds
	// triples the validation images behind the choice. Opt-in until
	// measured (docs/advise.md).
	RatePooled = "pooled"
)
