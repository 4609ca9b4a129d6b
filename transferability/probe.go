package transferability

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ProbeLambdas are the ridge penalties ProbeCV tries, relative to the mean
// eigenvalue of the standardised features' Gram matrix: from almost
// unregularised to strongly shrunk.
var ProbeLambdas = []float64{1e-3, 1e-2, 1e-1, 1, 10}

// ProbeCV estimates the accuracy of a linear classifier trained on frozen
// features (a "linear probe") by stratified k-fold cross-validation: a
// ridge regression onto one-hot labels, with features standardised on each
// training fold. Published comparisons (e.g. Agostinelli et al., ECCV
// 2022) find such a cheap probe ranks models and layers about as well as
// the dedicated scores; unlike them it is an accuracy, comparable with
// what fine-tuning measures. The penalty is chosen from ProbeLambdas by
// the folds' squared error. folds <= 1
// selects 5 (fewer when the smallest class has fewer images).
func ProbeCV(features [][]float64, labels []int, classes, folds int, seed uint64) (float64, error) {
	d, err := checkMatrix("features", features)
	if err != nil {
		return 0, err
	}
	counts, err := checkLabels(labels, len(features), classes)
	if err != nil {
		return 0, err
	}
	fold := stratifiedFolds(labels, counts, folds, seed)
	k := slices.Max(fold) + 1
	correct := make([]int, len(ProbeLambdas))
	sqerr := make([]float64, len(ProbeLambdas))
	for f := 0; f < k; f++ {
		var tr, te []int
		for i, fi := range fold {
			if fi == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		if len(te) == 0 || len(tr) == 0 {
			continue
		}
		x, mu, sd := standardise(features, tr, d)
		ws, err := ridge(x, labels, tr, len(counts), d, ProbeLambdas)
		if err != nil {
			return 0, err
		}
		for li, w := range ws {
			row := make([]float64, d)
			for _, i := range te {
				for j := range row {
					row[j] = (features[i][j] - mu[j]) / sd[j]
				}
				sc := w.score(row)
				if argmax(sc) == labels[i] {
					correct[li]++
				}
				for c, v := range sc {
					if c == labels[i] {
						v--
					}
					sqerr[li] += v * v
				}
			}
		}
	}
	// The penalty is chosen by squared error, the criterion ridge
	// minimises: picking the best accuracy of several would report the
	// luckiest, an optimistic estimate on small sets.
	best := 0
	for i, e := range sqerr {
		if e < sqerr[best] {
			best = i
		}
	}
	return float64(correct[best]) / float64(len(features)), nil
}

// stratifiedFolds assigns every sample a fold, each class spread evenly.
func stratifiedFolds(labels, counts []int, folds int, seed uint64) []int {
	if folds <= 1 {
		folds = 5
	}
	smallest := math.MaxInt
	for _, c := range counts {
		if c > 0 {
			smallest = min(smallest, c)
		}
	}
	folds = max(2, min(folds, smallest))
	r := rand.New(rand.NewPCG(seed, 0x70726f6265))
	byClass := make([][]int, len(counts))
	for i, y := range labels {
		byClass[y] = append(byClass[y], i)
	}
	out := make([]int, len(labels))
	next := 0
	for _, idx := range byClass {
		r.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			out[i] = next % folds
			next++
		}
	}
	return out
}

// standardise returns the rows idx of x scaled to zero mean and unit
// variance per column (constant columns left at zero), with the scaling.
func standardise(x [][]float64, idx []int, d int) (rows [][]float64, mu, sd []float64) {
	mu, sd = make([]float64, d), make([]float64, d)
	for _, i := range idx {
		for j, v := range x[i] {
			mu[j] += v
		}
	}
	n := float64(len(idx))
	for j := range mu {
		mu[j] /= n
	}
	for _, i := range idx {
		for j, v := range x[i] {
			sd[j] += (v - mu[j]) * (v - mu[j])
		}
	}
	for j := range sd {
		sd[j] = math.Sqrt(sd[j] / n)
		if sd[j] < 1e-12 {
			sd[j] = math.Inf(1) // a constant column standardises to 0
		}
	}
	rows = make([][]float64, len(idx))
	for k, i := range idx {
		r := make([]float64, d)
		for j, v := range x[i] {
			r[j] = (v - mu[j]) / sd[j]
		}
		rows[k] = r
	}
	return rows, mu, sd
}

// linearScorer is W (d×c) and a bias per class.
type linearScorer struct {
	w    []float64
	bias []float64
	d, c int
}

func (l linearScorer) score(x []float64) []float64 {
	out := slices.Clone(l.bias)
	for j, v := range x {
		if v == 0 {
			continue
		}
		wj := l.w[j*l.c : (j+1)*l.c]
		for k := range out {
			out[k] += v * wj[k]
		}
	}
	return out
}

