package experiment

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/graftml/graft/metrics"
)

// BootstrapSamples is the number of resamples behind every interval.
const BootstrapSamples = 2000

// correctBits packs per-image correctness into results.json's bitset.
func correctBits(correct []bool) []byte {
	b := make([]byte, (len(correct)+7)/8)
	for i, c := range correct {
		if c {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return b
}

func bit(b []byte, i int) bool { return b[i/8]&(1<<(i%8)) != 0 }

// pairedRuns are the seeds on which two strategies both have a test
// record over the same images: the units a paired comparison resamples.
func pairedRuns(a, b map[int]Run, n int) (seeds []int) {
	for s, ra := range a {
		rb, ok := b[s]
		if ok && len(ra.TestCorrect) == (n+7)/8 && len(rb.TestCorrect) == len(ra.TestCorrect) {
			seeds = append(seeds, s)
		}
	}
	slices.Sort(seeds)
	return seeds
}

// pairedDiff is the mean accuracy difference a − b over the paired seeds
// and its 95% interval from a two-level bootstrap: seeds are drawn with
// replacement (training noise), then test images with replacement, the
// same images for both strategies (test sampling noise). Pairing removes
// what the two share — the same split, the same hard images — so the
// interval is the one a verdict between them needs.
//
// Images are resampled the Poisson way (each drawn Poisson(1) times, the
// large-n limit of drawing n with replacement), so only the images where
// the two disagree matter, and their total draws are Poisson(count):
// a resample costs two draws per seed, whatever the test set's size.
func pairedDiff(a, b map[int]Run, seeds []int, n int, rng *rand.Rand) (diff, lo, hi float64) {
	wins := make([][2]int, len(seeds)) // images only a got right, only b got right
	for k, s := range seeds {
		ca, cb := a[s].TestCorrect, b[s].TestCorrect
		for i := 0; i < n; i++ {
			x, y := bit(ca, i), bit(cb, i)
			switch {
			case x && !y:
				wins[k][0]++
			case y && !x:
				wins[k][1]++
			}
		}
		diff += float64(wins[k][0]-wins[k][1]) / float64(n)
	}
	diff /= float64(len(seeds))
	lo, hi = percentiles(func() float64 {
		var tot float64
		for range seeds {
			w := wins[rng.IntN(len(seeds))]
			tot += (poisson(rng, w[0]) - poisson(rng, w[1])) / float64(n)
		}
		return tot / float64(len(seeds))
	})
	return diff, lo, hi
}

// meanInterval is the 95% interval of a strategy's mean accuracy by the
// same two-level bootstrap (seeds, then images).
func meanInterval(runs map[int]Run, n int, rng *rand.Rand) (lo, hi float64, ok bool) {
	var hits []int
	for _, s := range sortedSeeds(runs) {
		r := runs[s]
		if n == 0 || len(r.TestCorrect) != (n+7)/8 {
			continue
		}
		c := 0
		for i := 0; i < n; i++ {
			if bit(r.TestCorrect, i) {
				c++
			}
		}
		hits = append(hits, c)
	}
	if len(hits) == 0 {
		return 0, 0, false
	}
	lo, hi = percentiles(func() float64 {
		var tot float64
		for range hits {
			// Hits and misses both drawn: Poisson(hits)/n alone would
			// give the variance of a count, not of a share, and widen
			// the interval by 1/√(1−accuracy).
			h := hits[rng.IntN(len(hits))]
			x, y := poisson(rng, h), poisson(rng, n-h)
			if x+y > 0 {
				tot += x / (x + y)
			}
		}
		return tot / float64(len(hits))
	})
	return lo, hi, true
}

// Detectors. Their score, mAP@0.5, is not a sum over test images, so the
// shortcut above (only the counts of disagreements matter) does not hold:
// each resample draws a Poisson(1) weight for every test image and
// recomputes mAP from the run's APRecords, which give it exactly for any
// weights. The bootstrap is otherwise the same: seeds with replacement,
// then images, the same image weights for both detectors of a pair.

// apRecords are a run's AP records when a bootstrap can use them: present,
// consistent, and with a class that has ground truth (else mAP is
// undefined under every weighting).
func apRecords(r Run) (*metrics.APRecords, bool) {
	a := r.APRecords
	if a == nil || a.Check() != nil {
		return nil, false
	}
	for _, c := range a.Classes {
		if len(c.GroundTruths) > 0 {
			return a, true
		}
	}
	return nil, false
}

// pairedRunsAP are the seeds on which two detectors both have usable AP
// records over the same test images: the units pairedDiffAP resamples.
func pairedRunsAP(a, b map[int]Run) (seeds []int) {
	for s, ra := range a {
		if _, _, ok := pairAP(ra, b[s]); ok {
			seeds = append(seeds, s)
		}
	}
	slices.Sort(seeds)
	return seeds
}

// pairAP are two runs' AP records when both are usable and over the same
// ground truth, hence the same test images; their Images may differ,
// where one detector found nothing in the last images.
func pairAP(ra, rb Run) (x, y *metrics.APRecords, ok bool) {
	x, okA := apRecords(ra)
	y, okB := apRecords(rb)
	if !okA || !okB || len(x.Classes) != len(y.Classes) {
		return nil, nil, false
	}
	for i := range x.Classes {
		cx, cy := &x.Classes[i], &y.Classes[i]
		if cx.Class != cy.Class || !slices.Equal(cx.GroundTruths, cy.GroundTruths) {
			return nil, nil, false
		}
	}
	return x, y, true
}

// maxRedraws bounds the redraws of a resample that dropped every image
// with ground truth (mAP undefined): likely only for a test set with one
// or two annotated images; past it, the images count once each.
const maxRedraws = 100

// resampleAP draws Poisson(1) image weights into w (one per image of the
// records, as many as the longest needs) and sets ap[i] to recs[i]'s mAP@0.5 under them, redrawing
// when a resample leaves one without ground truth.
func resampleAP(rng *rand.Rand, w, ap []float64, recs []*metrics.APRecords) {
	for range maxRedraws {
		for i := range w {
			w[i] = poisson(rng, 1)
		}
		ok := true
		for i, r := range recs {
			ap[i] = r.MeanAP(w)
			ok = ok && ap[i] >= 0
		}
		if ok {
			return
		}
	}
	for i, r := range recs {
		ap[i] = r.MeanAP(nil)
	}
}

// meanIntervalAP is the 95% interval of a detector's mean mAP@0.5 over
// seeds by the two-level bootstrap (seeds, then test images), from the
// runs' AP records; ok is false when no run has usable ones.
func meanIntervalAP(runs map[int]Run, rng *rand.Rand) (lo, hi float64, ok bool) {
	var recs []*metrics.APRecords
	images := 0
	for _, s := range sortedSeeds(runs) {
		if a, ok := apRecords(runs[s]); ok {
			recs = append(recs, a)
			images = max(images, a.Images)
		}
	}
	if len(recs) == 0 {
		return 0, 0, false
	}
	w := make([]float64, images)
	var ap [1]float64
	lo, hi = percentiles(func() float64 {
		var tot float64
		for range recs {
			k := rng.IntN(len(recs))
			resampleAP(rng, w[:recs[k].Images], ap[:], recs[k:k+1])
			tot += ap[0]
		}
		return tot / float64(len(recs))
	})
	return lo, hi, true
}

// pairedDiffAP is the mean mAP@0.5 difference a − b over the paired seeds
// (pairedRunsAP) and its 95% interval: seeds drawn with replacement, then
// the same image weights for both detectors, so that what they share —
// the split, the hard images — cancels as in pairedDiff. A run against
// itself differs by exactly 0 in every resample.
func pairedDiffAP(a, b map[int]Run, seeds []int, rng *rand.Rand) (diff, lo, hi float64) {
	pairs := make([][2]*metrics.APRecords, 0, len(seeds))
	images := 0
	for _, s := range seeds {
		x, y, ok := pairAP(a[s], b[s])
		if !ok {
			continue // pairedRunsAP leaves such seeds out
		}
		pairs = append(pairs, [2]*metrics.APRecords{x, y})
		images = max(images, x.Images, y.Images)
		diff += x.MeanAP(nil) - y.MeanAP(nil)
	}
	if len(pairs) == 0 {
		return 0, 0, 0
	}
	diff /= float64(len(pairs))
	w := make([]float64, images)
	var ap [2]float64
	lo, hi = percentiles(func() float64 {
		var tot float64
		for range pairs {
			p := &pairs[rng.IntN(len(pairs))]
			resampleAP(rng, w[:max(p[0].Images, p[1].Images)], ap[:], p[:])
			tot += ap[0] - ap[1]
		}
		return tot / float64(len(pairs))
	})
	return diff, lo, hi
}

func sortedSeeds(runs map[int]Run) []int {
	var s []int
	for k := range runs {
		s = append(s, k)
	}
	slices.Sort(s)
	return s
}

// percentiles draws BootstrapSamples statistics and returns their 2.5th
// and 97.5th percentiles.
func percentiles(draw func() float64) (lo, hi float64) {
	stats := make([]float64, BootstrapSamples)
	for i := range stats {
		stats[i] = draw()
	}
	slices.Sort(stats)
	return stats[int(0.025*float64(len(stats)))], stats[int(0.975*float64(len(stats)))-1]
}

// poisson draws from Poisson(lambda): by inversion for small means, by
// the normal approximation (error below the interval's own resolution)
// for large ones.
func poisson(rng *rand.Rand, lambda int) float64 {
	if lambda == 0 {
		return 0
	}
	if lambda > 50 {
		return math.Max(0, math.Round(float64(lambda)+math.Sqrt(float64(lambda))*rng.NormFloat64()))
	}
	l := math.Exp(-float64(lambda))
	k, p := 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return float64(k)
		}
		k++
	}
}
