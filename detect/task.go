package detect

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/torch"
)

// Task trains a detector with fit.Train, graft's one training loop: the
// phases, freezing, per-stage rates, L2-SP, early stopping and resume of a
// classifier's run, with the detection loader's batches, the multibox loss,
// and mAP@0.5 on the validation images as the score that picks the best
// epoch (at a few images per class mAP@[.5:.95] moves in steps too small
// to choose by; both are reported by Evaluate).
//
//	task := &detect.Task{Model: m, Train: tl, Val: vl, Loss: detect.SSDLoss, Post: detect.SSDPost}
//	defer task.Free()
//	fit.Train(ctx, fit.Run{Model: m.Model, Task: task, Config: cfg})
//
// A phase that freezes the leading stages is served from a cache of their
// outputs, as a classifier's is (see SetPrefix).
type Task struct {
	Model      *Model
	Train, Val *data.DetectionLoader
	Loss       Loss
	Post       Post
	// PrefixBytes bounds the memory of the cached frozen prefix; 0 means
	// fit.DefaultCacheBytes. A prefix whose outputs would not fit runs
	// with the rest of the model every epoch instead.
	PrefixBytes int64

	prefix *prefix // nil when no prefix is cached
	served int     // batches run from the cache, for tests
}

var _ fit.PrefixTask = (*Task)(nil)

// prefix is what stages [0, k) give for every image of the training
// loader and, when cached too, of the validation loader.
type prefix struct {
	k          int
	train, val *data.DetectionLoader
	trainOut   *partials
	valOut     *partials // nil: validation runs the whole model
}

// of is the cached outputs for l's images, or nil.
func (p *prefix) of(l *data.DetectionLoader) *partials {
	switch {
	case p == nil || l == nil:
		return nil
	case l == p.train:
		return p.trainOut
	case l == p.val:
		return p.valOut
	}
	return nil
}

func (p *prefix) free() {
	p.trainOut.free()
	if p.valOut != p.trainOut {
		p.valOut.free()
	}
}

// partials are a Partial for every image of a data set: one CPU tensor,
// contiguous, per part, whose row i is image i's (its index in the data
// set). One tensor per part rather than per image makes a batch one
// index_select per part, and an epoch's cgo calls do not grow with the
// images.
type partials struct {
	parts []*torch.Tensor
	maps  []int // the part of each map, in tap order
	// x is the part of the stream the next stage reads: one of the maps
	// when the prefix's last stage is tapped (stored once), or -1 when no
	// body stage follows the prefix and the stream is not needed.
	x     int
	bytes int64
}

func (c *partials) free() {
	if c == nil {
		return
	}
	for _, t := range c.parts {
		t.Free()
	}
	c.parts = nil
}

// batch is the cached Partial of images idx, in s, where and how the model
// runs: what input and the prefix give, to rounding.
func (c *partials) batch(s *torch.Scope, idx []int, cfg fit.Config) (Partial, error) {
	ids := make([]int64, len(idx))
	for j, i := range idx {
		ids[j] = int64(i)
	}
	it := s.Track(torch.FromInt64(ids, int64(len(ids))))
	sel := make([]*torch.Tensor, len(c.parts))
	for i, part := range c.parts {
		// The index is in s, so the selection joins it.
		t := part.IndexSelect(0, it)
		if cfg.Device != torch.CPU {
			t = t.ToDevice(cfg.Device)
		}
		if cfg.ChannelsLast {
			// index_select returns NCHW; the stages after the prefix
			// have NHWC weights and read NHWC maps without a cache.
			t = t.ChannelsLast()
		}
		if err := t.Err(); err != nil {
			return Partial{}, fmt.Errorf("cached frozen prefix: %w", err)
		}
		sel[i] = t
	}
	var p Partial
	if c.x >= 0 {
		p.X = sel[c.x]
	}
	for _, m := range c.maps {
		p.Maps = append(p.Maps, sel[m])
	}
	return p, nil
}

