package transferability

import (
	"fmt"
	"math"
)

// LEEP returns the Log Expected Empirical Prediction of Nguyen, Hassner,
// Seeger and Archambeau, "LEEP: A New Measure to Evaluate Transferability of
// Learned Representations" (ICML 2020).
//
// sourceProbs[i] is the source classifier's softmax output θ(x_i) over its Z
// source classes;
// labels[i] ∈ [0, classes) is the target label. With the empirical joint
// P̂(y, z) = (1/n) Σ_{i: y_i = y} θ(x_i)_z, marginal P̂(z) = Σ_y P̂(y, z) and
// conditional P̂(y|z) = P̂(y, z)/P̂(z),
//
//	LEEP = (1/n) Σ_i log Σ_z P̂(y_i|z) θ(x_i)_z.
//
// Source classes with P̂(z) = 0 never contribute and are skipped. Each row
// must sum to 1 within 1e-3. The score is ≤ 0; larger is better.
func LEEP(sourceProbs [][]float64, labels []int, classes int) (float64, error) {
	z, err := checkMatrix("sourceProbs", sourceProbs)
	if err != nil {
		return 0, err
	}
	if classes < 2 {
		return 0, fmt.Errorf("transferability: classes = %d, need at least 2", classes)
	}
	n := len(sourceProbs)
	if _, err := checkLabels(labels, n, classes); err != nil {
		return 0, err
	}
	for i, row := range sourceProbs {
		sum := 0.0
		for j, p := range row {
			if p < 0 {
				return 0, fmt.Errorf("transferability: sourceProbs[%d][%d] = %v is negative", i, j, p)
			}
			sum += p
		}
		if math.Abs(sum-1) > 1e-3 {
			return 0, fmt.Errorf("transferability: sourceProbs[%d] sums to %v, want 1", i, sum)
		}
	}
	joint := make([]float64, classes*z) // joint[y*z+k]
	for i, row := range sourceProbs {
		jy := joint[labels[i]*z:]
		for k, p := range row {
			jy[k] += p / float64(n)
		}
	}
	marg := make([]float64, z)
	for y := 0; y < classes; y++ {
		for k := 0; k < z; k++ {
			marg[k] += joint[y*z+k]
		}
	}
	total := 0.0
	for i, row := range sourceProbs {
		eep := 0.0
		jy := joint[labels[i]*z:]
		for k, p := range row {
			if marg[k] > 0 {
				eep += jy[k] / marg[k] * p
			}
		}
		total += math.Log(eep)
	}
	return total / float64(n), nil
}
