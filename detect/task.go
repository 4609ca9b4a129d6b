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
//	fit.Train(ctx, fit.Run{Model: m.Model, Task: task, Config: cfg})
type Task struct {
	Model      *Model
	Train, Val *data.DetectionLoader
	Loss       Loss
	Post       Post
}

var _ fit.Task = (*Task)(nil)

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
	reg, logits := t.Model.Forward(input(s, b, cfg), true)
	box, cls, err := t.Loss.Multibox(s.Track(reg), s.Track(logits), defaults, targets)
	if err != nil {
		return err
	}
	return f(s.Track(s.Track(box).Add(s.Track(cls))), b.N)
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
			reg, logits := t.Model.Forward(input(s, b, cfg), false)
			reg, logits = s.Track(reg), s.Track(logits)
			var box, cls *torch.Tensor
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
