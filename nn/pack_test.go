package nn_test

import (
	"math"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn/nntest"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// TestPack: a packed model infers what the dense one does, to float
// rounding, from NCHW and NHWC inputs; only stages oneDNN's layout can run
// through are packed; training and autograd keep the dense path; Fold,
// Unpack and Free drop the packed copies.
func TestPack(t *testing.T) {
	cases := []struct {
		arch      string
		precision torch.Precision
		packed    int // stages packed: all but the head where every layer has a oneDNN kernel
		tol       float64
	}{
		{"smallcnn", torch.FP32, 3, 1e-4},
		{"resnet18", torch.FP32, 5, 1e-4},
		{"resnet50", torch.FP32, 5, 1e-4},
		{"vgg11_bn", torch.FP32, 5, 1e-4},
		{"mobilenet_v2", torch.FP32, 0, 1e-4}, // ReLU6 has no oneDNN kernel in ATen 1.13
		{"resnet18", torch.BF16, 5, 5e-2},
		{"resnet18", torch.FP16, 0, 0}, // nothing packs for fp16 (CUDA only)
	}
	for _, c := range cases {
		t.Run(c.arch+"/"+string(c.precision), func(t *testing.T) {
			if c.precision == torch.BF16 && !torch.CPUHasBF16() {
				t.Skip("no AVX512-BF16 on this CPU")
			}
			torchtest.NoLeaks(t)
			torch.ManualSeed(1)
			m, err := arch.New(c.arch, arch.Config{NumClasses: 7, InChannels: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			nntest.ScrambleBatchNorms(m)
			if _, err := m.FoldBatchNorm(); err != nil {
				t.Fatal(err)
			}
			if c.precision != torch.FP16 {
				m.Precision = c.precision
			}
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(3, 3, 64, 64))
			infer := func(x *torch.Tensor) []float32 {
				t.Helper()
				var v []float32
				torch.NoGrad(func() { v, err = s.Track(m.Forward(x, false)).Float32s() })
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			want := infer(x)
			m.Precision = c.precision
			n, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if c.precision == torch.FP16 {
				if n != 0 || m.Packed() {
					t.Fatalf("fp16 packed %d stages", n)
				}
				return
			}
			if n != c.packed || m.Packed() != (n > 0) {
				t.Fatalf("packed %d stages (Packed() %v), want %d", n, m.Packed(), c.packed)
			}
			for _, in := range []*torch.Tensor{x, s.Track(x.ChannelsLast())} {
				got := infer(in)
				if len(got) != len(want) {
					t.Fatalf("%d outputs, want %d", len(got), len(want))
				}
				diff, scale := nntest.MaxDiff(got, want)
				if diff > c.tol*max(scale, 1) || math.IsNaN(diff) {
					t.Errorf("packed outputs differ by %.3g (largest %.3g)", diff, scale)
				}
			}
			if n == 0 {
				return
			}
			// With autograd on, the dense path runs: its outputs are the
			// unpacked model's to the bit.
			var dense []float32
			if dense, err = s.Track(m.Forward(x, false)).Float32s(); err != nil {
				t.Fatal(err)
			}
			for i := range dense {
				if dense[i] != want[i] {
					t.Fatalf("with autograd on, output %d is %v, the dense model's %v", i, dense[i], want[i])
				}
			}
			if _, err := m.FoldBatchNorm(); err != nil || m.Packed() {
				t.Errorf("after a second fold Packed() is %v (%v), want the copies dropped", m.Packed(), err)
			}
		})
	}
}

// TestPackSkipsUnfolded: BatchNorms that still run (not folded) keep their
// stages dense.
func TestPackSkipsUnfolded(t *testing.T) {
	torchtest.NoLeaks(t)
	m, err := arch.New("resnet18", arch.Config{NumClasses: 3, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if n, err := m.Pack(); err != nil || n != 0 {
		t.Errorf("unfolded ResNet-18 packed %d stages (%v), want 0", n, err)
	}
}

// TestPackStagesFrozen: a frozen prefix packs with its BatchNorms folded
// into the packed copies, leaving the layers themselves unfolded; the
// prefix's output matches the dense one, and unfreezing unpacks.
func TestPackStagesFrozen(t *testing.T) {
	torchtest.NoLeaks(t)
	torch.ManualSeed(2)
	m, err := arch.New("resnet18", arch.Config{NumClasses: 5, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	nntest.ScrambleBatchNorms(m)
	const k = 3 // stem, stage1, stage2
	for i := 0; i < k; i++ {
		if err := m.SetTrainable(i, false, false); err != nil {
			t.Fatal(err)
		}
	}
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(2, 3, 32, 32)).ChannelsLast()
	prefix := func() []float32 {
		var v []float32
		torch.NoGrad(func() { v, err = s.Track(m.ForwardRange(x, 0, k, false)).Float32s() })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := prefix()
	n, err := m.PackStages(len(m.Stages))
	if err != nil {
		t.Fatal(err)
	}
	if n != k || m.Folded {
		t.Fatalf("packed %d stages (model folded %v), want the %d frozen ones and no fold", n, m.Folded, k)
	}
	got := prefix()
	diff, scale := nntest.MaxDiff(got, want)
	if diff > 1e-4*max(scale, 1) {
		t.Errorf("packed frozen prefix differs by %.3g (largest %.3g)", diff, scale)
	}
	if err := m.SetTrainable(0, true, false); err != nil || m.Packed() {
		t.Errorf("after unfreezing the stem Packed() is %v (%v), want the copies dropped", m.Packed(), err)
	}
}
