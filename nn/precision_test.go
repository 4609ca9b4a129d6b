package nn_test

import (
	"math"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/torch"
)

// TestBF16Forward: a ResNet under bf16 gives float32 logits within bf16's
// rounding of the fp32 ones, and its gradients reach the float32 weights
// (mixed precision keeps fp32 master weights).
func TestBF16Forward(t *testing.T) {
	if !torch.CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	for _, name := range []string{"resnet18", "smallcnn"} {
		t.Run(name, func(t *testing.T) {
			torch.ManualSeed(0)
			model, err := arch.New(name, arch.Config{NumClasses: 5, InChannels: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer model.Free()
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.Randn(4, 3, 32, 32))
			var exact []float32
			torch.NoGrad(func() { exact, err = s.Track(model.Forward(x, false)).Float32s() })
			if err != nil {
				t.Fatal(err)
			}
			model.Precision = torch.BF16
			logits := s.Track(model.Forward(x, false))
			if logits.DType() != torch.Float32 {
				t.Fatalf("bf16 logits are %v, want float32", logits.DType())
			}
			got, err := logits.Float32s()
			if err != nil {
				t.Fatal(err)
			}
			var diff, scale float64
			for i := range got {
				diff = max(diff, math.Abs(float64(got[i]-exact[i])))
				scale = max(scale, math.Abs(float64(exact[i])))
			}
			if diff == 0 || diff > 0.1*scale+1e-3 {
				t.Errorf("bf16 logits differ from fp32 by %.3g (largest %.3g): want bf16 rounding, not none and not more", diff, scale)
			}
			loss := s.Track(torch.CrossEntropy(logits, s.Track(torch.FromInt64([]int64{0, 1, 2, 3}, 4)), 0))
			if err := loss.Backward(); err != nil {
				t.Fatal(err)
			}
			p := model.Params()[0]
			g, err := p.T.Grad()
			if err != nil || g == nil {
				t.Fatalf("%s has no gradient: %v", p.Name, err)
			}
			s.Track(g)
			if g.DType() != torch.Float32 {
				t.Errorf("%s's gradient is %v, want float32 (fp32 master weights)", p.Name, g.DType())
			}
		})
	}
}
