package transferability

import "fmt"

// HScoreRidge is the relative ridge added to the feature covariance before it
// is inverted: H-score uses cov(f) + λI with λ = HScoreRidge · tr(cov(f))/D.
// Real features are often rank-deficient (D > n, dead units); the ridge keeps
// the inverse defined while changing the score by a relative O(1e-9) on
// well-conditioned inputs. (Bao et al.'s reference code uses a pseudo-inverse
// instead.)
const HScoreRidge = 1e-9

// HScore returns the H-score of Bao, Li, Huang, Zhang, Zheng, Zamir and Guibas,
// "An Information-Theoretic Approach to Transferability in Task Transfer
// Learning" (ICIP 2019):
//
//	H(f) = tr(cov(f)⁻¹ cov(E[f | y])),
//
// where cov(f) is the (biased, 1/n) covariance of the n×D features and
// cov(E[f|y]) the covariance over samples of each sample's class-mean feature
// (the between-class scatter). See HScoreRidge for singular covariances.
// For D = 1 it is the between-class variance over the total variance, in
// [0, 1]; in general it lies in [0, min(D, C−1)]. Larger is better. Labels may
// be any non-negative integers; at least two must be distinct.
func HScore(features [][]float64, labels []int) (float64, error) {
	d, err := checkMatrix("features", features)
	if err != nil {
		return 0, err
	}
	n := len(features)
	counts, err := checkLabels(labels, n, 0)
	if err != nil {
		return 0, err
	}
	mean := make([]float64, d)
	for _, row := range features {
		for j, v := range row {
			mean[j] += v / float64(n)
		}
	}
	centred := make([][]float64, n)
	for i, row := range features {
		c := make([]float64, d)
		for j, v := range row {
			c[j] = v - mean[j]
		}
		centred[i] = c
	}
	cov := gram(centred, d, nil)
	tr := 0.0
	for i := range cov {
		cov[i] /= float64(n)
	}
	for j := 0; j < d; j++ {
		tr += cov[j*d+j]
	}
	if !(tr > 0) {
		return 0, fmt.Errorf("transferability: features have zero variance")
	}
	lam := HScoreRidge * tr / float64(d)
	for j := 0; j < d; j++ {
		cov[j*d+j] += lam
	}
	// Class means of the centred features; between-class covariance
	// B = Σ_c (n_c/n) μ_c μ_cᵀ.
	mus := make([][]float64, len(counts))
	for i, row := range centred {
		c := labels[i]
		if mus[c] == nil {
			mus[c] = make([]float64, d)
		}
		for j, v := range row {
			mus[c][j] += v / float64(counts[c])
		}
	}
	if err := cholesky(cov, d); err != nil {
		return 0, fmt.Errorf("transferability: H-score covariance: %w", err)
	}
	// tr(Σ⁻¹B) = Σ_c (n_c/n) μ_cᵀ Σ⁻¹ μ_c.
	h := 0.0
	x := make([]float64, d)
	for c, mu := range mus {
		if mu == nil {
			continue
		}
		copy(x, mu)
		cholSolve(cov, d, x)
		h += float64(counts[c]) / float64(n) * dot(mu, x)
	}
	return h, nil
}
