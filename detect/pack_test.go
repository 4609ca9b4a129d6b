package detect

import (
	"math"
	"testing"

	"github.com/graftml/graft/nn/nntest"
	"github.com/graftml/graft/torch"
)

// TestPackedDetector: a detector folded and packed for inference (as graft
// detect runs it) predicts what the dense one does, to float rounding, with
// its tapped maps handed to the head dense; bodies without oneDNN kernels
// for every layer (MobileNet's hardswish, ReLU6) stay dense.
func TestPackedDetector(t *testing.T) {
	cases := []struct {
		name string
		size int64
		pack bool // whether any body stage packs
	}{
		{"ssd_smallcnn", 128, true},
		{"ssd300_vgg16", 300, true},
		{"ssdlite320_mobilenet_v3_large", 320, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if testing.Short() && c.name == "ssd300_vgg16" {
				t.Skip("large")
			}
			torch.ManualSeed(1)
			m, err := New(c.name, Config{NumClasses: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			nntest.ScrambleBatchNorms(m.Model)
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(1, 3, c.size, c.size))
			run := func() (reg, logits []float32) {
				t.Helper()
				torch.NoGrad(func() {
					r, l := m.Forward(x, false)
					reg, err = s.Track(r).Float32s()
					if err == nil {
						logits, err = s.Track(l).Float32s()
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				return reg, logits
			}
			if _, err := m.FoldBatchNorm(); err != nil {
				t.Fatal(err)
			}
			wantReg, wantLogits := run()
			n, err := m.Pack()
			if err != nil {
				t.Fatal(err)
			}
			if (n > 0) != c.pack {
				t.Fatalf("packed %d stages, want some: %v", n, c.pack)
			}
			gotReg, gotLogits := run()
			for _, pair := range [][2][]float32{{gotReg, wantReg}, {gotLogits, wantLogits}} {
				got, want := pair[0], pair[1]
				if len(got) != len(want) {
					t.Fatalf("%d outputs, want %d", len(got), len(want))
				}
				diff, scale := nntest.MaxDiff(got, want)
				if diff > 1e-4*max(scale, 1) || math.IsNaN(diff) {
					t.Errorf("packed outputs differ by %.3g (largest %.3g)", diff, scale)
				}
			}
		})
	}
}
