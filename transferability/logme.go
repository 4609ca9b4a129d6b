package transferability

import (
	"fmt"
	"math"
)

// LogME iteration controls. The paper's Algorithm 1 iterates the fixed point
// "until α, β converge"; we stop when λ = α/β changes by less than
// logmeTol relatively, or after logmeMaxIter iterations.
const (
	logmeTol     = 1e-6
	logmeMaxIter = 1000
)

// LogME returns the LogME score of You, Liu, Wang and Long, "LogME: Practical
// Assessment of Pre-trained Models for Transfer Learning" (ICML 2021).
//
// features is an n×D matrix (one row per target sample), labels[i] in
// [0, classes). For every class c present in labels a one-hot target
// y_c ∈ {0,1}ⁿ is regressed on the features with the Bayesian linear model
// w ~ N(0, α⁻¹I), y | F, w ~ N(Fw, β⁻¹I); α and β are chosen by the
// fixed-point evidence maximisation of Algorithm 1 (starting at α = β = 1,
// with the decomposition of F computed once), and the log evidence divided by
// n is averaged over the classes present. Classes absent from labels are
// skipped (their target is identically zero and the evidence is unbounded).
// Larger is better.
func LogME(features [][]float64, labels []int, classes int) (float64, error) {
	d, err := checkMatrix("features", features)
	if err != nil {
		return 0, err
	}
	if classes < 2 {
		return 0, fmt.Errorf("transferability: classes = %d, need at least 2", classes)
	}
	n := len(features)
	counts, err := checkLabels(labels, n, classes)
	if err != nil {
		return 0, err
	}

	// Decompose the smaller Gram matrix once. Let F = U Σ Vᵀ with s = σ².
	//  - D <= n: FᵀF = V S Vᵀ. For target y, t = Vᵀ Fᵀ y; then
	//      m = V diag(β/(α+βs)) t, ‖m‖² = Σ β² t²/(α+βs)²,
	//    and the residual ‖y − Fm‖² is computed directly.
	//  - D > n: FFᵀ = U S Uᵀ (n×n). For target y, z = Uᵀ y; then
	//      ‖m‖² = Σ β² s z²/(α+βs)², ‖y − Fm‖² = Σ (α z/(α+βs))²,
	//    and the remaining D−n eigenvalues of FᵀF are zero.
	var s, vecs []float64
	primal := d <= n
	if primal {
		s, vecs = symEigen(gram(features, d, nil), d)
	} else {
		g := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := dot(features[i], features[j])
				g[i*n+j], g[j*n+i] = v, v
			}
		}
		s, vecs = symEigen(g, n)
	}
	r := len(s)
	for i := range s {
		if s[i] < 0 { // round-off on a PSD matrix
			s[i] = 0
		}
	}

	total, used := 0.0, 0
	y := make([]float64, n)
	t := make([]float64, r)
	m := make([]float64, d)
	fm := make([]float64, n)
	for c := 0; c < classes; c++ {
		if counts[c] == 0 {
			continue
		}
		for i := range y {
			y[i] = 0
			if labels[i] == c {
				y[i] = 1
			}
		}
		// t = Vᵀ(Fᵀy) in the primal case, z = Uᵀy in the dual case.
		if primal {
			fty := make([]float64, d)
			for i, row := range features {
				if y[i] != 0 {
					for j, v := range row {
						fty[j] += v
					}
				}
			}
			for k := 0; k < r; k++ {
				acc := 0.0
				for j := 0; j < d; j++ {
					acc += vecs[j*r+k] * fty[j]
				}
				t[k] = acc
			}
		} else {
			for k := 0; k < r; k++ {
				acc := 0.0
				for i := 0; i < n; i++ {
					acc += vecs[i*r+k] * y[i]
				}
				t[k] = acc
			}
		}

		// stats returns γ, ‖m‖², ‖y−Fm‖² for the current α, β.
		stats := func(alpha, beta float64) (gamma, mm, res float64) {
			for k := 0; k < r; k++ {
				den := alpha + beta*s[k]
				gamma += beta * s[k] / den
				if primal {
					mm += beta * beta * t[k] * t[k] / (den * den)
				} else {
					mm += beta * beta * s[k] * t[k] * t[k] / (den * den)
					e := alpha * t[k] / den
					res += e * e
				}
			}
			if primal {
				for j := 0; j < d; j++ {
					acc := 0.0
					for k := 0; k < r; k++ {
						acc += vecs[j*r+k] * beta / (alpha + beta*s[k]) * t[k]
					}
					m[j] = acc
				}
				for i, row := range features {
					fm[i] = dot(row, m)
				}
				for i := range y {
					e := y[i] - fm[i]
					res += e * e
				}
			}
			return gamma, mm, res
		}

		alpha, beta := 1.0, 1.0
		lam := alpha / beta
		for it := 0; it < logmeMaxIter; it++ {
			gamma, mm, res := stats(alpha, beta)
			if !(mm > 0) || !(res > 0) {
				break // exact fit or degenerate target: keep the last finite α, β
			}
			alpha = gamma / mm
			beta = (float64(n) - gamma) / res
			newLam := alpha / beta
			if math.Abs(newLam-lam)/lam < logmeTol {
				break
			}
			lam = newLam
		}
		_, mm, res := stats(alpha, beta)
		logdet := 0.0
		for k := 0; k < r; k++ {
			logdet += math.Log(alpha + beta*s[k])
		}
		logdet += float64(d-r) * math.Log(alpha) // zero eigenvalues of FᵀF when D > n
		ev := float64(d)/2*math.Log(alpha) + float64(n)/2*math.Log(beta) - 0.5*logdet -
			beta/2*res - alpha/2*mm - float64(n)/2*math.Log(2*math.Pi)
		if math.IsNaN(ev) || math.IsInf(ev, 0) {
			return 0, fmt.Errorf("transferability: LogME evidence for class %d is not finite", c)
		}
		total += ev / float64(n)
		used++
	}
	return total / float64(used), nil
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