// SetPrefix is fit.PrefixTask's: for k > 0 it runs stages [0, k) once
// over every image of the training and the validation loader (in order,
// unaugmented, in inference mode, without gradients) and keeps the stream
// and the maps they give on the CPU, so that EachTrain and Validate run
// stages k and up only. The outputs are kept while k and the loaders stay
// the same; another k replaces them, and k = 0 frees them.
//
// The prefix is not cached, and runs with the rest of the model as for
// k = 0, when the training loader augments (its images, hence their
// prefix outputs, change every epoch) or its outputs would pass
// PrefixBytes; a validation loader that augments, or would not fit in
// what is left, is run whole. Boxes always come from the loaders'
// batches, which without augmentation are the cached pass's.
func (t *Task) SetPrefix(ctx context.Context, k int, cfg fit.Config) error {
	if p := t.prefix; p != nil && p.k == k && p.train == t.Train && p.val == t.Val {
		return nil
	}
	t.Free()
	if k <= 0 || t.Train == nil || t.Train.Config().Augment.Enabled() {
		return nil
	}
	if head := len(t.Model.Stages) - 1; k > head {
		return fmt.Errorf("%s: a prefix of %d stages; the body has %d (the head is never cached)", t.Model.Arch, k, head)
	}
	limit := t.PrefixBytes
	if limit <= 0 {
		limit = fit.DefaultCacheBytes
	}
	tr, err := t.runPrefix(ctx, t.Train, k, cfg, limit)
	if err != nil || tr == nil {
		return err
	}
	p := &prefix{k: k, train: t.Train, val: t.Val, trainOut: tr}
	switch {
	case t.Val == t.Train:
		p.valOut = tr
	case t.Val != nil && !t.Val.Config().Augment.Enabled():
		if p.valOut, err = t.runPrefix(ctx, t.Val, k, cfg, limit-tr.bytes); err != nil {
			tr.free()
			return err
		}
	}
	t.prefix = p
	return nil
}

