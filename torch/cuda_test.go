package torch

import (
	"math"
	"testing"
)

// TestCUDAMatchesCPU runs a small conv/BN/linear network forward and
// backward on the CPU and on CUDA device 0 and compares losses and
// gradients. It runs only where the shim was built against a CUDA libtorch
// and a GPU is present (see README: another libtorch, or a GPU).
func TestCUDAMatchesCPU(t *testing.T) {
	if CUDADeviceCount() == 0 {
		t.Skip("no CUDA device visible to this libtorch")
	}
	ManualSeed(1)
	x := Randn(4, 3, 8, 8)
	w := Randn(5, 3, 3, 3)
	lw := Randn(2, 5)
	y := FromInt64([]int64{0, 1, 1, 0}, 4)
	defer func() {
		for _, t := range []*Tensor{x, w, lw, y} {
			t.Free()
		}
	}()
	run := func(dev Device) (float64, []float32) {
		s := NewScope()
		defer s.Close()
		wd := s.Track(w.ToDevice(dev).Detach())
		if err := wd.SetRequiresGrad(true); err != nil {
			t.Fatal(err)
		}
		h := Conv2d(s.Track(x.ToDevice(dev)), wd, nil, Conv2dOpts{Padding: [2]int64{1, 1}})
		h = BatchNorm(h, nil, nil, nil, nil, true, 0.1, 1e-5).Relu()
		logits := Linear(AdaptiveAvgPool2d(h, 1, 1).Flatten(1, -1), s.Track(lw.ToDevice(dev)), nil)
		loss := CrossEntropy(logits, s.Track(y.ToDevice(dev)), 0.1)
		if err := loss.Backward(); err != nil {
			t.Fatal(err)
		}
		l, err := loss.Item()
		if err != nil {
			t.Fatal(err)
		}
		g, err := wd.Grad()
		if err != nil || g == nil {
			t.Fatalf("no gradient on %v: %v", dev, err)
		}
		defer g.Free()
		if g.Device() != dev {
			t.Errorf("gradient on %v, want %v", g.Device(), dev)
		}
		v, _ := g.Float32s()
		return l, v
	}
	lc, gc := run(CPU)
	lg, gg := run(CUDA(0))
	if math.Abs(lc-lg) > 1e-4 {
		t.Errorf("loss cpu %v, cuda %v", lc, lg)
	}
	for i := range gc {
		if math.Abs(float64(gc[i]-gg[i])) > 1e-3 {
			t.Fatalf("grad[%d] cpu %v, cuda %v", i, gc[i], gg[i])
		}
	}
	t.Logf("loss %.6f on both; %d gradient values agree within 1e-3", lc, len(gc))
}
