package nn

import (
	"math"
	"testing"

	"github.com/graftml/graft/torch"
)

// Each position's channel vector comes out with length equal to the
// channel's scale: (3, 4) has length 5, so scales (20, 20) give (12, 16);
// an all-zero position stays zero instead of dividing by zero.
func TestL2NormScalesUnitVectors(t *testing.T) {
	l := NewL2Norm(2, 20)
	defer l.Scale.Free()
	s := torch.NewScope()
	defer s.Close()
	// NCHW (1, 2, 1, 2): position 0 is (3, 4), position 1 is (0, 0).
	x := s.Track(torch.FromFloat32([]float32{3, 0, 4, 0}, 1, 2, 1, 2))
	got, err := s.Track(l.Forward(x, false)).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{12, 0, 16, 0}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if p := l.Params(); len(p) != 1 || p[0].Name != "scale_weight" {
		t.Errorf("params %v: torchvision names it scale_weight", p)
	}
}

// With fc2 all zero the gate is hardsigmoid(0) = 1/2 everywhere, so the
// block halves its input; a stride-1 block of equal widths adds its input.
func TestSqueezeExcitationGate(t *testing.T) {
	se := NewSqueezeExcitation(4, 8, "hardsigmoid")
	_ = se.FC2.Weight.Fill_(0)
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(2, 4, 3, 3))
	in, _ := x.Float32s()
	got, err := s.Track(se.Forward(x, false)).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if math.Abs(float64(got[i]-in[i]/2)) > 1e-6 {
			t.Fatalf("element %d: %g, want half of %g", i, got[i], in[i])
		}
	}
	names := []string{}
	for _, p := range se.Params() {
		names = append(names, p.Name)
	}
	if len(names) != 4 || names[0] != "fc1.weight" || names[3] != "fc2.bias" {
		t.Errorf("params %v", names)
	}
	b := &InvertedResidualV3{Block: Seq(se), UseRes: true}
	got, err = s.Track(b.Forward(x, false)).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if math.Abs(float64(got[i]-1.5*in[i])) > 1e-5 {
			t.Fatalf("residual block element %d: %g, want %g", i, got[i], 1.5*in[i])
		}
	}
}
