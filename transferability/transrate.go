package transferability

import (
	"fmt"
	"math"
)

// DefaultTransRateEps2OverD is used when TransRate is called with eps <= 0:
// ε is then set so that ε²/d = 1e-4, i.e. d/(nε²) = 1/(n·1e-4). This is the
// scaling of the authors' released code (coding_rate(Z, eps=1e-4) computes
// ½ logdet(I + 1/(n·eps) ZᵀZ)), written in the paper's ε parametrisation.
const DefaultTransRateEps2OverD = 1e-4

// TransRate returns the TransRate score of Huang, Huang, Rong, Yang and Wei,
// "Frustratingly Easy Transferability Estimation" (ICML 2022): the coding
// rate of the (globally centred) features minus their class-conditional
// coding rate,
//
//	TrR = R(Z, ε) − R(Z, ε | Y),
//	R(Z, ε)     = ½ logdet(I + d/(n ε²) ZᵀZ),
//	R(Z, ε | Y) = Σ_y (n_y/n) · ½ logdet(I + d/(n_y ε²) Z_yᵀZ_y),
//
// where Z is the n×d feature matrix centred by its overall mean and Z_y its
// rows with label y (not re-centred), in nats. By concavity of logdet the score
// is ≥ 0; larger is better. eps <= 0 selects the default (see
// DefaultTransRateEps2OverD).
//
// Note: the paper weights the class terms by n_y/n, as here; the authors'
// released code weights them uniformly by 1/C. The two coincide for balanced
// classes.
func TransRate(features [][]float64, labels []int, eps float64) (float64, error) {
	d, err := checkMatrix("features", features)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(eps) || math.IsInf(eps, 0) {
		return 0, fmt.Errorf("transferability: eps = %v is not finite", eps)
	}
	n := len(features)
	counts, err := checkLabels(labels, n, 0)
	if err != nil {
		return 0, err
	}
	eps2 := eps * eps
	if eps <= 0 {
		eps2 = DefaultTransRateEps2OverD * float64(d)
	}
	mean := make([]float64, d)
	for _, row := range features {
		for j, v := range row {
			mean[j] += v / float64(n)
		}
	}
	z := make([][]float64, n)
	for i, row := range features {
		c := make([]float64, d)
		for j, v := range row {
			c[j] = v - mean[j]
		}
		z[i] = c
	}
	rate := func(idx []int, m int) (float64, error) {
		g := gram(z, d, idx)
		scale := float64(d) / (float64(m) * eps2)
		for i := range g {
			g[i] *= scale
		}
		for j := 0; j < d; j++ {
			g[j*d+j] += 1
		}
		ld, err := logDetSPD(g, d)
		return 0.5 * ld, err
	}
	rz, err := rate(nil, n)
	if err != nil {
		return 0, fmt.Errorf("transferability: TransRate: %w", err)
	}
	byClass := make([][]int, len(counts))
	for i, y := range labels {
		byClass[y] = append(byClass[y], i)
	}
	rc := 0.0
	for y, idx := range byClass {
		if len(idx) == 0 {
			continue
		}
		r, err := rate(idx, counts[y])
		if err != nil {
			return 0, fmt.Errorf("transferability: TransRate class %d: %w", y, err)
		}
		rc += float64(counts[y]) / float64(n) * r
	}
	return rz - rc, nil
}
