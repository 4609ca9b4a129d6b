package transferability_test

import (
	"fmt"

	"github.com/graftml/graft/transferability"
)

func Example() {
	// Penultimate features of six target images, two classes.
	features := [][]float64{
		{1.0, 0.1}, {0.9, -0.1}, {1.1, 0.0},
		{-1.0, 0.1}, {-0.9, 0.0}, {-1.1, -0.1},
	}
	labels := []int{0, 0, 0, 1, 1, 1}

	h, _ := transferability.HScore(features, labels)
	fmt.Printf("H-score: %.3f\n", h)

	// Source-classifier hard predictions (source classes 7 and 3).
	pred := []int{7, 7, 7, 3, 3, 7}
	nce, _ := transferability.NCE(pred, labels)
	fmt.Printf("NCE: %.3f\n", nce)

	logme, err := transferability.LogME(features, labels, 2)
	fmt.Println("LogME ok:", err == nil && logme > -2)
	// Output:
	// H-score: 0.995
	// NCE: -0.375
	// LogME ok: true
}
