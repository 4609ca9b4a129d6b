package data

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// counting wraps a Dataset, counting decodes and failing on chosen indices.
type counting struct {
	Dataset
	decodes atomic.Int64
	fail    map[int]bool
}

func (c *counting) Image(i int) (*Image, error) {
	c.decodes.Add(1)
	if c.fail[i] {
		return nil, &ErrSample{Source: c.Source(i), Err: errors.New("corrupt")}
	}
	return c.Dataset.Image(i)
}

// varied is an InMemory set of n RGB images of varying size whose pixels
// encode their index.
func varied(t testing.TB, n int) *InMemory {
	t.Helper()
	var images []*Image
	var labels []int
	for i := range n {
		im := NewImage(3, 10+i%3, 12+i%5)
		for j := range im.Pix {
			im.Pix[j] = float32((i*31+j)%101) / 100
		}
		images = append(images, im)
		labels = append(labels, i%3)
	}
	ds, err := NewInMemory(images, labels, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// collect runs one epoch and returns copies of its batches.
func collect(t testing.TB, l *Loader, epoch int) ([]Batch, error) {
	t.Helper()
	var out []Batch
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			return out, err
		}
		out = append(out, Batch{X: slices.Clone(b.X), N: b.N, C: b.C, H: b.H, W: b.W, Y: slices.Clone(b.Y), Index: slices.Clone(b.Index)})
		b.Release()
	}
	return out, nil
}

func TestLoaderBatches(t *testing.T) {
	ds := varied(t, 10)
	tests := []struct {
		name  string
		cfg   LoaderConfig
		sizes []int
	}{
		{"keep last", LoaderConfig{BatchSize: 4}, []int{4, 4, 2}},
		{"drop last", LoaderConfig{BatchSize: 4, DropLast: true}, []int{4, 4}},
		{"exact", LoaderConfig{BatchSize: 5, DropLast: true}, []int{5, 5}},
		{"default size", LoaderConfig{}, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Preprocess = Preprocess{Size: 8}
			l, err := NewLoader(ds, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if l.Batches() != len(tt.sizes) {
				t.Errorf("Batches() = %d, want %d", l.Batches(), len(tt.sizes))
			}
			batches, err := collect(t, l, 0)
			if err != nil {
				t.Fatal(err)
			}
			var sizes []int
			for _, b := range batches {
				sizes = append(sizes, b.N)
				if len(b.X) != b.N*3*8*8 || len(b.Y) != b.N || len(b.Index) != b.N || b.C != 3 || b.H != 8 || b.W != 8 {
					t.Fatalf("batch of %d: len X %d, Y %d, shape %dx%dx%d", b.N, len(b.X), len(b.Y), b.C, b.H, b.W)
				}
			}
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("sizes %v, want %v", sizes, tt.sizes)
			}
		})
	}
}

func TestLoaderContent(t *testing.T) {
	ds := labelled(t, 2, 1, 0, 1, 1, 0)
	l, err := NewLoader(ds, LoaderConfig{BatchSize: 2, Shuffle: true, Seed: 5, Preprocess: Preprocess{Norm: NormSymmetric}})
	if err != nil {
		t.Fatal(err)
	}
	batches, err := collect(t, l, 3)
	if err != nil {
		t.Fatal(err)
	}
	var seen []int
	for _, b := range batches {
		for j, i := range b.Index {
			seen = append(seen, i)
			// labelled's pixel is its index; symmetric maps x to 2x-1.
			if want := float32(2*i - 1); b.X[j] != want || b.Y[j] != int64(ds.Label(i)) {
				t.Errorf("sample %d: x %v y %d, want %v %d", i, b.X[j], b.Y[j], want, ds.Label(i))
			}
		}
	}
	if !slices.Equal(seen, l.Order(3)) {
		t.Errorf("batches in order %v, want Order(3) = %v", seen, l.Order(3))
	}
}

func TestLoaderOrder(t *testing.T) {
	ds := varied(t, 50)
	l, _ := NewLoader(ds, LoaderConfig{Shuffle: true, Seed: 1})
	l2, _ := NewLoader(ds, LoaderConfig{Shuffle: true, Seed: 1, Workers: 7})
	other, _ := NewLoader(ds, LoaderConfig{Shuffle: true, Seed: 2})
	plain, _ := NewLoader(ds, LoaderConfig{})
	for e := range 3 {
		o := l.Order(e)
		sorted := slices.Sorted(slices.Values(o))
		if !slices.Equal(sorted, plain.Order(e)) {
			t.Fatalf("epoch %d: order is not a permutation", e)
		}
		if !slices.Equal(o, l2.Order(e)) {
			t.Error("order depends on more than seed and epoch")
		}
		if slices.Equal(o, l.Order(e+1)) || slices.Equal(o, other.Order(e)) || slices.Equal(o, sorted) {
			t.Error("order does not change with epoch or seed")
		}
	}
}

