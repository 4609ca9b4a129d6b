package metrics

import (
	"math"
	"testing"
)

func TestConfusion(t *testing.T) {
	c := NewConfusion([]string{"a", "b", "c"})
	// truth a: 2 right, 1 as b; truth b: 1 right; class c absent.
	for _, p := range [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}, {7, 0}} {
		c.Add(p[0], p[1])
	}
	if c.Total() != 4 {
		t.Fatalf("total %d (out-of-range label must be ignored)", c.Total())
	}
	cases := []struct {
		name      string
		got, want float64
	}{
		{"accuracy", c.Accuracy(), 0.75},
		{"recall a", c.PerClassAccuracy()[0], 2.0 / 3},
		{"recall b", c.PerClassAccuracy()[1], 1},
		{"absent c", c.PerClassAccuracy()[2], -1},
		// F1(a) = 2·1·(2/3)/(1+2/3) = 0.8; F1(b) = 2·0.5·1/1.5 = 2/3.
		{"macro F1", c.MacroF1(), (0.8 + 2.0/3) / 2},
	}
	for _, tc := range cases {
		if math.Abs(tc.got-tc.want) > 1e-12 {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}
