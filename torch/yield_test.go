package torch

import (
	"sync/atomic"
	"testing"
)

func TestYielderEveryInterval(t *testing.T) {
	var clock int64
	var active atomic.Int32
	yields := 0
	y := &yielder{every: 8, now: func() int64 { return clock }, yield: func() { yields++ }, active: &active}
	clock = 100
	if y.maybe() {
		t.Error("yielded with no locked run: an unlocked goroutine may resume on another thread")
	}
	clock = 0
	active.Add(1)
	steps := []struct {
		at   int64
		want bool
	}{
		{0, false}, // the clock starts where last does: nothing has run yet
		{3, false},
		{7, false},
		{8, true}, // a full interval since the start
		{9, false},
		{15, false},
		{16, true},
		{40, true}, // a long call: one yield, not one per missed interval
		{41, false},
	}
	for _, s := range steps {
		clock = s.at
		if got := y.maybe(); got != s.want {
			t.Errorf("at %d: yielded %v, want %v", s.at, got, s.want)
		}
	}
	if yields != 3 {
		t.Errorf("yield ran %d times, want 3", yields)
	}
}
