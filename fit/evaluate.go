package fit

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Evaluation is a model's performance on a data set.
type Evaluation struct {
	Loss      float64
	Confusion *metrics.Confusion
}

// Evaluate runs the model in inference mode over l and scores it.
func Evaluate(ctx context.Context, m *nn.Model, l *data.Loader, cfg Config) (*Evaluation, error) {
	return evaluateSource(ctx, m, batchSource{l: l, cfg: cfg}, 0, cfg)
}

// evaluateSource scores the model from stage `from` on, over images or
// cached features.
func evaluateSource(ctx context.Context, m *nn.Model, src batchSource, from int, cfg Config) (*Evaluation, error) {
	if err := usePrecision(m, cfg); err != nil {
		return nil, err
	}
	ev := &Evaluation{Confusion: metrics.NewConfusion(src.l.Dataset().Classes())}
	var lossSum float64
	var n int
	var err error
	torch.NoGrad(func() {
		err = src.each(ctx, 0, func(s *torch.Scope, b batchIn) error {
			logits := m.ForwardRange(b.x, from, len(m.Stages), false)
			loss, err := torch.CrossEntropy(logits, b.y, cfg.LabelSmoothing).Item()
			if err != nil {
				return err
			}
			pred, err := logits.Argmax(1).Int64s()
			if err != nil {
				return err
			}
			truth, err := b.y.Int64s()
			if err != nil {
				return err
			}
			for i, p := range pred {
				ev.Confusion.Add(int(truth[i]), int(p))
			}
			lossSum += loss * float64(b.n)
			n += b.n
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, fmt.Errorf("evaluation set is empty")
	}
	ev.Loss = lossSum / float64(n)
	return ev, nil
}

// Predict runs the model without gradients over every batch of l, in
// order, and hands each batch with its logits and labels (on the model's
// device) to f. The tensors are freed when f returns. cfg gives the device
// and memory layout the model was moved to.
func Predict(ctx context.Context, m *nn.Model, l *data.Loader, cfg Config, f func(b *data.Batch, logits, labels *torch.Tensor) error) error {
	if err := usePrecision(m, cfg); err != nil {
		return err
	}
	var err error
	torch.NoGrad(func() {
		for b, berr := range l.Epoch(ctx, 0) {
			if berr != nil {
				err = berr
				return
			}
			s := torch.NewScope()
			x, y := batchTensors(s, b, cfg)
			logits := m.Forward(x, false)
			if err = logits.Err(); err != nil {
				err = fmt.Errorf("forward pass on a %dx%dx%d batch: %w", b.C, b.H, b.W, err)
			} else {
				err = f(b, logits, y)
			}
			s.Close()
			b.Release()
			if err != nil {
				return
			}
		}
	})
	return err
}

// BatchTensors copies a batch into tensors owned by s, on device dev and,
// with channelsLast, laid out NHWC: the one place a data.Batch becomes
// model input, for training, evaluation, caching, the range test and
// feature extraction alike.
func BatchTensors(s *torch.Scope, b *data.Batch, dev torch.Device, channelsLast bool) (x, y *torch.Tensor) {
	x = s.Track(torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W)))
	y = s.Track(torch.FromInt64(b.Y, int64(b.N)))
	if dev != torch.CPU {
		x, y = x.ToDevice(dev), y.ToDevice(dev)
	}
	if channelsLast {
		x = x.ChannelsLast()
	}
	return x, y
}

// batchTensors is BatchTensors on the run's device and layout.
func batchTensors(s *torch.Scope, b *data.Batch, cfg Config) (x, y *torch.Tensor) {
	return BatchTensors(s, b, cfg.Device, cfg.ChannelsLast)
}
