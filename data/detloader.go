package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// DetectionLoaderConfig configures a DetectionLoader; its fields mean what
// LoaderConfig's do, except where noted.
type DetectionLoaderConfig struct {
	// BatchSize is the number of images per batch; default 32.
	BatchSize int
	// Shuffle permutes the images each epoch; the order depends only on
	// Seed and the epoch number.
	Shuffle bool
	// DropLast drops a final batch smaller than BatchSize.
	DropLast bool
	// Seed drives shuffling and augmentation.
	Seed uint64
	// Workers is the number of goroutines building batches; default
	// GOMAXPROCS.
	Workers int
	// Prefetch is how many batches may be built ahead of the consumer;
	// default twice Workers.
	Prefetch int
	// Preprocess fits every image to the detector's fixed input and
	// normalises it; boxes move with the pixels. Set Size (e.g. 300 for
	// SSD300, 320 for SSDLite) or Height and Width. The resize modes:
	// "stretch" (the default, and what SSD does: the whole image squeezed
	// to the input without keeping its aspect, as torchvision's SSD
	// transform), "letterbox" (aspect kept, padded with Fill; boxes are
	// offset into the padded frame), and "crop" (aspect kept, centre crop:
	// objects at the sides are clipped, and dropped when clipping leaves
	// them smaller than Augment.MinBoxSize, or empty).
	Preprocess Preprocess
	// Augment is applied to the image at its native size, fused with the
	// resize (see DetectionAugment), then the result is normalised.
	Augment DetectionAugment
	// CacheDecoded keeps each image in memory after its first use: as
	// decoded when augmenting (augmentation works on the native image, so
	// memory is C×H×W×4 bytes per image at native size), else as fitted to
	// the input (C×H×W×4 at the input size), so later epochs skip decoding
	// (and, without augmentation, resizing).
	CacheDecoded bool
}

// DetectionBatch is a mini-batch of images and their boxes. It belongs to
// the consumer until Release, after which none of it (Boxes included) may
// be used.
type DetectionBatch struct {
	X          []float32 // len N*C*H*W, normalised, NCHW
	N, C, H, W int
	// Boxes are each image's objects in the input's pixels (0..W, 0..H,
	// after the resize and augmentation), with the data set's class index,
	// possibly none. A detector whose label 0 is the background uses
	// Class+1.
	Boxes [][]Box
	// Maps take each image's original pixels to the input's (BoxMap.Invert
	// takes predictions back).
	Maps  []BoxMap
	Index []int // data set indices of the images, len N
	pool  *sync.Pool
}

// Release returns the batch's memory for reuse. It is optional; Release on
// nil is a no-op.
func (b *DetectionBatch) Release() {
	if b == nil || b.pool == nil {
		return
	}
	p := b.pool
	b.pool = nil
	p.Put(b)
}

// DetectionLoader is Loader for detection: it turns a DetectionDataset into
// batches of fitted, augmented, normalised images with their boxes moved
// along, on worker goroutines. As with Loader, batches depend only on Seed
// and the epoch, never on the number of workers or their scheduling.
type DetectionLoader struct {
	ds       DetectionDataset
	cfg      DetectionLoaderConfig
	cache    []atomic.Pointer[detEntry]
	pool     sync.Pool
	prefetch int
}

// detEntry is an image ready for augmenting (or, without augmentation,
// already fitted) with its checked boxes.
type detEntry struct {
	im    *Image
	boxes []Box
	m     BoxMap
}

