package advise

import (
	"math"
	"math/rand/v2"
	"slices"
)

// frechet is the Fréchet distance between Gaussians fitted to the rows of
// a (source) and b (target) with diagonal covariances,
// ‖μa−μb‖² + Σ(σa−σb)², divided by the source's total variance so that
// stages of different widths compare: 0 is the same distribution, 1 a
// shift as large as the source's own spread. (The full-covariance FID
// needs more images than features to be stable; few-shot sets have not.)
func frechet(a, b [][]float64) float64 {
	ma, sa := moments(a)
	mb, sb := moments(b)
	var d, total float64
	for j := range ma {
		d += (ma[j]-mb[j])*(ma[j]-mb[j]) + (sa[j]-sb[j])*(sa[j]-sb[j])
		total += sa[j] * sa[j]
	}
	if total == 0 {
		return 0
	}
	return d / total
}

func moments(x [][]float64) (mu, sd []float64) {
	d := len(x[0])
	mu, sd = make([]float64, d), make([]float64, d)
	for _, r := range x {
		for j, v := range r {
			mu[j] += v
		}
	}
	n := float64(len(x))
	for j := range mu {
		mu[j] /= n
	}
	for _, r := range x {
		for j, v := range r {
			sd[j] += (v - mu[j]) * (v - mu[j])
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / n)
	}
	return mu, sd
}

// mmdRows caps each side of the MMD: the estimate's cost is quadratic.
const mmdRows = 300

// mmd2 is the unbiased squared maximum mean discrepancy (Gretton et al.,
// JMLR 2012) between the rows of a and b with a Gaussian kernel whose
// width is the median distance between all rows: about 0 for one
// distribution, up to 2 for disjoint ones.
func mmd2(a, b [][]float64, seed uint64) float64 {
	a, b = subsample(a, seed), subsample(b, seed+1)
	all := append(slices.Clone(a), b...)
	var dists []float64
	for i := range all {
		for j := i + 1; j < len(all); j++ {
			dists = append(dists, sqdist(all[i], all[j]))
		}
	}
	slices.Sort(dists)
	h := dists[len(dists)/2]
	if h == 0 {
		h = 1
	}
	k := func(x, y []float64) float64 { return math.Exp(-sqdist(x, y) / h) }
	within := func(x [][]float64) float64 {
		var s float64
		for i := range x {
			for j := range x {
				if i != j {
					s += k(x[i], x[j])
				}
			}
		}
		n := float64(len(x))
		return s / (n * (n - 1))
	}
	var cross float64
	for _, x := range a {
		for _, y := range b {
			cross += k(x, y)
		}
	}
	cross /= float64(len(a) * len(b))
	return within(a) + within(b) - 2*cross
}

func subsample(x [][]float64, seed uint64) [][]float64 {
	if len(x) <= mmdRows {
		return x
	}
	r := rand.New(rand.NewPCG(seed, 0x6d6d64))
	idx := r.Perm(len(x))[:mmdRows]
	out := make([][]float64, mmdRows)
	for i, j := range idx {
		out[i] = x[j]
	}
	return out
}

func sqdist(x, y []float64) float64 {
	var s float64
	for i := range x {
		d := x[i] - y[i]
		s += d * d
	}
	return s
}

// KendallTau is Kendall's τ-b between two scorings of the same items
// (ties in either count as neither concordant nor discordant): 1 for the
// same order, −1 for the reverse, 0 for none in common.
func KendallTau(a, b []float64) float64 {
	var conc, disc, tieA, tieB float64
	for i := range a {
		for j := i + 1; j < len(a); j++ {
			da, db := a[i]-a[j], b[i]-b[j]
			switch {
			case da == 0 && db == 0:
			case da == 0:
				tieA++
			case db == 0:
				tieB++
			case (da > 0) == (db > 0):
				conc++
			default:
				disc++
			}
		}
	}
	den := math.Sqrt((conc + disc + tieA) * (conc + disc + tieB))
	if den == 0 {
		return 0
	}
	return (conc - disc) / den
}
