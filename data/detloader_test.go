package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// memDetection is an in-memory DetectionDataset for tests.
type memDetection struct {
	images  []*Image
	boxes   [][]Box
	classes []string
}

func (m *memDetection) Len() int                    { return len(m.images) }
func (m *memDetection) Classes() []string           { return m.classes }
func (m *memDetection) Boxes(i int) []Box           { return m.boxes[i] }
func (m *memDetection) Image(i int) (*Image, error) { return m.images[i].Clone(), nil }
func (m *memDetection) Source(i int) string         { return fmt.Sprintf("mem#%d", i) }

// scenes is n images of varying size with 0 to 3 boxes each (every fourth
// has none), pixels patterned so that misplaced pixels show.
func scenes(n int) *memDetection {
	m := &memDetection{classes: []string{"a", "b", "c"}}
	for i := range n {
		w, h := 40+7*(i%5), 30+5*(i%3)
		im := NewImage(3, h, w)
		for j := range im.Pix {
			im.Pix[j] = float32((i*31+j)%101) / 100
		}
		var boxes []Box
		for k := range i % 4 {
			x, y := float64(3+5*k), float64(2+4*k)
			boxes = append(boxes, Box{X1: x, Y1: y, X2: x + 10 + float64(i%7), Y2: y + 8 + float64(k), Class: (i + k) % 3})
		}
		m.images = append(m.images, im)
		m.boxes = append(m.boxes, boxes)
	}
	return m
}

// detCopy is a batch's content, copied out before Release.
type detCopy struct {
	X     []float32
	N     int
	Boxes [][]Box
	Maps  []BoxMap
	Index []int
}

func collectDetection(t testing.TB, l *DetectionLoader, epoch int) ([]detCopy, error) {
	t.Helper()
	var out []detCopy
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			return out, err
		}
		c := detCopy{X: slices.Clone(b.X), N: b.N, Maps: slices.Clone(b.Maps), Index: slices.Clone(b.Index)}
		if len(b.Boxes) != b.N || len(b.Maps) != b.N || len(b.Index) != b.N || len(b.X) != b.N*b.C*b.H*b.W {
			t.Fatalf("batch of %d: %d boxes lists, %d maps, %d indices, %d values for %dx%dx%d", b.N, len(b.Boxes), len(b.Maps), len(b.Index), len(b.X), b.C, b.H, b.W)
		}
		for _, bx := range b.Boxes {
			checkInside(t.(*testing.T), bx, b.W, b.H)
			c.Boxes = append(c.Boxes, slices.Clone(bx))
		}
		out = append(out, c)
		b.Release()
	}
	return out, nil
}

