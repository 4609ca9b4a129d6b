package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// LoaderConfig configures a Loader. The zero value plus a batch size gives
// unshuffled, unaugmented batches at the images' native size.
type LoaderConfig struct {
	// BatchSize is the number of samples per batch; default 32.
	BatchSize int
	// Shuffle permutes the samples each epoch; the order depends only on
	// Seed and the epoch number.
	Shuffle bool
	// DropLast drops a final batch smaller than BatchSize, which keeps
	// BatchNorm statistics from being computed on a handful of samples.
	DropLast bool
	// Seed drives shuffling and augmentation.
	Seed uint64
	// Workers is the number of goroutines building batches; default
	// GOMAXPROCS.
	Workers int
	// Prefetch is how many batches may be built ahead of the consumer;
	// default twice Workers.
	Prefetch int
	// Preprocess fits every image to the model's input; it must give one
	// shape for all images (set Size when native sizes differ).
	Preprocess Preprocess
	// Augment is applied after Preprocess.Fit and before normalisation.
	Augment Augment
	// CacheDecoded keeps each sample's decoded and fitted (resized, not yet
	// augmented or normalised) image in memory after its first use, so later
	// epochs skip decoding and resizing: on small sets this is most of an
	// epoch's cost. Memory is C×H×W×4 bytes per sample at the fitted size.
	// Augmentation then works at the fitted size, so a random crop is
	// resized back up from fewer pixels than the original had.
	CacheDecoded bool
}

// Batch is a mini-batch in NCHW layout, ready to be copied into a tensor.
// It belongs to the consumer until Release, after which it must not be used.
type Batch struct {
	X          []float32 // len N*C*H*W, normalised
	N, C, H, W int
	Y          []int64 // labels, len N
	Index      []int   // data set indices of the samples, len N
	pool       *sync.Pool
}

// Release returns the batch's memory for reuse by later batches. Calling it
// is optional (unreleased batches are garbage collected) but avoids
// allocating a batch-sized buffer per step. Release on nil is a no-op.
func (b *Batch) Release() {
	if b == nil || b.pool == nil {
		return
	}
	p := b.pool
	b.pool = nil
	p.Put(b)
}

// Loader turns a Dataset into batches for training, decoding, fitting,
// augmenting and normalising on worker goroutines while the model trains.
// Results are deterministic: they depend only on Seed and the epoch, never
// on how the workers are scheduled.
type Loader struct {
	ds       Dataset
	cfg      LoaderConfig
	cache    []atomic.Pointer[Image]
	pool     sync.Pool
	prefetch int
}

// NewLoader checks cfg, fills in defaults and checks every label of ds (no
// decoding happens here).
func NewLoader(ds Dataset, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	switch {
	case cfg.BatchSize < 0:
		return nil, fmt.Errorf("loader: batch size %d; want a positive number", cfg.BatchSize)
	case ds.Len() == 0:
		return nil, fmt.Errorf("loader: the data set is empty; check the data path")
	case cfg.DropLast && ds.Len() < cfg.BatchSize:
		return nil, fmt.Errorf("loader: %d samples is less than one batch of %d and DropLast is set, so an epoch would be empty; lower the batch size", ds.Len(), cfg.BatchSize)
	case cfg.Prefetch < 0:
		return nil, fmt.Errorf("loader: prefetch %d; want 0 (default) or more", cfg.Prefetch)
	}
	if err := cfg.Preprocess.Validate(); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	if err := cfg.Augment.Validate(); err != nil {
		return nil, fmt.Errorf("loader: %w", err)
	}
	nc := len(ds.Classes())
	for i := 0; i < ds.Len(); i++ {
		if l := ds.Label(i); l < 0 || l >= nc {
			return nil, fmt.Errorf("loader: %s: label %d is outside the %d classes", ds.Source(i), l, nc)
		}
	}
	l := &Loader{ds: ds, cfg: cfg, prefetch: cfg.Prefetch}
	if l.prefetch == 0 {
		l.prefetch = 2 * cfg.Workers
	}
	l.pool.New = func() any { return new(Batch) }
	if cfg.CacheDecoded {
		l.cache = make([]atomic.Pointer[Image], ds.Len())
	}
	return l, nil
}

// Config is the configuration with defaults filled in.
func (l *Loader) Config() LoaderConfig { return l.cfg }

// Dataset is the data set the loader reads.
func (l *Loader) Dataset() Dataset { return l.ds }

// InputSize is the height and width of the images the loader yields
// (see InputSize).
func (l *Loader) InputSize() (h, w int, err error) {
	return InputSize(l.cfg.Preprocess, l.ds)
}