// runPrefix runs stages [0, k) over l's images, or returns nil when their
// outputs would take more than limit bytes.
func (t *Task) runPrefix(ctx context.Context, l *data.DetectionLoader, k int, cfg fit.Config, limit int64) (*partials, error) {
	// A copy of l with one unshuffled, unaugmented pass over every image;
	// it decodes each once and keeps none, where l keeps what it caches.
	lc := l.Config()
	lc.Shuffle, lc.DropLast, lc.CacheDecoded = false, false, false
	lc.Augment = data.DetectionAugment{}
	pass, err := data.NewDetectionLoader(l.Dataset(), lc)
	if err != nil {
		return nil, fmt.Errorf("cache the frozen prefix: %w", err)
	}
	n := l.Dataset().Len()
	out := &partials{x: -1}
	var chunks [][]*torch.Tensor // per batch, one tensor per part
	defer func() {
		for _, c := range chunks {
			for _, t := range c {
				t.Free()
			}
		}
	}()
	next := 0
	over := false
	torch.NoGrad(func() {
		for b, berr := range pass.Epoch(ctx, 0) {
			if berr != nil {
				err = berr
				return
			}
			if b.Index[0] != next {
				// Rows are data-set indices; an in-order pass yields them so.
				err = fmt.Errorf("the prefix pass gave image %d where %d was due", b.Index[0], next)
				b.Release()
				return
			}
			next += b.N
			s := torch.NewScope()
			p := t.Model.ForwardRange(Partial{X: input(s, b, cfg)}, 0, k, false)
			if len(chunks) == 0 {
				out.layout(p, k == len(t.Model.Stages)-1)
			}
			parts := p.Maps
			if out.x == len(p.Maps) {
				parts = append(parts[:len(parts):len(parts)], p.X)
			}
			chunk := make([]*torch.Tensor, len(parts))
			for i, m := range parts {
				chunk[i] = s.Keep(m.ToDevice(torch.CPU))
			}
			s.Close()
			chunks = append(chunks, chunk)
			for _, c := range chunk {
				if err = c.Err(); err != nil {
					err = fmt.Errorf("%s: stages [0, %d) on %d images: %w", t.Model.Arch, k, b.N, err)
					b.Release()
					return
				}
				out.bytes += c.Numel() * 4
			}
			// Every batch but the last is as big as the first, so the
			// first tells whether the whole set will fit.
			if out.bytes*int64(n) > limit*int64(next) {
				over = true
				b.Release()
				return
			}
			b.Release()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cache the frozen prefix: %w", err)
	}
	if over {
		return nil, nil
	}
	if next != n {
		return nil, fmt.Errorf("cache the frozen prefix: the pass gave %d of %d images", next, n)
	}
	for i := range chunks[0] {
		col := make([]*torch.Tensor, len(chunks))
		for j, c := range chunks {
			col[j] = c[i]
		}
		all := torch.Cat(col, 0)
		if err := all.Err(); err != nil {
			out.free()
			return nil, fmt.Errorf("cache the frozen prefix: %w", err)
		}
		out.parts = append(out.parts, all)
	}
	return out, nil
}

// layout decides which of p's tensors are kept: every map, and the stream
// unless it is the last map or nothing reads it (last: the prefix is the
// whole body).
func (c *partials) layout(p Partial, last bool) {
	c.maps = make([]int, len(p.Maps))
	for i := range p.Maps {
		c.maps[i] = i
	}
	switch {
	case last:
		c.x = -1
	case len(p.Maps) > 0 && p.X == p.Maps[len(p.Maps)-1]:
		c.x = len(p.Maps) - 1
	default:
		c.x = len(p.Maps)
	}
}

// Free releases the cached frozen prefix, if any; fit.Train frees it when
// it returns, and Free is for a task done with otherwise (or whose
// SetPrefix was called outside Train). It may be called more than once.
func (t *Task) Free() {
	if t.prefix != nil {
		t.prefix.free()
		t.prefix = nil
	}
}

// Batches is the number of training batches per epoch.
func (t *Task) Batches() int { return t.Train.Batches() }

// HasVal says whether there are validation images.
func (t *Task) HasVal() bool { return t.Val != nil }

// input is a batch's images as a tensor in s, where and how the model
// runs.
func input(s *torch.Scope, b *data.DetectionBatch, cfg fit.Config) *torch.Tensor {
	x := s.Track(torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W)))
	if cfg.Device != torch.CPU {
		x = x.ToDevice(cfg.Device)
	}
	if cfg.ChannelsLast {
		x = x.ChannelsLast()
	}
	return x
}

// EachTrain runs the detector in training mode on every training batch.
func (t *Task) EachTrain(ctx context.Context, epoch int, cfg fit.Config, f func(loss *torch.Tensor, n int) error) error {
	classes := len(t.Train.Dataset().Classes())
	for b, err := range t.Train.Epoch(ctx, epoch) {
		if err != nil {
			return err
		}
		if err := t.trainBatch(b, classes, cfg, f); err != nil {
			return err
		}
	}
	return nil
}

func (t *Task) trainBatch(b *data.DetectionBatch, classes int, cfg fit.Config, f func(loss *torch.Tensor, n int) error) error {
	defer b.Release()
	targets, err := TargetsOf(b.Boxes, classes)
	if err != nil {
		return err
	}
	defaults, err := t.Model.Defaults(b.H, b.W)
	if err != nil {
		return err
	}
	s := torch.NewScope()
	defer s.Close()
	reg, logits, err := t.forward(s, b, t.Train, cfg, true)
	if err != nil {
		return err
	}
	box, cls, err := t.Loss.Multibox(s.Track(reg), s.Track(logits), defaults, targets)
	if err != nil {
		return err
	}
	return f(s.Track(s.Track(box).Add(s.Track(cls))), b.N)
}

