package fit

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"unsafe"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// FeatureCache keeps the outputs of a frozen prefix of stages, computed once
// per image and reused across epochs and across runs: a frozen stage with
// frozen BatchNorm and unaugmented input computes the same output every
// time, so recomputing it each epoch is pure waste.
//
// One cache belongs to one set of starting weights and one preprocessing:
// runs that share it must start from the same base model. Entries are keyed
// by the data set's key (Run.TrainKey / Run.ValKey) and the prefix length.
type FeatureCache struct {
	// MaxBytes bounds the memory the cache may hold; features past it go
	// to disk, up to DiskMaxBytes in DiskDir (default: the system's
	// temporary folder). Past both, the prefix is recomputed every epoch.
	MaxBytes     int64
	DiskMaxBytes int64
	DiskDir      string

	mu       sync.Mutex
	used     int64
	usedDisk int64
	items    map[string]*features
	// Hits and Misses count lookups, for tests and reports.
	Hits, Misses int
}

// NewFeatureCache makes a cache holding at most maxBytes of features in
// memory, and as much again on disk.
func NewFeatureCache(maxBytes int64) *FeatureCache {
	return &FeatureCache{MaxBytes: maxBytes, DiskMaxBytes: 4 * maxBytes, items: map[string]*features{}}
}

// features are a prefix's outputs for every sample of a data set, in index
// order, with the labels.
type features struct {
	x *torch.Tensor // [N, C, H, W] on the model's device; nil when on disk
	y []int64
	// On disk: rows of float32 (host byte order) in file, each of shape row.
	file *os.File
	row  []int64
}

// rowFloats is the number of values of one sample's features.
func (f *features) rowFloats() int64 {
	n := int64(1)
	for _, d := range f.row {
		n *= d
	}
	return n
}

// rows reads the features of samples idx from disk into a tensor.
func (f *features) rows(idx []int) (*torch.Tensor, error) {
	rf := f.rowFloats()
	buf := make([]float32, int64(len(idx))*rf)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*4)
	for j, i := range idx {
		if _, err := f.file.ReadAt(raw[int64(j)*rf*4:int64(j+1)*rf*4], int64(i)*rf*4); err != nil {
			return nil, fmt.Errorf("read cached features from %s: %w", f.file.Name(), err)
		}
	}
	return torch.FromFloat32(buf, append([]int64{int64(len(idx))}, f.row...)...), nil
}

func (f *features) free() {
	f.x.Free()
	if f.file != nil {
		f.file.Close()
		os.Remove(f.file.Name())
	}
}

// Free releases every cached tensor.
func (c *FeatureCache) Free() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, f := range c.items {
		f.free()
		delete(c.items, k)
	}
	c.used, c.usedDisk = 0, 0
}

