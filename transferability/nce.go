package transferability

import (
	"fmt"
	"math"
)

// NCE returns the Negative Conditional Entropy of Tran, Nguyen and Hassner,
// "Transferability and Hardness of Supervised Classification Tasks" (ICCV
// 2019): NCE = −H(Y|Z) = Σ_{y,z} P̂(y, z) log P̂(y|z), where Z = sourcePred
// are the source classifier's hard (argmax) predictions on the target samples,
// Y = labels the target labels and P̂ the empirical joint distribution.
// Natural logarithm (nats). The score is ≤ 0 and equals 0 when the target
// label is a function of the source prediction; larger is better.
//
// Label values may be any non-negative integers (they need not be dense);
// at least two distinct target labels must be present.
func NCE(sourcePred []int, labels []int) (float64, error) {
	n := len(labels)
	if n == 0 {
		return 0, fmt.Errorf("transferability: labels is empty")
	}
	if len(sourcePred) != n {
		return 0, fmt.Errorf("transferability: %d source predictions for %d labels", len(sourcePred), n)
	}
	type pair struct{ y, z int }
	joint := map[pair]int{}
	marg := map[int]int{}
	ys := map[int]bool{}
	for i := range labels {
		if labels[i] < 0 {
			return 0, fmt.Errorf("transferability: label[%d] = %d is negative", i, labels[i])
		}
		if sourcePred[i] < 0 {
			return 0, fmt.Errorf("transferability: sourcePred[%d] = %d is negative", i, sourcePred[i])
		}
		joint[pair{labels[i], sourcePred[i]}]++
		marg[sourcePred[i]]++
		ys[labels[i]] = true
	}
	if len(ys) < 2 {
		return 0, ErrTooFewClasses
	}
	nce := 0.0
	for p, c := range joint {
		pyz := float64(c) / float64(n)
		nce += pyz * math.Log(float64(c)/float64(marg[p.z]))
	}
	return nce, nil
}
