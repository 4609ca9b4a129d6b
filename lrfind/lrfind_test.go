package lrfind

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// bars is a 3-class set of 12×12 grey images: horizontal, vertical or
// diagonal bars with noise.
func bars(t *testing.T, n int) *data.Loader {
	rng := rand.New(rand.NewPCG(7, 1))
	var ims []*data.Image
	var labels []int
	for i := range n {
		im := data.NewImage(1, 12, 12)
		c := i % 3
		p := 2 + rng.IntN(8)
		for k := range 12 {
			switch c {
			case 0:
				im.Set(0, p, k, 1)
			case 1:
				im.Set(0, k, p, 1)
			default:
				im.Set(0, k, k, 1)
			}
		}
		for j := range im.Pix {
			im.Pix[j] += float32(rng.NormFloat64() * 0.1)
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, err := data.NewInMemory(ims, labels, []string{"h", "v", "d"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 8, Shuffle: true, DropLast: true, Seed: 1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func model(t *testing.T) *nn.Model {
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Free)
	return m
}

func weights(t *testing.T, m *nn.Model) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		v, err := p.T.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

func trainable(m *nn.Model) []bool {
	var out []bool
	for _, p := range m.Params() {
		out = append(out, p.T.RequiresGrad())
	}
	return out
}

func sameWeights(t *testing.T, a, b [][]float32) {
	t.Helper()
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				t.Fatalf("weight tensor %d changed at %d: %v -> %v", i, j, a[i][j], b[i][j])
			}
		}
	}
}

func checkResult(t *testing.T, r *Result, cfg Config) {
	t.Helper()
	if len(r.LRs) != len(r.Losses) || len(r.LRs) != len(r.Smoothed) {
		t.Fatalf("lengths differ: %d lrs, %d losses, %d smoothed", len(r.LRs), len(r.Losses), len(r.Smoothed))
	}
	if r.Stopped == "completed" {
		if len(r.LRs) != cfg.Steps {
			t.Fatalf("completed with %d points, want %d", len(r.LRs), cfg.Steps)
		}
	} else if !strings.HasPrefix(r.Stopped, "diverged") || len(r.LRs) >= cfg.Steps+1 {
		t.Fatalf("stopped %q after %d points", r.Stopped, len(r.LRs))
	}
	for i := 1; i < len(r.LRs); i++ {
		if !(r.LRs[i] > r.LRs[i-1]) {
			t.Fatalf("rates not increasing at %d: %v", i, r.LRs[:i+1])
		}
	}
	if math.Abs(r.LRs[0]-cfg.Start)/cfg.Start > 1e-12 {
		t.Fatalf("first rate %v, want %v", r.LRs[0], cfg.Start)
	}
	if !(r.Suggested >= cfg.Start && r.Suggested <= cfg.End) {
		t.Fatalf("suggestion %v outside [%v, %v]", r.Suggested, cfg.Start, cfg.End)
	}
	if !(r.MinOver10 > 0) {
		t.Fatalf("min/10 %v", r.MinOver10)
	}
	for i, v := range r.Smoothed {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(r.Losses[i]) {
			t.Fatalf("non-finite loss at %d", i)
		}
	}
}

func TestRangeTestRestoresModel(t *testing.T) {
	m := model(t)
	l := bars(t, 48) // 6 batches an epoch: 20 steps cycle epochs
	before, flags := weights(t, m), trainable(m)
	changed := false
	cfg := Config{Start: 1e-5, End: 1e-1, Steps: 20, Seed: 1, Progress: func(step, _ int, _, _ float64) {
		if step == 10 {
			w := weights(t, m)
			for i := range w {
				for j := range w[i] {
					changed = changed || w[i][j] != before[i][j]
				}
			}
		}
	}}
	r, err := Run(context.Background(), m, l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cfg)
	if !changed {
		t.Fatal("the test did not train the model")
	}
	if r.Stopped != "completed" {
		t.Logf("stopped early: %s", r.Stopped)
	}
	sameWeights(t, before, weights(t, m))
	for i, f := range trainable(m) {
		if f != flags[i] {
			t.Fatalf("trainable flag %d changed", i)
		}
	}

	svg, png, err := Plot(r, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatal("plot is not SVG/PNG")
	}
}

func TestDivergesEarly(t *testing.T) {
	m := model(t)
	l := bars(t, 48)
	before := weights(t, m)
	cfg := Config{Start: 1e-4, End: 1e3, Steps: 60, Optimizer: sgd(), Seed: 1}
	r, err := Run(context.Background(), m, l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cfg)
	if r.Stopped == "completed" || len(r.LRs) >= cfg.Steps {
		t.Fatalf("expected an early stop with End=1e3, got %q after %d points", r.Stopped, len(r.LRs))
	}
	sameWeights(t, before, weights(t, m))
}

func TestProbeTrainsHeadOnly(t *testing.T) {
	m := model(t)
	l := bars(t, 24)
	before, flags := weights(t, m), trainable(m)
	head := make([]float64, len(m.Stages))
	head[len(head)-1] = 1 // a probe's plan: the head only
	cfg := Config{Start: 1e-4, End: 1, Steps: 6, StageLR: head}
	r, err := Run(context.Background(), m, l, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cfg)
	sameWeights(t, before, weights(t, m))
	for i, f := range trainable(m) {
		if f != flags[i] {
			t.Fatalf("trainable flag %d changed", i)
		}
	}
}

func TestBadConfig(t *testing.T) {
	m := model(t)
	l := bars(t, 24)
	for _, c := range []Config{
		{Start: 1, End: 1e-3},
		{Start: 1e-3, End: 1e-3},
		{Start: -1, End: 1},
		{Start: 1e-5, End: 1, Steps: 1},
		{StageLR: []float64{-1}},
		{StageLR: []float64{1}},                   // one rate for a model of several stages
		{StageLR: make([]float64, len(m.Stages))}, // nothing trains
		{Optimizer: optimName("rmsprop")},
	} {
		if _, err := Run(context.Background(), m, l, c); err == nil {
			t.Errorf("config %+v: no error", c)
		}
	}
}

func TestSuggest(t *testing.T) {
	lrs := []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}
	losses := []float64{2.0, 1.9, 1.0, 0.8, 3.0}
	steep, m10 := suggest(lrs, losses)
	if steep != 1e-2 {
		t.Errorf("steepest %v, want 1e-2", steep)
	}
	if math.Abs(m10-1e-2) > 1e-15 {
		t.Errorf("min/10 %v, want 1e-2", m10)
	}
	if r := Rate(1e-7, 10, 99, 100); math.Abs(r-10) > 1e-9 {
		t.Errorf("last rate %v", r)
	}
}

func sgd() (c optimConfig) { c.Name = "sgd"; c.Momentum = 0.9; return c }

func optimName(n string) (c optimConfig) { c.Name = n; return c }

type optimConfig = optim.Config
