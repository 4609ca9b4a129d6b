package torch

import (
	"strings"
	"testing"
)

func TestParsePrecision(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Precision
		bad  bool
	}{
		{"", FP32, false}, {"fp32", FP32, false}, {"float32", FP32, false},
		{"bf16", BF16, false}, {"BFloat16", BF16, false},
		{"fp16", FP16, false}, {"half", FP16, false},
		{"int8", "", true}, {"bf", "", true},
	} {
		got, err := ParsePrecision(c.in)
		if (err != nil) != c.bad || got != c.want {
			t.Errorf("ParsePrecision(%q) = %q, %v; want %q, error %v", c.in, got, err, c.want, c.bad)
		}
	}
}

func TestPrecisionCheck(t *testing.T) {
	if err := FP16.Check(CPU); err == nil || !strings.Contains(err.Error(), "CUDA") {
		t.Errorf("fp16 on the CPU: %v, want a refusal naming CUDA", err)
	}
	if err := Precision("").Check(CPU); err != nil {
		t.Errorf("the zero precision is fp32 and runs anywhere: %v", err)
	}
	err := BF16.Check(CPU)
	if CPUHasBF16() != (err == nil) {
		t.Errorf("bf16 on a CPU with AVX512-BF16 %v: %v", CPUHasBF16(), err)
	}
	if err != nil && !strings.Contains(err.Error(), "--precision fp32") {
		t.Errorf("refusal %q does not name the fix", err)
	}
}

// TestAutocast checks that a region computes matrix products in bfloat16,
// that Run hands float32 back with the precision's rounding and no more,
// and that leaving the region restores fp32 for the ops after it.
func TestAutocast(t *testing.T) {
	if !CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	s := NewScope()
	defer s.Close()
	a, b := s.Track(Randn(64, 64)), s.Track(Randn(64, 64))
	var inside DType
	if err := BF16.Autocast(CPU, func() { inside = s.Track(a.Matmul(b)).DType() }); err != nil {
		t.Fatal(err)
	}
	if inside != BFloat16 {
		t.Errorf("matmul inside the region is %v, want bfloat16", inside)
	}
	if got := s.Track(a.Matmul(b)).DType(); got != Float32 {
		t.Errorf("matmul after the region is %v: autocast leaked", got)
	}
	exact := vals(t, s.Track(a.Matmul(b)))
	mixed := s.Track(BF16.Run(CPU, func() *Tensor { return a.Matmul(b) }))
	if mixed.DType() != Float32 {
		t.Fatalf("Run returned %v, want float32", mixed.DType())
	}
	got := vals(t, mixed)
	var worst, scale float64
	for i := range got {
		worst = max(worst, float64(abs32(got[i]-exact[i])))
		scale = max(scale, float64(abs32(exact[i])))
	}
	// bfloat16 keeps 8 bits of mantissa: a 64-term product is off by about
	// 2^-8 of its magnitude, and not by nothing (that would be fp32).
	if worst == 0 || worst > scale/32 {
		t.Errorf("bf16 matmul differs from fp32 by %g (largest value %g): want rounding of bf16's size", worst, scale)
	}
	if got := FP32.Run(CPU, func() *Tensor { return a.Matmul(b) }); got.DType() != Float32 {
		t.Errorf("fp32 Run gave %v", got.DType())
	} else {
		s.Track(got)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// TestAutocastWeightCache: autocast caches the bf16 copy of a weight that
// requires grad; a region after the weight changes (an optimizer step)
// must see the change, not the copy made before it.
func TestAutocastWeightCache(t *testing.T) {
	if !CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	s := NewScope()
	defer s.Close()
	x, w := s.Track(Randn(4, 8)), s.Track(Randn(8, 3))
	if err := w.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	fwd := func() []float32 {
		var v []float32
		NoGrad(func() { v = vals(t, s.Track(BF16.Run(CPU, func() *Tensor { return x.Matmul(w) }))) })
		return v
	}
	before := fwd()
	NoGrad(func() {
		if err := w.MulScalarInPlace(2); err != nil {
			t.Fatal(err)
		}
	})
	after := fwd()
	for i := range before {
		if after[i] != 2*before[i] {
			t.Fatalf("output %d is %g after doubling the weight, was %g: a stale cast weight", i, after[i], before[i])
		}
	}
}

// TestRelu6BackwardReduced: libtorch 1.13's CPU hardtanh has no bf16 or
// fp16 backward kernel, so ReLU6 (MobileNetV2's activation) must train
// under autocast another way; the gradient is 1 strictly inside (0, 6) and
// 0 outside, in fp32 and bf16 (fp16 is CUDA's: libtorch has no CPU clamp
// for it), and the in-place form agrees.
func TestRelu6BackwardReduced(t *testing.T) {
	in := []float32{-2, -0.5, 0.5, 3, 5.5, 7, 12}
	wantY := []float32{0, 0, 0.5, 3, 5.5, 6, 6}
	wantG := []float32{0, 0, 1, 1, 1, 0, 0}
	for _, dt := range []DType{Float32, BFloat16} {
		for _, inPlace := range []bool{false, true} {
			s := NewScope()
			leaf := s.Track(FromFloat32(in, int64(len(in))).To(dt, CPU))
			if err := leaf.SetRequiresGrad(true); err != nil {
				t.Fatal(err)
			}
			x := s.Track(leaf.MulScalar(1)) // an in-place op needs a non-leaf
			var y *Tensor
			if inPlace {
				y = x.Relu6InPlace()
			} else {
				y = s.Track(x.Relu6())
			}
			if err := s.Track(s.Track(y.To(Float32, CPU)).Sum()).Backward(); err != nil {
				t.Fatalf("dtype %v, in place %v: backward: %v", dt, inPlace, err)
			}
			g, err := leaf.Grad()
			if err != nil {
				t.Fatal(err)
			}
			gotY, _ := s.Track(y.To(Float32, CPU)).Float32s()
			gotG, _ := s.Track(g.To(Float32, CPU)).Float32s()
			for i := range in {
				if gotY[i] != wantY[i] || gotG[i] != wantG[i] {
					t.Errorf("dtype %v, in place %v: relu6(%v) = %v, gradient %v; want %v, %v", dt, inPlace, in[i], gotY[i], gotG[i], wantY[i], wantG[i])
				}
			}
			s.Close()
		}
	}
}
