package experiment

import (
	"slices"
	"strings"
	"testing"
)

func TestParseShots(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []int
		err  bool
	}{
		{"all", []int{0}, false},
		{" all ", []int{0}, false},
		{"5, 20,all", []int{5, 20, 0}, false},
		{"10", []int{10}, false},
		{"0", nil, true},
		{"5,x", nil, true},
		{"", nil, true},
	} {
		got, err := ParseShots(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ParseShots(%q) = %v, %v", tt.in, got, err)
		}
		if err != nil && !strings.Contains(err.Error(), "expected images per class like 5,20 or all") {
			t.Errorf("ParseShots(%q): %v", tt.in, err)
		}
	}
}

func TestParseRates(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []float64
		err  bool
	}{
		{"1e-2, 3e-3", []float64{1e-2, 3e-3}, false},
		{"0.1", []float64{0.1}, false},
		{"0", nil, true},
		{"-1e-3", nil, true},
		{"fast", nil, true},
	} {
		got, err := ParseRates(tt.in)
		if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
			t.Errorf("ParseRates(%q) = %v, %v", tt.in, got, err)
		}
	}
}