// get returns the prefix features of l's data set, computing them with m's
// first k stages on a miss. It returns nil (and no error) when they would
// not fit in the cache.
func (c *FeatureCache) get(ctx context.Context, key string, k int, m *nn.Model, l *data.Loader, cfg Config) (*features, error) {
	id := fmt.Sprintf("%s/prefix=%d", key, k)
	c.mu.Lock()
	if f, ok := c.items[id]; ok {
		c.Hits++
		c.mu.Unlock()
		return f, nil
	}
	c.Misses++
	c.mu.Unlock()

	// One unshuffled, unaugmented pass in inference mode.
	lc := l.Config()
	lc.Shuffle, lc.DropLast, lc.Augment = false, false, data.Augment{}
	lc.BatchSize = max(lc.BatchSize, 64)
	pass, err := data.NewLoader(l.Dataset(), lc)
	if err != nil {
		return nil, err
	}
	var parts []*torch.Tensor
	defer func() {
		for _, p := range parts {
			p.Free()
		}
	}()
	var y []int64
	var size int64
	var row []int64
	var spill *os.File // features past MaxBytes go here
	fail := func(e error) (*features, error) {
		if spill != nil {
			spill.Close()
			os.Remove(spill.Name())
		}
		return nil, fmt.Errorf("cache frozen features: %w", e)
	}
	toDisk := func(t *torch.Tensor) error {
		v, err := t.Float32s()
		if err != nil {
			return err
		}
		if len(v) == 0 {
			return nil
		}
		_, err = spill.Write(unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*4))
		return err
	}
	torch.NoGrad(func() {
		for b, berr := range pass.Epoch(ctx, 0) {
			if berr != nil {
				err = berr
				return
			}
			s := torch.NewScope()
			x, _ := batchTensors(s, b, cfg)
			out := s.Keep(m.ForwardRange(x, 0, k, false).Contiguous())
			s.Close()
			y = append(y, b.Y...)
			b.Release()
			if err = out.Err(); err != nil {
				return
			}
			row = out.Shape()[1:]
			size += out.Numel() * 4
			if spill == nil && size > c.MaxBytes {
				if size > c.MaxBytes+c.DiskMaxBytes {
					out.Free()
					return
				}
				// Memory is full: move what there is to disk and go on there.
				// A scratch file, not an output: it is deleted when the cache
				// drops it, so it needs none of safefile's atomic replace.
				if spill, err = os.CreateTemp(c.DiskDir, "graft-features-*.f32"); err != nil {
					return
				}
				for _, p := range parts {
					if err = toDisk(p); err != nil {
						return
					}
					p.Free()
				}
				parts = nil
			}
			if spill != nil {
				err = toDisk(out)
				out.Free()
				if err != nil || size > c.MaxBytes+c.DiskMaxBytes {
					return
				}
				continue
			}
			parts = append(parts, out)
		}
	})
	if err != nil {
		return fail(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.items[id]; ok {
		if spill != nil {
			spill.Close()
			os.Remove(spill.Name())
		}
		return f, nil // a concurrent run computed the same features first
	}
	if spill != nil {
		if size > c.MaxBytes+c.DiskMaxBytes || c.usedDisk+size > c.DiskMaxBytes+c.MaxBytes {
			spill.Close()
			os.Remove(spill.Name())
			return nil, nil
		}
		f := &features{y: y, file: spill, row: row}
		c.items[id] = f
		c.usedDisk += size
		return f, nil
	}
	if c.used+size > c.MaxBytes {
		return nil, nil
	}
	x := torch.Cat(parts, 0)
	if err := x.Err(); err != nil {
		return nil, err
	}
	f := &features{x: x, y: y}
	c.items[id] = f
	c.used += size
	return f, nil
}

// cachedPrefix is the number of leading stages a phase can serve from the
// cache: frozen, with frozen BatchNorm, untouched by earlier phases, and
// fed unaugmented input.
func cachedPrefix(p Phase, m *nn.Model, l *data.Loader, trained []bool) int {
	if l.Config().Augment.Enabled() {
		return 0
	}
	return frozenPrefix(p, m, trained)
}

// batchSource yields the model inputs of one epoch: images from the loader,
// or cached prefix features in the loader's order.
type batchSource struct {
	l    *data.Loader
	feat *features
	cfg  Config
}

type batchIn struct {
	x, y   *torch.Tensor // owned by the step's scope
	n      int
	labels []int64 // y's values
}

// each runs f on every batch of the epoch, each in its own scope.
func (bs batchSource) each(ctx context.Context, epoch int, f func(s *torch.Scope, b batchIn) error) error {
	if bs.feat == nil {
		for b, err := range bs.l.Epoch(ctx, epoch) {
			if err != nil {
				return err
			}
			s := torch.NewScope()
			x, y := batchTensors(s, b, bs.cfg)
			n, labels := b.N, slices.Clone(b.Y)
			b.Release()
			err = f(s, batchIn{x, y, n, labels})
			s.Close()
			if err != nil {
				return err
			}
		}
		return nil
	}
	order := bs.l.Order(epoch)
	size := bs.l.Config().BatchSize
	nb := bs.l.Batches()
	for i := 0; i < nb; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		idx := order[i*size : min(len(order), (i+1)*size)]
		ids := make([]int64, len(idx))
		ys := make([]int64, len(idx))
		for j, v := range idx {
			ids[j], ys[j] = int64(v), bs.feat.y[v]
		}
		s := torch.NewScope()
		it := s.Track(torch.FromInt64(ids, int64(len(ids))))
		y := s.Track(torch.FromInt64(ys, int64(len(ys))))
		if bs.cfg.Device != torch.CPU {
			it, y = it.ToDevice(bs.cfg.Device), y.ToDevice(bs.cfg.Device)
		}
		var x *torch.Tensor
		if bs.feat.file != nil {
			t, err := bs.feat.rows(idx)
			if err != nil {
				s.Close()
				return err
			}
			x = s.Track(t)
			if bs.cfg.Device != torch.CPU {
				x = x.ToDevice(bs.cfg.Device)
			}
		} else {
			x = s.Track(bs.feat.x.IndexSelect(0, it))
		}
		if bs.cfg.ChannelsLast && len(x.Shape()) == 4 {
			// index_select returns NCHW; the trainable stages' weights
			// are NHWC and would otherwise reorder every batch.
			x = x.ChannelsLast()
		}
		err := f(s, batchIn{x, y, len(idx), ys})
		s.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
