package experiment

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseShots reads a shots list: images per class, comma-separated, where
// "all" (0) takes every image, e.g. "5,20,all".
func ParseShots(s string) ([]int, error) {
	if strings.TrimSpace(s) == "all" {
		return []int{0}, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "all" {
			out = append(out, 0)
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q: expected images per class like 5,20 or all", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// ParseRates reads a comma-separated list of positive learning rates,
// e.g. "3e-3,1e-3".
func ParseRates(s string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q: expected positive numbers like 3e-3,1e-3", s)
		}
		out = append(out, v)
	}
	return out, nil
}
