package fit

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// RecalibrateBN re-estimates the running mean and variance of every
// BatchNorm2d of m that is in training mode (not Frozen) over one pass of l
// ("precise BN", Wu & Johnson 2021, Rethinking "Batch" in BatchNorm): the
// running statistics become the average of l's batch statistics, the
// network's own, rather than a moving average that lags the weights. Frozen
// BatchNorms, momentum and num_batches_tracked are left as they were. cfg
// gives the device and memory layout the model was moved to.
//
// Call it on a trained model before evaluating it, with a loader over the
// training images (and their augmentation, if training used any).
func RecalibrateBN(ctx context.Context, m *nn.Model, l *data.Loader, cfg Config) error {
	return recalibrateBN(ctx, m, batchSource{l: l, cfg: cfg}, 0, 0)
}

// recalibrateBN is RecalibrateBN over the batches src gives for epoch, fed
// to stages from on (the earlier ones being cached frozen features).
func recalibrateBN(ctx context.Context, m *nn.Model, src batchSource, from, epoch int) error {
	var bns []*nn.BatchNorm2d
	to := from // no need to run the stages after the last BatchNorm
	for i := from; i < len(m.Stages); i++ {
		nn.Walk(m.Stages[i].Layers, func(mod nn.Module) {
			if bn, ok := mod.(*nn.BatchNorm2d); ok && !bn.Frozen {
				bns = append(bns, bn)
				to = i + 1
			}
		})
	}
	if len(bns) == 0 {
		return nil
	}
	type saved struct {
		momentum           float64
		mean, vr, nTracked *torch.Tensor
	}
	old := make([]saved, len(bns))
	for i, bn := range bns {
		old[i].momentum = bn.Momentum
	}
	ok := false
	var err error
	torch.NoGrad(func() {
		clone := func(t *torch.Tensor) *torch.Tensor {
			c := t.CloneDetached()
			if e := c.Err(); e != nil && err == nil {
				err = e
			}
			return c
		}
		restore := func(dst, src *torch.Tensor, copyBack bool) {
			if src == nil {
				return
			}
			if copyBack && src.Err() == nil {
				if e := dst.CopyFrom_(src); e != nil && err == nil {
					err = e
				}
			}
			src.Free()
		}
		// Momentum and the batch count are restored always, the
		// statistics only when the pass failed, leaving the model as it
		// was.
		defer func() {
			for i, bn := range bns {
				bn.Momentum = old[i].momentum
				restore(bn.NumBatchesTracked, old[i].nTracked, true)
				restore(bn.RunningMean, old[i].mean, !ok)
				restore(bn.RunningVar, old[i].vr, !ok)
			}
		}()
		for i, bn := range bns {
			old[i].nTracked, old[i].mean, old[i].vr = clone(bn.NumBatchesTracked), clone(bn.RunningMean), clone(bn.RunningVar)
			if err != nil {
				return
			}
			if err = firstErr(bn.RunningMean.Fill_(0), bn.RunningVar.Fill_(1)); err != nil {
				return
			}
		}
		// Momentum 1/(k+1) for batch k makes the running statistics the
		// plain mean over batches, as PyTorch's momentum=None.
		k := 0
		err = src.each(ctx, epoch, func(_ *torch.Scope, b batchIn) error {
			for _, bn := range bns {
				bn.Momentum = 1 / float64(k+1)
			}
			k++
			out := m.ForwardRange(b.x, from, to, true)
			if e := out.Err(); e != nil {
				return fmt.Errorf("forward pass on a %v batch: %w", b.x.Shape(), e)
			}
			return nil
		})
		if err == nil && k == 0 {
			err = fmt.Errorf("the data set gave no batch to estimate BatchNorm statistics from")
		}
		ok = err == nil
	})
	if err != nil {
		return fmt.Errorf("recalibrate BatchNorm statistics: %w", err)
	}
	return nil
}