// NewDetectionLoader checks cfg, fills in defaults and checks every box of
// ds for what can be known without decoding: a class the set has and a
// finite, positive size. That a box lies inside its image is checked when
// the image is decoded; both name the image.
func NewDetectionLoader(ds DetectionDataset, cfg DetectionLoaderConfig) (*DetectionLoader, error) {
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	p := cfg.Preprocess
	switch {
	case cfg.BatchSize < 0:
		return nil, fmt.Errorf("detection loader: batch size %d; want a positive number", cfg.BatchSize)
	case ds.Len() == 0:
		return nil, fmt.Errorf("detection loader: the data set is empty; check the data path")
	case cfg.DropLast && ds.Len() < cfg.BatchSize:
		return nil, fmt.Errorf("detection loader: %d images is less than one batch of %d and DropLast is set, so an epoch would be empty; lower the batch size", ds.Len(), cfg.BatchSize)
	case cfg.Prefetch < 0:
		return nil, fmt.Errorf("detection loader: prefetch %d; want 0 (default) or more", cfg.Prefetch)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("detection loader: %w", err)
	}
	if err := cfg.Augment.Validate(); err != nil {
		return nil, fmt.Errorf("detection loader: %w", err)
	}
	if p.Size == 0 && p.Height == 0 && (cfg.Augment.ZoomOut > 0 || cfg.Augment.Crop) && cfg.BatchSize > 1 {
		return nil, fmt.Errorf("detection loader: zoom out and crop change every image's size, so a batch needs a fixed input; set Preprocess.Size (e.g. 300 for SSD300)")
	}
	nc := len(ds.Classes())
	for i := 0; i < ds.Len(); i++ {
		for k, b := range ds.Boxes(i) {
			if b.Class < 0 || b.Class >= nc {
				return nil, fmt.Errorf("detection loader: %s: box %d has class %d, outside the %d classes; fix the annotation", ds.Source(i), k, b.Class, nc)
			}
			if !finite(b.X1, b.Y1, b.X2, b.Y2) || !(b.X2 > b.X1 && b.Y2 > b.Y1) {
				return nil, fmt.Errorf("detection loader: %s: box %d (%g,%g)-(%g,%g) is not finite or has no area; fix the annotation", ds.Source(i), k, b.X1, b.Y1, b.X2, b.Y2)
			}
		}
	}
	l := &DetectionLoader{ds: ds, cfg: cfg, prefetch: cfg.Prefetch}
	if l.prefetch == 0 {
		l.prefetch = 2 * cfg.Workers
	}
	l.pool.New = func() any { return new(DetectionBatch) }
	if cfg.CacheDecoded {
		l.cache = make([]atomic.Pointer[detEntry], ds.Len())
	}
	return l, nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// Config is the configuration with defaults filled in.
func (l *DetectionLoader) Config() DetectionLoaderConfig { return l.cfg }

// Dataset is the data set the loader reads.
func (l *DetectionLoader) Dataset() DetectionDataset { return l.ds }

// Batches is the number of batches per epoch.
func (l *DetectionLoader) Batches() int {
	return batchCount(l.ds.Len(), l.cfg.BatchSize, l.cfg.DropLast)
}

// Order is the image order of an epoch, drawn as Loader.Order draws it.
func (l *DetectionLoader) Order(epoch int) []int {
	return epochOrder(l.ds.Len(), l.cfg.Shuffle, l.cfg.Seed, epoch)
}

// Epoch yields the batches of one epoch in order, built ahead on the
// workers; stopping early or cancelling ctx stops them. An image that fails
// to decode, or has a box outside it, ends the epoch with an *ErrSample
// naming it; cancellation ends it with ctx's error.
func (l *DetectionLoader) Epoch(ctx context.Context, epoch int) iter.Seq2[*DetectionBatch, error] {
	return func(yield func(*DetectionBatch, error) bool) {
		order := l.Order(epoch)
		runEpoch(ctx, l.Batches(), l.cfg.Workers, l.prefetch, newDetWorker,
			func(ctx context.Context, w *detWorker, b int) (*DetectionBatch, error) {
				return l.build(ctx, w, order, epoch, b)
			},
			(*DetectionBatch).Release, yield)
	}
}

// detWorker is one goroutine's reusable state.
type detWorker struct {
	work detWork
	pcg  *rand.PCG
	rng  *rand.Rand
}

func newDetWorker() *detWorker {
	pcg := rand.NewPCG(0, 0)
	return &detWorker{pcg: pcg, rng: rand.New(pcg)}
}

func (l *DetectionLoader) build(ctx context.Context, w *detWorker, order []int, epoch, b int) (*DetectionBatch, error) {
	bs := l.cfg.BatchSize
	idx := order[b*bs : min((b+1)*bs, len(order))]
	bt := l.pool.Get().(*DetectionBatch)
	bt.pool = &l.pool
	bt.Index = append(bt.Index[:0], idx...)
	bt.N = len(idx)
	bt.Boxes = grow(bt.Boxes, bt.N)
	bt.Maps = grow(bt.Maps, bt.N)
	fail := func(err error) (*DetectionBatch, error) {
		bt.Release()
		return nil, err
	}
	aug := l.cfg.Augment
	var plan normPlan
	var chw int
	for j, i := range idx {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		e, err := l.entry(i, &w.work)
		if err != nil {
			return fail(err)
		}
		im := e.im
		bt.Boxes[j] = bt.Boxes[j][:0]
		if aug.Enabled() {
			w.pcg.Seed(sampleSeed(l.cfg.Seed, epoch, i))
			im, bt.Boxes[j], bt.Maps[j] = aug.run(e.im, e.boxes, l.cfg.Preprocess, w.rng, &w.work, bt.Boxes[j])
		} else {
			bt.Boxes[j] = append(bt.Boxes[j], e.boxes...)
			bt.Maps[j] = e.m
		}
		if j == 0 {
			bt.C, bt.H, bt.W = im.C, im.H, im.W
			chw = im.C * im.H * im.W
			bt.X = grow(bt.X, bt.N*chw)
			if plan, err = l.cfg.Preprocess.plan(im.C); err != nil {
				return fail(&ErrSample{Source: l.ds.Source(i), Err: err})
			}
		} else if im.C != bt.C || im.H != bt.H || im.W != bt.W {
			return fail(&ErrSample{Source: l.ds.Source(i), Err: fmt.Errorf(
				"image is %dx%dx%d (CxHxW) after preprocessing but the batch is %dx%dx%d; set Preprocess.Size and Channels so every image gets one shape",
				im.C, im.H, im.W, bt.C, bt.H, bt.W)})
		}
		plan.apply(bt.X[j*chw:(j+1)*chw], im)
	}
	return bt, nil
}

// entry is image i decoded with its boxes checked against its size, and
// fitted when there is no augmentation; from the cache when enabled. The
// result may be shared through the cache and must not be written.
func (l *DetectionLoader) entry(i int, w *detWork) (*detEntry, error) {
	if l.cache != nil {
		if e := l.cache[i].Load(); e != nil {
			return e, nil
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
	if err := checkChannels(l.cfg.Preprocess, im.C); err != nil {
		return nil, &ErrSample{Source: l.ds.Source(i), Err: err}
	}
	boxes, err := checkBoxes(l.ds.Boxes(i), im.W, im.H)
	if err != nil {
		return nil, &ErrSample{Source: l.ds.Source(i), Err: err}
	}
	e := &detEntry{im: im, boxes: boxes}
	if !l.cfg.Augment.Enabled() {
		// Fitting is all there is to do, so it happens here, once when
		// caching: a cached image must not be one of w's buffers, which
		// the next image reuses.
		if l.cache != nil {
			w = &detWork{}
		}
		out, kept, m := DetectionAugment{}.run(im, boxes, l.cfg.Preprocess, nil, w, nil)
		e = &detEntry{im: out, boxes: kept, m: m}
	}
	if l.cache != nil {
		l.cache[i].Store(e)
	}
	return e, nil
}