// InputSize is the height and width p gives ds's images: its size, or
// the first sample's where it keeps the native size (what a model's
// arithmetic per image is counted at).
func InputSize(p Preprocess, ds Dataset) (h, w int, err error) {
	switch {
	case p.Height > 0 && p.Width > 0:
		return p.Height, p.Width, nil
	case p.Size > 0:
		return p.Size, p.Size, nil
	case ds.Len() == 0:
		return 0, 0, fmt.Errorf("input size: the data set is empty")
	}
	im, err := ds.Image(0)
	if err != nil {
		return 0, 0, fmt.Errorf("input size: %s: %w", ds.Source(0), err)
	}
	return im.H, im.W, nil
}

// Batches is the number of batches per epoch.
func (l *Loader) Batches() int {
	return batchCount(l.ds.Len(), l.cfg.BatchSize, l.cfg.DropLast)
}

// splitmix64 scrambles seeds so that nearby inputs (epoch 1, epoch 2) give
// unrelated generator states.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Order is the sample order of an epoch: a permutation that depends only on
// Seed and epoch when shuffling, else 0..n-1.
func (l *Loader) Order(epoch int) []int {
	return epochOrder(l.ds.Len(), l.cfg.Shuffle, l.cfg.Seed, epoch)
}

// Epoch yields the batches of one epoch in order. Batches are built ahead on
// the worker goroutines; stopping the loop early, or cancelling ctx, stops
// them. A sample that fails to decode ends the epoch with its *ErrSample;
// cancellation ends it with ctx's error.
func (l *Loader) Epoch(ctx context.Context, epoch int) iter.Seq2[*Batch, error] {
	return func(yield func(*Batch, error) bool) {
		order := l.Order(epoch)
		runEpoch(ctx, l.Batches(), l.cfg.Workers, l.prefetch, newLoaderWorker,
			func(ctx context.Context, w *loaderWorker, b int) (*Batch, error) {
				return l.build(ctx, w, order, epoch, b)
			},
			(*Batch).Release, yield)
	}
}

// loaderWorker is one goroutine's reusable state.
type loaderWorker struct {
	bufs augBuffers
	pcg  *rand.PCG
	rng  *rand.Rand
}

func newLoaderWorker() *loaderWorker {
	pcg := rand.NewPCG(0, 0)
	return &loaderWorker{pcg: pcg, rng: rand.New(pcg)}
}

func (l *Loader) build(ctx context.Context, w *loaderWorker, order []int, epoch, b int) (*Batch, error) {
	bs := l.cfg.BatchSize
	idx := order[b*bs : min((b+1)*bs, len(order))]
	bt := l.pool.Get().(*Batch)
	bt.pool = &l.pool
	bt.Index = append(bt.Index[:0], idx...)
	bt.Y = bt.Y[:0]
	bt.N = len(idx)
	var plan normPlan
	var chw int
	fail := func(err error) (*Batch, error) {
		bt.Release()
		return nil, err
	}
	for j, i := range idx {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		im, err := l.fitted(i)
		if err != nil {
			return fail(err)
		}
		if l.cfg.Augment.Enabled() {
			w.pcg.Seed(sampleSeed(l.cfg.Seed, epoch, i))
			im = l.cfg.Augment.apply(im, w.rng, &w.bufs)
		}
		if j == 0 {
			bt.C, bt.H, bt.W = im.C, im.H, im.W
			chw = im.C * im.H * im.W
			if n := bt.N * chw; cap(bt.X) < n {
				bt.X = make([]float32, n)
			} else {
				bt.X = bt.X[:n]
			}
			if plan, err = l.cfg.Preprocess.plan(im.C); err != nil {
				return fail(&ErrSample{Source: l.ds.Source(i), Err: err})
			}
		} else if im.C != bt.C || im.H != bt.H || im.W != bt.W {
			return fail(&ErrSample{Source: l.ds.Source(i), Err: fmt.Errorf(
				"image is %dx%dx%d (CxHxW) after preprocessing but the batch is %dx%dx%d; set Preprocess.Size and Channels so every image gets one shape",
				im.C, im.H, im.W, bt.C, bt.H, bt.W)})
		}
		plan.apply(bt.X[j*chw:(j+1)*chw], im)
		bt.Y = append(bt.Y, int64(l.ds.Label(i)))
	}
	return bt, nil
}

// fitted decodes sample i and applies Preprocess.Fit, from the cache when
// enabled. The result may be shared through the cache and must not be
// written.
func (l *Loader) fitted(i int) (*Image, error) {
	if l.cache != nil {
		if im := l.cache[i].Load(); im != nil {
			return im, nil
		}
	}
	im, err := l.ds.Image(i)
	if err != nil {
		var es *ErrSample
		if !errors.As(err, &es) {
			err = &ErrSample{Source: l.ds.Source(i), Err: err}
		}
		return nil, err
	}
	im, err = l.cfg.Preprocess.Fit(im)
	if err != nil {
		return nil, &ErrSample{Source: l.ds.Source(i), Err: err}
	}
	if l.cache != nil {
		l.cache[i].Store(im)
	}
	return im, nil
}
