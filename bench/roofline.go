package bench

import (
	"fmt"
	"runtime"
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
	// libtorch's thread count is the calling OS thread's (OpenMP's
	// per-thread setting): without the pin, the product may run on a
	// thread that never had it set, at one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
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
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := torch.SetNumThreads(threads); err != nil {
		return 0, err
	}
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(convBatch, convChannels, convSide, convSide))
	w := s.Track(torch.Randn(convChannels, convChannels, 3, 3))
	if dev != torch.CPU {
		x, w = s.Track(x.ToDevice(dev)), s.Track(w.ToDevice(dev))
	}
	conv := func() error {
		y := torch.Conv2d(x, w, nil, torch.Conv2dOpts{Padding: [2]int64{1, 1}})
		defer y.Free()
		if err := y.Err(); err != nil {
			return fmt.Errorf("convolution on %v: %w", dev, err)
		}
		return syncDevice(dev)
	}
	if err := conv(); err != nil {
		return 0, err
	}
	flops := 2 * float64(convBatch*convChannels*convChannels*9*convSide*convSide)
	best := 0.0
	for range SgemmReps {
		start := time.Now()
		if err := conv(); err != nil {
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
