package experiment

import (
	"math"
	"testing"
)

// The smoothed selection score: each rate with its neighbours (1/2/1, the
// weights renormalised at the ends), per head variant, failed rates left
// out, the best of those.
func TestSmoothedSelectionScore(t *testing.T) {
	ok := func(lr, acc float64) LRTrial { return LRTrial{LR: lr, ValAcc: acc, Status: "ok"} }
	head := func(h string, lr, acc float64) LRTrial { return LRTrial{LR: lr, Head: h, ValAcc: acc, Status: "ok"} }
	for _, c := range []struct {
		name   string
		search []LRTrial
		want   float64
		ok     bool
	}{
		{"a single rate is its own score", []LRTrial{ok(1e-2, 0.6)}, 0.6, true},
		// Given out of order, as a grid extended downwards is recorded:
		// sorted, 1e-3 is the edge, (2·0.9 + 0.3)/3.
		{"an edge weighs itself 2/3", []LRTrial{ok(1e-2, 0.3), ok(3e-2, 0.3), ok(1e-3, 0.9)}, 0.7, true},
		// 3e-3 diverged at 0.95: left out, 1e-3 and 1e-2 are neighbours;
		// at 1e-2, (2·0.7 + 0.5)/3.
		{"a failed rate is skipped", []LRTrial{ok(1e-3, 0.5), {LR: 3e-3, ValAcc: 0.95, Status: "diverged"}, ok(1e-2, 0.7)}, 1.9 / 3, true},
		{"nothing trained ok", []LRTrial{{LR: 1e-2, Status: "diverged"}, {LR: 1e-3, Status: "failed"}}, 0, false},
		{"nothing tried", nil, 0, false},
		// A lone spike: (0.5 + 2·0.9 + 0.5)/4 at 1e-2.
		{"a spike", []LRTrial{ok(1e-4, 0.5), ok(1e-3, 0.5), ok(1e-2, 0.9), ok(1e-1, 0.5)}, 0.7, true},
		// A plateau a tenth lower: (0.75 + 2·0.8 + 0.8)/4 inside.
		{"a plateau", []LRTrial{ok(1e-4, 0.75), ok(1e-3, 0.8), ok(1e-2, 0.8), ok(1e-1, 0.75)}, 0.7875, true},
		// Each head variant is its own curve: the standardized head's
		// 0.9 at both rates stands, where one curve over both heads
		// would put the raw head's 0.1 between them.
		{"two head variants", []LRTrial{head("standardized", 1e-3, 0.9), head("raw", 1e-3, 0.1), head("standardized", 1e-2, 0.9), head("raw", 1e-2, 0.1)}, 0.9, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := SmoothedSelectionScore(c.search)
			if ok != c.ok || math.Abs(got-c.want) > 1e-12 {
				t.Errorf("SmoothedSelectionScore = %v, %v; want %v, %v", got, ok, c.want, c.ok)
			}
		})
	}
}

func TestSmoothedBestRate(t *testing.T) {
	ok := func(lr, acc float64, head string) LRTrial {
		return LRTrial{LR: lr, ValAcc: acc, Head: head, Status: "ok"}
	}
	for _, c := range []struct {
		name   string
		search []LRTrial
		want   int // index; -1: none
	}{
		// The spike at 3e-2 reads 0.85 alone but (0.40+1.70+0.40)/4 =
		// 0.625 smoothed; the plateau at 1e-3, (0.78+1.60+0.77)/4 = 0.79.
		{"plateau over spike", []LRTrial{ok(1e-1, 0.40, ""), ok(3e-2, 0.85, ""), ok(1e-2, 0.40, ""), ok(3e-3, 0.78, ""), ok(1e-3, 0.80, ""), ok(3e-4, 0.77, "")}, 4},
		// Search order is not rate order: the curve is in rate order.
		{"extended grid out of order", []LRTrial{ok(1e-2, 0.5, ""), ok(1e-3, 0.7, ""), ok(1e-4, 0.7, ""), ok(3e-4, 0.72, "")}, 3},
		// Equal smoothed values: the higher accuracy of its own.
		{"tie to its own accuracy", []LRTrial{ok(1e-3, 0.6, ""), ok(1e-2, 0.6, "")}, 0},
		// Each head's rates are their own curve: the raw head's 0.9 has
		// no neighbour of its head to pull it down.
		{"heads apart", []LRTrial{ok(1e-2, 0.5, "standardized"), ok(1e-3, 0.6, "standardized"), ok(1e-2, 0.9, "raw")}, 2},
		// A diverged rate is never chosen, and its neighbours meet.
		{"diverged skipped", []LRTrial{{LR: 1e-1, Status: "diverged"}, ok(1e-2, 0.5, ""), ok(1e-3, 0.4, "")}, 1},
		{"none trained", []LRTrial{{LR: 1e-1, Status: "diverged"}}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, found := SmoothedBestRate(c.search)
			if !found {
				got = -1
			}
			if got != c.want {
				t.Errorf("chose %d, want %d", got, c.want)
			}
			// The score is the chosen rate's smoothed value.
			if s, ok := SmoothedSelectionScore(c.search); ok != found || (ok && s != smoothedCurve(c.search)[got]) {
				t.Errorf("score %v, %v does not match the choice", s, ok)
			}
		})
	}
}
