package transferability

import (
	"errors"
	"fmt"
	"math"
)

// ErrTooFewClasses is returned when fewer than two distinct labels are present.
var ErrTooFewClasses = errors.New("transferability: at least two classes must be present in labels")

// checkMatrix validates a non-empty rectangular matrix of finite values and
// returns its column count.
func checkMatrix(name string, x [][]float64) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("transferability: %s is empty", name)
	}
	d := len(x[0])
	if d == 0 {
		return 0, fmt.Errorf("transferability: %s has zero columns", name)
	}
	for i, row := range x {
		if len(row) != d {
			return 0, fmt.Errorf("transferability: %s row %d has %d columns, want %d", name, i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("transferability: %s[%d][%d] is not finite (%v)", name, i, j, v)
			}
		}
	}
	return d, nil
}

// checkLabels validates that labels has length n, that every label lies in
// [0, classes) when classes > 0 (or is non-negative when classes <= 0), and
// that at least two classes are present. It returns the per-class counts
// indexed by label.
func checkLabels(labels []int, n, classes int) ([]int, error) {
	if len(labels) != n {
		return nil, fmt.Errorf("transferability: %d labels for %d samples", len(labels), n)
	}
	max := -1
	for i, y := range labels {
		if y < 0 {
			return nil, fmt.Errorf("transferability: label[%d] = %d is negative", i, y)
		}
		if classes > 0 && y >= classes {
			return nil, fmt.Errorf("transferability: label[%d] = %d out of range [0, %d)", i, y, classes)
		}
		if y > max {
			max = y
		}
	}
	k := classes
	if k <= 0 {
		k = max + 1
	}
	counts := make([]int, k)
	present := 0
	for _, y := range labels {
		if counts[y] == 0 {
			present++
		}
		counts[y]++
	}
	if present < 2 {
		return nil, ErrTooFewClasses
	}
	return counts, nil
}