// TestLoaderDeterminism checks that batches are identical whatever the
// workers, prefetch depth and caching, and differ between epochs.
func TestLoaderDeterminism(t *testing.T) {
	ds := varied(t, 23)
	base := LoaderConfig{
		BatchSize:  4,
		Shuffle:    true,
		Seed:       11,
		Preprocess: Preprocess{Size: 9, Norm: NormImageNet},
		Augment:    DefaultAugment(),
	}
	base.Augment.BlurProb = 0.5
	base.Augment.FlipProb = 0.5
	var want [][]Batch
	for _, v := range []struct {
		workers, prefetch int
		cache             bool
	}{{1, 1, false}, {2, 0, false}, {5, 2, true}, {8, 16, true}} {
		cfg := base
		cfg.Workers, cfg.Prefetch, cfg.CacheDecoded = v.workers, v.prefetch, v.cache
		l, err := NewLoader(ds, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var got [][]Batch
		for e := range 2 {
			b, err := collect(t, l, e)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b)
		}
		if want == nil {
			want = got
			if fmt.Sprint(got[0][0].X) == fmt.Sprint(got[1][0].X) {
				t.Error("epochs 0 and 1 gave the same first batch")
			}
			continue
		}
		for e := range got {
			for i := range got[e] {
				g, w := got[e][i], want[e][i]
				if !slices.Equal(g.X, w.X) || !slices.Equal(g.Y, w.Y) || !slices.Equal(g.Index, w.Index) {
					t.Fatalf("workers=%d prefetch=%d cache=%v: epoch %d batch %d differs", v.workers, v.prefetch, v.cache, e, i)
				}
			}
		}
	}
}

func TestLoaderCache(t *testing.T) {
	for _, cache := range []bool{false, true} {
		ds := &counting{Dataset: varied(t, 9)}
		l, err := NewLoader(ds, LoaderConfig{BatchSize: 4, CacheDecoded: cache, Preprocess: Preprocess{Size: 6}, Augment: DefaultAugment()})
		if err != nil {
			t.Fatal(err)
		}
		for e := range 3 {
			if _, err := collect(t, l, e); err != nil {
				t.Fatal(err)
			}
		}
		want := int64(27)
		if cache {
			want = 9
		}
		if got := ds.decodes.Load(); got != want {
			t.Errorf("cache=%v: %d decodes in 3 epochs, want %d", cache, got, want)
		}
	}
}

func TestLoaderErrors(t *testing.T) {
	ds := &counting{Dataset: varied(t, 12), fail: map[int]bool{6: true, 9: true}}
	l, err := NewLoader(ds, LoaderConfig{BatchSize: 2, Workers: 3, Preprocess: Preprocess{Size: 4}})
	if err != nil {
		t.Fatal(err)
	}
	batches, err := collect(t, l, 0)
	var es *ErrSample
	if !errors.As(err, &es) || es.Source != "memory#6" {
		t.Fatalf("err = %v, want the *ErrSample of memory#6", err)
	}
	if len(batches) != 3 {
		t.Errorf("%d batches before the error, want 3", len(batches))
	}

	mixed := varied(t, 4) // sizes differ and no Preprocess.Size
	l, _ = NewLoader(mixed, LoaderConfig{BatchSize: 4})
	_, err = collect(t, l, 0)
	if !errors.As(err, &es) || !strings.Contains(err.Error(), "set Preprocess.Size") {
		t.Errorf("mixed sizes: err = %v", err)
	}
}

func TestNewLoaderErrors(t *testing.T) {
	ds := varied(t, 3)
	empty, _ := NewInMemory(nil, nil, []string{"a"})
	tests := []struct {
		name string
		ds   Dataset
		cfg  LoaderConfig
		want string
	}{
		{"negative batch", ds, LoaderConfig{BatchSize: -1}, "batch size -1"},
		{"empty", empty, LoaderConfig{}, "empty"},
		{"drop last empties epoch", ds, LoaderConfig{BatchSize: 4, DropLast: true}, "lower the batch size"},
		{"bad preprocess", ds, LoaderConfig{Preprocess: Preprocess{Channels: 4}}, "channels 4"},
		{"bad augment", ds, LoaderConfig{Augment: Augment{Hue: 1}}, "hue 1"},
		{"bad label", &Subset{Base: &badLabel{ds}, Indices: []int{0, 1}}, LoaderConfig{}, "label 7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewLoader(tt.ds, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

type badLabel struct{ Dataset }

func (b *badLabel) Label(i int) int { return 7 }

func TestLoaderStopsCleanly(t *testing.T) {
	before := runtime.NumGoroutine()
	ds := varied(t, 64)
	l, _ := NewLoader(ds, LoaderConfig{BatchSize: 2, Workers: 4, Preprocess: Preprocess{Size: 8}})
	t.Run("break", func(t *testing.T) {
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
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var last error
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
		if !errors.Is(last, context.Canceled) {
			t.Errorf("after cancel: last err = %v, want context.Canceled", last)
		}
		if n > 3+l.prefetch {
			t.Errorf("%d batches after cancelling", n-3)
		}
	})
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running, had %d", n, before)
	}
	var nilBatch *Batch
	nilBatch.Release()
}

func BenchmarkLoaderEpoch(b *testing.B) {
	// A GTSRB-like small set: 512 images around 40×40, fitted to 32×32.
	var images []*Image
	var labels []int
	for i := range 512 {
		images = append(images, patterned(3, 36+i%10, 38+i%7))
		labels = append(labels, i%43)
	}
	classes := make([]string, 43)
	for i := range classes {
		classes[i] = fmt.Sprint(i)
	}
	ds, _ := NewInMemory(images, labels, classes)
	for _, aug := range []bool{false, true} {
		for _, cache := range []bool{false, true} {
			b.Run(fmt.Sprintf("size=32/augment=%v/cache=%v", aug, cache), func(b *testing.B) {
				cfg := LoaderConfig{BatchSize: 64, Shuffle: true, CacheDecoded: cache, Preprocess: Preprocess{Size: 32, Norm: NormImageNet}}
				if aug {
					cfg.Augment = DefaultAugment()
				}
				l, _ := NewLoader(ds, cfg)
				epoch := 0
				for b.Loop() {
					for bt, err := range l.Epoch(context.Background(), epoch) {
						if err != nil {
							b.Fatal(err)
						}
						bt.Release()
					}
					epoch++
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ds.Len()), "ns/sample")
			})
		}
	}
}
