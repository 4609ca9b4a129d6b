package nn_test

import (
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/nn/nntest"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// TestFoldBatchNorm: a folded network gives the unfolded one's outputs to
// float32 rounding, with every BatchNorm of the architecture folded;
// BatchNorms with statistics far from the identity make it fail loudly if
// the fold is wrong.
func TestFoldBatchNorm(t *testing.T) {
	// In these architectures every BatchNorm follows a convolution.
	for _, name := range []string{"smallcnn", "resnet18", "mobilenet_v2", "mobilenet_v3_large", "vgg11_bn"} {
		t.Run(name, func(t *testing.T) {
			torchtest.NoLeaks(t)
			torch.ManualSeed(1)
			m, err := arch.New(name, arch.Config{NumClasses: 7, InChannels: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			// Statistics unlike a fresh BatchNorm's, or the fold of the
			// identity would pass whatever it did.
			nntest.ScrambleBatchNorms(m)
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(2, 3, 64, 64))
			var want, got []float32
			torch.NoGrad(func() { want, err = s.Track(m.Forward(x, false)).Float32s() })
			if err != nil {
				t.Fatal(err)
			}
			n, err := m.FoldBatchNorm()
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			nn.Walk(stagesLayers(m), func(mod nn.Module) {
				if _, ok := mod.(*nn.BatchNorm2d); ok {
					total++
				}
			})
			if n != total || total == 0 || !m.Folded {
				t.Errorf("folded %d of %d BatchNorms (model marked %v), want all", n, total, m.Folded)
			}
			torch.NoGrad(func() { got, err = s.Track(m.Forward(x, false)).Float32s() })
			if err != nil {
				t.Fatal(err)
			}
			diff, scale := nntest.MaxDiff(got, want)
			if diff > 1e-4*max(scale, 1) {
				t.Errorf("folded outputs differ by %.3g (largest %.3g)", diff, scale)
			}
			if again, _ := m.FoldBatchNorm(); again != 0 {
				t.Errorf("a second fold folded %d more", again)
			}
		})
	}
}

func stagesLayers(m *nn.Model) []nn.Named {
	var out []nn.Named
	for _, s := range m.Stages {
		out = append(out, s.Layers...)
	}
	return out
}