// forward runs the detector on b, a batch of l: from the cached prefix's
// outputs when l's are cached, from the images otherwise.
func (t *Task) forward(s *torch.Scope, b *data.DetectionBatch, l *data.DetectionLoader, cfg fit.Config, train bool) (reg, logits *torch.Tensor, err error) {
	c := t.prefix.of(l)
	if c == nil {
		reg, logits = t.Model.Forward(input(s, b, cfg), train)
		return reg, logits, nil
	}
	p, err := c.batch(s, b.Index, cfg)
	if err != nil {
		return nil, nil, err
	}
	t.served++
	p = t.Model.ForwardRange(p, t.prefix.k, len(t.Model.Stages)-1, train)
	reg, logits = t.Model.Predict(p.Maps, train)
	return reg, logits, nil
}

// Evaluation is a detector's score on a data set.
type Evaluation struct {
	Loss float64 // multibox loss per image
	COCO *metrics.COCOResult
	// GroundTruth and Detections are what COCO was scored on, in the
	// input's pixels, images numbered by their index in the loader's data
	// set: what a bootstrap over the images re-scores.
	GroundTruth []metrics.GroundTruth
	Detections  []metrics.Detection
}

// Validate is fit.Task's validation: the mean loss and mAP@0.5.
func (t *Task) Validate(ctx context.Context, cfg fit.Config) (loss, score float64, err error) {
	ev, err := t.Evaluate(ctx, t.Val, cfg)
	if err != nil {
		return 0, 0, err
	}
	return ev.Loss, ev.COCO.AP50, nil
}

// Evaluate runs the detector in evaluation mode over l's images once (in
// order, no augmentation is applied at epoch 0 only if l has none: give
// it a loader without augmentation) and scores its detections, in the
// input's pixels, against the boxes with COCO's definitions.
func (t *Task) Evaluate(ctx context.Context, l *data.DetectionLoader, cfg fit.Config) (*Evaluation, error) {
	if l == nil {
		return nil, fmt.Errorf("evaluate: no images")
	}
	classes := len(l.Dataset().Classes())
	var gts []metrics.GroundTruth
	var dets []metrics.Detection
	var lossSum float64
	images := 0
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		targets, err := TargetsOf(b.Boxes, classes)
		if err != nil {
			b.Release()
			return nil, err
		}
		defaults, err := t.Model.Defaults(b.H, b.W)
		if err != nil {
			b.Release()
			return nil, err
		}
		var found [][]Detection
		var batchLoss float64
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			var reg, logits, box, cls *torch.Tensor
			if reg, logits, err = t.forward(s, b, l, cfg, false); err != nil {
				return
			}
			reg, logits = s.Track(reg), s.Track(logits)
			if box, cls, err = t.Loss.Multibox(reg, logits, defaults, targets); err != nil {
				return
			}
			if batchLoss, err = s.Track(s.Track(box).Add(s.Track(cls))).Item(); err != nil {
				return
			}
			found, err = t.Post.Detect(reg, logits, defaults, b.H, b.W)
		})
		if err != nil {
			b.Release()
			return nil, err
		}
		lossSum += batchLoss * float64(b.N)
		images += b.N
		for i, idx := range b.Index {
			for _, g := range b.Boxes[i] {
				if g.Crowd {
					continue
				}
				gts = append(gts, metrics.GroundTruth{Image: idx, Class: g.Class, Difficult: g.Difficult,
					Box: metrics.Box{X1: g.X1, Y1: g.Y1, X2: g.X2, Y2: g.Y2}})
			}
			for _, d := range found[i] {
				dets = append(dets, metrics.Detection{Image: idx, Class: d.Class - 1, Score: float64(d.Score),
					Box: metrics.Box{X1: float64(d.Box[0]), Y1: float64(d.Box[1]), X2: float64(d.Box[2]), Y2: float64(d.Box[3])}})
			}
		}
		b.Release()
	}
	if images == 0 {
		return nil, fmt.Errorf("evaluate: the loader gave no image")
	}
	coco, err := metrics.EvaluateCOCO(gts, dets)
	if err != nil {
		return nil, err
	}
	return &Evaluation{Loss: lossSum / float64(images), COCO: coco, GroundTruth: gts, Detections: dets}, nil
}
