package bench

import (
	"fmt"
	"time"

	"github.com/graftml/graft/torch"
)

// The roofline: what a 2048² fp32 matrix product reaches through package
// torch on the benchmark's device and threads. A convolution network's
// step cannot beat the machine's best GEMM (its convolutions become GEMMs
// or run at their rate), so a case's GFLOP/s beside this figure says how
// far from the limit it runs; near it, only less arithmetic (lower
// precision) makes it faster.
const (
	SgemmSide = 2048
	SgemmReps = 5
)

// MeasureSgemm times SgemmReps products of two SgemmSide² random fp32
// matrices on dev, after one untimed, and returns the best rate in
// GFLOP/s (2·n³ FLOPs per product). The best, not the mean: the figure is
// a ceiling, and anything else the machine does only lowers a sample.
func MeasureSgemm(dev torch.Device, threads int) (float64, error) {
	if err := torch.SetNumThreads(threads); err != nil {
		return 0, err
	}
	s := torch.NewScope()
	defer s.Close()
	n := int64(SgemmSide)
	a, b := s.Track(torch.Randn(n, n)), s.Track(torch.Randn(n, n))
	if dev != torch.CPU {
		a, b = a.ToDevice(dev), b.ToDevice(dev)
	}
	product := func() error {
		p := a.Matmul(b)
		defer p.Free()
		if err := p.Err(); err != nil {
			return fmt.Errorf("sgemm %d² on %v: %w", n, dev, err)
		}
		return syncDevice(dev)
	}
	if err := product(); err != nil {
		return 0, err
	}
	best := 0.0
	for range SgemmReps {
		start := time.Now()
		if err := product(); err != nil {
			return 0, err
		}
		best = max(best, 2*float64(n*n*n)/time.Since(start).Seconds()/1e9)
	}
	return best, nil
}

// stepFLOPs is what one image costs in mode, from its forward pass: a
// training step's backward pass computes the gradients of both the
// activations and the weights, each about one forward pass of
// multiply-adds, so a step is 3× the forward; inference is the forward.
func stepFLOPs(forward int64, mode string) float64 {
	if mode == ModeTrain {
		return 3 * float64(forward)
	}
	return float64(forward)
}
