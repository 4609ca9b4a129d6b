package bench

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// TestMeasureFreezing: on a tiny case, the probe runs the asked-for rounds
// of each kind, keeps each kind's fastest, and the cached and recomputing
// probes end with the same logits; freeze:K covers every body stage.
func TestMeasureFreezing(t *testing.T) {
	rep, err := MeasureFreezing(context.Background(), FreezeOptions{Model: "smallcnn", Size: 32, PerClass: 2, Epochs: 2, Threads: 2, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rounds != 2 || len(rep.CachedRuns) != 2 || len(rep.UncachedRuns) != 2 {
		t.Fatalf("rounds %d, runs %v and %v, want 2 of each", rep.Rounds, rep.CachedRuns, rep.UncachedRuns)
	}
	if rep.Cached != slices.Min(rep.CachedRuns) || rep.Uncached != slices.Min(rep.UncachedRuns) || rep.Speedup != rep.Uncached/rep.Cached {
		t.Errorf("kept %v and %v (speed-up %v), want the fastest of %v and %v", rep.Cached, rep.Uncached, rep.Speedup, rep.CachedRuns, rep.UncachedRuns)
	}
	if !rep.SamePredictions || rep.MaxLogitDiff != 0 {
		t.Errorf("cached and recomputing probes differ: same predictions %v, max logit difference %g", rep.SamePredictions, rep.MaxLogitDiff)
	}
	if len(rep.Freeze) != 4 { // the small CNN: freeze:0 … freeze:3
		t.Errorf("%d freeze:K points, want 4", len(rep.Freeze))
	}
	var b bytes.Buffer
	if err := WriteFreezing(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "fastest of 2 runs") {
		t.Errorf("the report does not say how the times were taken:\n%s", b.String())
	}
}
