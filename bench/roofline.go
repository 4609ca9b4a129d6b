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
// GFLOP/s (2·n³ FLOPs per product).
func MeasureSgemm(dev torch.Device, threads int) (float64, error) {
	n := int64(SgemmSide)
	return bestRate(dev, threads, 2*float64(n*n*n), fmt.Sprintf("sgemm %d²", n),
		func(s *torch.Scope) []*torch.Tensor {
			return []*torch.Tensor{s.Track(torch.Randn(n, n)), s.Track(torch.Randn(n, n))}
		},
		func(in []*torch.Tensor) *torch.Tensor { return in[0].Matmul(in[1]) })
}

// The convolution whose rate is the other ceiling: a 3×3, 256 → 256
// channels on a batch of 16 maps of 28², the shape of a ResNet's middle,
// where oneDNN's kernels run near the machine's peak.
const (
	convBatch, convChannels, convSide = 16, 256, 28
)

// MeasureConv times SgemmReps such convolutions on dev with threads, after
// one untimed, and returns the best rate in GFLOP/s. libtorch runs
// convolutions with oneDNN and matrix products with the BLAS, and on a CPU
// the convolution kernels can be the faster of the two: the roofline
// reads each case against the higher rate, so that no case sits above it.
func MeasureConv(dev torch.Device, threads int) (float64, error) {
	return bestRate(dev, threads, 2*float64(convBatch*convChannels*convChannels*9*convSide*convSide), "convolution",
		func(s *torch.Scope) []*torch.Tensor {
			return []*torch.Tensor{s.Track(torch.Randn(convBatch, convChannels, convSide, convSide)),
				s.Track(torch.Randn(convChannels, convChannels, 3, 3))}
		},
		func(in []*torch.Tensor) *torch.Tensor {
			return torch.Conv2d(in[0], in[1], nil, torch.Conv2dOpts{Padding: [2]int64{1, 1}})
		})
}

// bestRate runs op on the inputs made (on the host, then moved to dev)
// once untimed and SgemmReps times timed, waiting for dev each time, and
// returns the best rate in GFLOP/s of flops per run. The best, not the
// mean: the figure is a ceiling, and anything else the machine does only
// lowers a sample.
func bestRate(dev torch.Device, threads int, flops float64, what string, inputs func(*torch.Scope) []*torch.Tensor, op func([]*torch.Tensor) *torch.Tensor) (float64, error) {
	// libtorch's thread count is the calling OS thread's (OpenMP's
	// per-thread setting): without the pin, the work may run on a thread
	// that never had it set, at one thread.
	defer torch.LockThread()()
	if err := torch.SetNumThreads(threads); err != nil {
		return 0, err
	}
	s := torch.NewScope()
	defer s.Close()
	in := inputs(s)
	if dev != torch.CPU {
		for i, t := range in {
			in[i] = s.Track(t.ToDevice(dev))
		}
	}
	run := func() error {
		y := op(in)
		defer y.Free()
		if err := y.Err(); err != nil {
			return fmt.Errorf("%s on %v: %w", what, dev, err)
		}
		return syncDevice(dev)
	}
	if err := run(); err != nil {
		return 0, err
	}
	best := 0.0
	for range SgemmReps {
		start := time.Now()
		if err := run(); err != nil {
			return 0, err
		}
		best = max(best, flops/time.Since(start).Seconds()/1e9)
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