func TestDetectionLoaderFits(t *testing.T) {
	ds := scenes(10)
	pre := Preprocess{Size: 32, Norm: NormImageNet}
	l, err := NewDetectionLoader(ds, DetectionLoaderConfig{BatchSize: 4, Preprocess: pre})
	if err != nil {
		t.Fatal(err)
	}
	batches, err := collectDetection(t, l, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 3 || batches[2].N != 2 {
		t.Fatalf("%d batches", len(batches))
	}
	for _, b := range batches {
		for j, i := range b.Index {
			want, err := pre.Apply(ds.images[i])
			if err != nil {
				t.Fatal(err)
			}
			chw := len(want.Pix)
			if !slicesEqual(b.X[j*chw:(j+1)*chw], want.Pix) {
				t.Fatalf("image %d: pixels differ from Preprocess.Apply", i)
			}
			sx, sy := 32/float64(ds.images[i].W), 32/float64(ds.images[i].H)
			if len(b.Boxes[j]) != len(ds.boxes[i]) {
				t.Fatalf("image %d: %d boxes, want %d", i, len(b.Boxes[j]), len(ds.boxes[i]))
			}
			for k, got := range b.Boxes[j] {
				in := ds.boxes[i][k]
				want := Box{X1: in.X1 * sx, Y1: in.Y1 * sy, X2: in.X2 * sx, Y2: in.Y2 * sy, Class: in.Class}
				if boxDist(got, want) > 1e-9 || got.Class != want.Class {
					t.Fatalf("image %d box %d: %+v, want %+v", i, k, got, want)
				}
			}
			if m := b.Maps[j]; math.Abs(m.SX-sx) > 1e-12 || math.Abs(m.SY-sy) > 1e-12 || m.OX != 0 || m.OY != 0 {
				t.Fatalf("image %d: map %+v", i, m)
			}
		}
	}
}

// TestDetectionLoaderDeterminism checks that batches depend on the seed and
// epoch only: not on the worker count, prefetch or the cache.
func TestDetectionLoaderDeterminism(t *testing.T) {
	ds := scenes(23)
	aug := SSDAugment()
	aug.FlipProb = 0.5
	base := DetectionLoaderConfig{BatchSize: 5, Shuffle: true, Seed: 11, Preprocess: Preprocess{Size: 24, Norm: NormImageNet}, Augment: aug}
	run := func(cfg DetectionLoaderConfig, epoch int) []detCopy {
		t.Helper()
		l, err := NewDetectionLoader(ds, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := collectDetection(t, l, epoch)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(a, b []detCopy) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if !slicesEqual(a[i].X, b[i].X) || !slices.Equal(a[i].Index, b[i].Index) || !slices.Equal(a[i].Maps, b[i].Maps) ||
				!slices.EqualFunc(a[i].Boxes, b[i].Boxes, func(x, y []Box) bool { return slices.Equal(x, y) }) {
				return false
			}
		}
		return true
	}
	cfg := base
	cfg.Workers = 1
	want := run(cfg, 2)
	for _, tt := range []struct {
		name string
		edit func(*DetectionLoaderConfig)
	}{
		{"2 workers", func(c *DetectionLoaderConfig) { c.Workers = 2 }},
		{"7 workers, prefetch 1", func(c *DetectionLoaderConfig) { c.Workers, c.Prefetch = 7, 1 }},
		{"cached", func(c *DetectionLoaderConfig) { c.Workers, c.CacheDecoded = 3, true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			if got := run(cfg, 2); !same(got, want) {
				t.Error("batches differ from one worker's")
			}
		})
	}
	if same(run(base, 3), want) {
		t.Error("epochs 2 and 3 gave the same batches")
	}
	cfg = base
	cfg.Seed = 12
	if same(run(cfg, 2), want) {
		t.Error("seeds 11 and 12 gave the same batches")
	}
	// Augmentation really happened: some image lost or moved boxes.
	plain := base
	plain.Augment = DetectionAugment{}
	if same(run(plain, 2), want) {
		t.Error("the SSD augmentation changed nothing")
	}
}

func TestDetectionLoaderCache(t *testing.T) {
	for _, aug := range []DetectionAugment{{}, SSDAugment()} {
		t.Run(fmt.Sprint(aug.Enabled()), func(t *testing.T) {
			c := &countingDetection{memDetection: scenes(6)}
			l, err := NewDetectionLoader(c, DetectionLoaderConfig{BatchSize: 4, Preprocess: Preprocess{Size: 16}, Augment: aug, CacheDecoded: true})
			if err != nil {
				t.Fatal(err)
			}
			first, err := collectDetection(t, l, 0)
			if err != nil {
				t.Fatal(err)
			}
			again, err := collectDetection(t, l, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n := c.decodes.Load(); n != 6 {
				t.Errorf("%d decodes over two epochs of 6 images, want 6", n)
			}
			for i := range first {
				if !slicesEqual(first[i].X, again[i].X) {
					t.Fatal("a cached epoch differs from the first")
				}
			}
		})
	}
}

func TestDetectionLoaderEmptyImages(t *testing.T) {
	ds := scenes(8)
	for i := range ds.boxes {
		ds.boxes[i] = nil
	}
	l, err := NewDetectionLoader(ds, DetectionLoaderConfig{BatchSize: 3, Preprocess: Preprocess{Size: 20}, Augment: SSDAugment()})
	if err != nil {
		t.Fatal(err)
	}
	for epoch := range 3 {
		batches, err := collectDetection(t, l, epoch)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range batches {
			for _, bx := range b.Boxes {
				if len(bx) != 0 {
					t.Fatalf("boxes %+v on an image without any", bx)
				}
			}
		}
	}
}

func TestDetectionLoaderBadBoxes(t *testing.T) {
	tests := []struct {
		name    string
		box     Box
		atEpoch bool // found when decoding, not at NewDetectionLoader
		want    string
	}{
		{"NaN", Box{X1: math.NaN(), Y1: 1, X2: 5, Y2: 5}, false, "not finite"},
		{"infinite", Box{X1: 1, Y1: 1, X2: math.Inf(1), Y2: 5}, false, "not finite"},
		{"empty", Box{X1: 5, Y1: 1, X2: 5, Y2: 5}, false, "no area"},
		{"class", Box{X1: 1, Y1: 1, X2: 5, Y2: 5, Class: 3}, false, "class 3, outside the 3 classes"},
		{"negative class", Box{X1: 1, Y1: 1, X2: 5, Y2: 5, Class: -1}, false, "class -1"},
		{"outside", Box{X1: 1, Y1: 1, X2: 500, Y2: 5}, true, "outside the"},
		{"huge", Box{X1: -1e300, Y1: 1, X2: 1e300, Y2: 5}, true, "outside the"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := scenes(5)
			ds.boxes[3] = append(slices.Clone(ds.boxes[3]), tt.box)
			l, err := NewDetectionLoader(ds, DetectionLoaderConfig{BatchSize: 2, Preprocess: Preprocess{Size: 16}, Augment: SSDAugment()})
			if !tt.atEpoch {
				if err == nil || !strings.Contains(err.Error(), "mem#3") || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want one naming mem#3 and containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = collectDetection(t, l, 0)
			var es *ErrSample
			if !errors.As(err, &es) || es.Source != "mem#3" || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "box 3") {
				t.Fatalf("error %v, want an ErrSample for mem#3 box 3 containing %q", err, tt.want)
			}
		})
	}
}

func TestNewDetectionLoaderErrors(t *testing.T) {
	ds := scenes(4)
	tests := []struct {
		name string
		cfg  DetectionLoaderConfig
		want string
	}{
		{"batch", DetectionLoaderConfig{BatchSize: -1}, "batch size -1"},
		{"drop last", DetectionLoaderConfig{BatchSize: 8, DropLast: true}, "less than one batch"},
		{"prefetch", DetectionLoaderConfig{Prefetch: -2}, "prefetch -2"},
		{"preprocess", DetectionLoaderConfig{Preprocess: Preprocess{Resize: "squash"}}, `resize "squash"`},
		{"augment", DetectionLoaderConfig{Augment: DetectionAugment{FlipProb: 2}}, "flip_prob 2"},
		{"no size", DetectionLoaderConfig{Augment: SSDAugment()}, "set Preprocess.Size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewDetectionLoader(ds, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewDetectionLoader(&memDetection{classes: []string{"a"}}, DetectionLoaderConfig{}); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty set: %v", err)
	}
	// Native sizes that differ fail at the batch, naming the image.
	l, err := NewDetectionLoader(ds, DetectionLoaderConfig{BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := collectDetection(t, l, 0); err == nil || !strings.Contains(err.Error(), "mem#1") || !strings.Contains(err.Error(), "Preprocess.Size") {
		t.Errorf("mixed sizes: %v", err)
	}
}

// countingDetection counts decodes and fails on chosen images.
type countingDetection struct {
	*memDetection
	decodes atomic.Int64
	fail    map[int]bool
}

func (c *countingDetection) Image(i int) (*Image, error) {
	c.decodes.Add(1)
	if c.fail[i] {
		return nil, errors.New("corrupt")
	}
	return c.memDetection.Image(i)
}

func TestDetectionLoaderDecodeError(t *testing.T) {
	c := &countingDetection{memDetection: scenes(6), fail: map[int]bool{4: true}}
	l, err := NewDetectionLoader(c, DetectionLoaderConfig{BatchSize: 2, Preprocess: Preprocess{Size: 16}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := collectDetection(t, l, 0)
	var es *ErrSample
	if !errors.As(err, &es) || es.Source != "mem#4" || len(got) != 2 {
		t.Fatalf("after %d batches: %v, want an ErrSample for mem#4 after 2", len(got), err)
	}
}

func TestDetectionLoaderStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	l, err := NewDetectionLoader(scenes(64), DetectionLoaderConfig{BatchSize: 2, Workers: 4, Preprocess: Preprocess{Size: 16}, Augment: SSDAugment()})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		b.Release()
		if n++; n == 2 {
			break
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var last error
	n = 0
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			last = err
			continue
		}
		b.Release()
		if n++; n == 3 {
			cancel()
		}
	}
	cancel()
	if !errors.Is(last, context.Canceled) {
		t.Errorf("after cancel: last err = %v, want context.Canceled", last)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > before {
		t.Errorf("%d goroutines left running, had %d", g, before)
	}
	var nilBatch *DetectionBatch
	nilBatch.Release()
}