// ridge fits standardised rows x (of samples tr) to one-hot labels with
// each penalty of lams times the mean Gram eigenvalue, in the primal (d×d)
// or, with fewer samples than features, the dual (n×n) form. The Gram
// matrix and the right-hand sides are computed once for all penalties:
// they are most of the work.
func ridge(x [][]float64, labels, tr []int, c, d int, lams []float64) ([]linearScorer, error) {
	return ridgeForm(x, labels, tr, c, d, lams, len(x) >= d)
}

func ridgeForm(x [][]float64, labels, tr []int, c, d int, lams []float64, primal bool) ([]linearScorer, error) {
	n := len(x)
	// Centred one-hot targets: the bias is then the class frequency.
	freq := make([]float64, c)
	for _, i := range tr {
		freq[labels[i]]++
	}
	for k := range freq {
		freq[k] /= float64(n)
	}
	y := func(s, k int) float64 {
		v := -freq[k]
		if labels[tr[s]] == k {
			v++
		}
		return v
	}
	m := n // the system's size
	var g []float64
	var trace float64
	if primal {
		m = d
		g = gram(x, d, nil)
	} else {
		g = make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := dot4(x[i], x[j])
				g[i*n+j], g[j*n+i] = v, v
			}
		}
	}
	for i := 0; i < m; i++ {
		trace += g[i*m+i]
	}
	// Right-hand sides, m×c row-major: Xᵀy in the primal, y in the dual.
	rhs := make([]float64, m*c)
	for s, row := range x {
		for k := 0; k < c; k++ {
			yk := y(s, k)
			if !primal {
				rhs[s*c+k] = yk
				continue
			}
			for j, v := range row {
				rhs[j*c+k] += v * yk
			}
		}
	}
	out := make([]linearScorer, len(lams))
	a := make([]float64, m*m)
	for li, lam := range lams {
		// XXᵀ and XᵀX share their nonzero eigenvalues: scaling by the
		// mean over d makes primal and dual agree.
		pen := lam * math.Max(trace/float64(d), 1e-12)
		copy(a, g)
		for i := 0; i < m; i++ {
			a[i*m+i] += pen
		}
		if err := cholesky(a, m); err != nil {
			return nil, fmt.Errorf("linear probe: %w", err)
		}
		b := slices.Clone(rhs)
		cholSolveRows(a, m, b, c)
		w := linearScorer{w: b, bias: freq, d: d, c: c}
		if !primal {
			// Dual: W = Xᵀ (X Xᵀ + λI)⁻¹ Y.
			w.w = make([]float64, d*c)
			for s, row := range x {
				as := b[s*c : (s+1)*c]
				for j, v := range row {
					wj := w.w[j*c : (j+1)*c]
					for k, av := range as {
						wj[k] += v * av
					}
				}
			}
		}
		out[li] = w
	}
	return out, nil
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// KNN is the leave-one-out accuracy of a k-nearest-neighbour classifier
// (cosine similarity of centred features, as DINO's k-NN evaluation uses,
// majority vote, ties to the nearer neighbours): the cheapest measure of how well the features
// already group the target classes. k <= 0 selects 5.
func KNN(features [][]float64, labels []int, classes, k int) (float64, error) {
	d, err := checkMatrix("features", features)
	if err != nil {
		return 0, err
	}
	counts, err := checkLabels(labels, len(features), classes)
	if err != nil {
		return 0, err
	}
	if k <= 0 {
		k = 5
	}
	n := len(features)
	k = min(k, n-1)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	x, _, sd := standardise(features, all, d)
	// Undo the scaling, keep the centring: standardising would give
	// noise dimensions the weight of informative ones.
	for _, r := range x {
		for j := range r {
			if !math.IsInf(sd[j], 1) {
				r[j] *= sd[j]
			}
		}
	}
	for _, r := range x {
		if nrm := math.Sqrt(dot(r, r)); nrm > 0 {
			for j := range r {
				r[j] /= nrm
			}
		}
	}
	type nb struct {
		sim float64
		y   int
	}
	correct := 0
	nbs := make([]nb, 0, n)
	for i := range x {
		nbs = nbs[:0]
		for j := range x {
			if j != i {
				nbs = append(nbs, nb{dot(x[i], x[j]), labels[j]})
			}
		}
		slices.SortFunc(nbs, func(a, b nb) int { return -cmpFloat(a.sim, b.sim) })
		votes := make([]float64, len(counts))
		for r, v := range nbs[:k] {
			// A vanishing tie-break weight: the nearer neighbour wins a tie.
			votes[v.y] += 1 + 1e-6*float64(k-r)
		}
		if argmax(votes) == labels[i] {
			correct++
		}
	}
	return float64(correct) / float64(n), nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
