package metrics

import (
	"math"
	"testing"
)

// Helpers for the detection tests: boxes in COCO's [x, y, w, h], and one
// ground truth or detection per call.

func xywh(x, y, w, h float64) Box { return BoxXYWH(x, y, w, h) }

func gt(image, class int, b Box) GroundTruth {
	return GroundTruth{Image: image, Class: class, Box: b}
}

func det(image, class int, b Box, score float64) Detection {
	return Detection{Image: image, Class: class, Box: b, Score: score}
}

// near compares with 1e-12: pycocotools' precision is tp/(tp+fp+2⁻⁵²), so a
// "perfect" 1 is 1/(1+2⁻⁵²) = 1−2⁻⁵², and sums of thirds round.
func near(got, want float64) bool { return math.Abs(got-want) <= 1e-12 }

// checkRange fails unless v is in [0, 1] or exactly -1 (nothing evaluated).
func checkRange(t *testing.T, name string, v float64) {
	t.Helper()
	if v != -1 && !(v >= 0 && v <= 1) {
		t.Errorf("%s = %v, want a number in [0, 1] or -1", name, v)
	}
}

func nanF() float64 { return math.NaN() }
func infF() float64 { return math.Inf(1) }
