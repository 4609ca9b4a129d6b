package torch

import (
	"fmt"
	"math"
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

// TestGEMMWeightGrad checks the bf16 weight gradient of convolutions on
// small maps (the im2col matrix product of graft_shim.cpp) against the
// same gradients in float32, beside oneDNN's kernel, for every form a
// network hands it: weights cast by autocast or kept as bf16 leaves,
// NHWC or NCHW inputs, strides, 1×1 kernels, a bias. Convolutions outside
// its rule (larger maps, groups) must not take it. (The two paths' values
// often agree bit for bit, both summing in float32 before one rounding to
// bf16, so the shim's count says which ran.)
func TestGEMMWeightGrad(t *testing.T) {
	if !CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	defer SetGEMMWeightGrad(GEMMWeightGrad())
	for _, c := range []struct {
		name             string
		x, w             []int64
		opts             Conv2dOpts
		nhwc, bias, lowW bool
		takesGEMM        bool
	}{
		{"4x4 maps, cast weight, NHWC", []int64{8, 64, 4, 4}, []int64{64, 64, 3, 3}, Conv2dOpts{Padding: [2]int64{1, 1}}, true, false, false, true},
		{"stride 2 to 4x4, bf16 leaf, bias, NCHW", []int64{8, 64, 8, 8}, []int64{64, 64, 3, 3}, Conv2dOpts{Stride: [2]int64{2, 2}, Padding: [2]int64{1, 1}}, false, true, true, true},
		{"1x1 stride 2 to 2x2", []int64{32, 256, 4, 4}, []int64{256, 256, 1, 1}, Conv2dOpts{Stride: [2]int64{2, 2}}, true, false, true, true},
		{"8x8 maps: oneDNN's", []int64{8, 64, 8, 8}, []int64{64, 64, 3, 3}, Conv2dOpts{Padding: [2]int64{1, 1}}, true, false, false, false},
		{"groups: oneDNN's", []int64{8, 64, 4, 4}, []int64{64, 32, 3, 3}, Conv2dOpts{Padding: [2]int64{1, 1}, Groups: 2}, true, false, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := NewScope()
			defer s.Close()
			ManualSeed(7)
			// Operands rounded to bf16 first, so that the float32
			// reference differs from bf16 only in the arithmetic.
			round := func(shape ...int64) *Tensor {
				return s.Track(s.Track(s.Track(Randn(shape...)).To(BFloat16, CPU)).To(Float32, CPU))
			}
			x, w, b := round(c.x...), round(c.w...), round(c.w[0])
			r := round(c.x[0], c.w[0], 8, 8) // the loss's weights; every output here is at most 8x8
			grads := func(p Precision, gemm bool) [3][]float32 {
				SetGEMMWeightGrad(gemm)
				xl := s.Track(x.MulScalar(1))
				if c.nhwc {
					xl = s.Track(xl.ChannelsLast())
				}
				wl := s.Track(w.MulScalar(1))
				if c.lowW && p.Mixed() {
					wl = s.Track(wl.To(BFloat16, CPU))
				}
				bl := s.Track(b.MulScalar(1))
				leaves := []*Tensor{xl, wl, bl}
				for _, l := range leaves {
					if err := l.SetRequiresGrad(true); err != nil {
						t.Fatal(err)
					}
				}
				var bias *Tensor
				if c.bias {
					bias = bl
				}
				y := s.Track(p.Run(CPU, func() *Tensor { return Conv2d(xl, wl, bias, c.opts) }))
				if err := y.Err(); err != nil {
					t.Fatal(err)
				}
				rr := s.Track(r.Narrow(2, 0, y.Shape()[2]))
				rr = s.Track(rr.Narrow(3, 0, y.Shape()[3]))
				if err := s.Track(s.Track(y.Mul(rr)).Sum()).Backward(); err != nil {
					t.Fatal(err)
				}
				var out [3][]float32
				for i, l := range leaves[:2] {
					g, err := l.Grad()
					if err != nil {
						t.Fatal(err)
					}
					out[i] = vals(t, s.Track(s.Track(g).To(Float32, CPU)))
				}
				if c.bias {
					g, err := bl.Grad()
					if err != nil {
						t.Fatal(err)
					}
					out[2] = vals(t, s.Track(g))
				}
				return out
			}
			calls := GEMMWeightGradCalls()
			ref := grads(FP32, false)
			onednn := grads(BF16, false)
			if GEMMWeightGradCalls() != calls {
				t.Fatal("a weight gradient was a matrix product with the setting off, or in float32")
			}
			gemm := grads(BF16, true)
			gemmCalls := GEMMWeightGradCalls() == calls+1
			for i, name := range []string{"input", "weight", "bias"} {
				if ref[i] == nil {
					continue
				}
				scale := 0.0
				for _, v := range ref[i] {
					scale = math.Max(scale, math.Abs(float64(v)))
				}
				// bf16 keeps 8 significant bits: both paths land within a
				// few of its roundings of the float32 gradient's scale.
				for _, got := range []struct {
					path string
					v    []float32
				}{{"oneDNN", onednn[i]}, {"GEMM setting", gemm[i]}} {
					if !near(got.v, ref[i], scale/64) {
						t.Errorf("%s gradient by the %s is more than 1/64 of its scale (%g) from float32's", name, got.path, scale)
					}
				}
			}
			for i := range gemm[0] {
				if gemm[0][i] != onednn[0][i] {
					t.Fatalf("the input gradient changed with the setting: it is ATen's either way")
				}
			}
			if got := gemmCalls; got != c.takesGEMM {
				t.Errorf("the weight gradient was a matrix product: %v, want %v", got, c.takesGEMM)
			}
		})
	}
}

// BenchmarkConvWeightGrad times a bf16 3×3 convolution's forward and
// weight-gradient pass (batch 32, NHWC, the input not trained) at the
// widths and map sizes of a ResNet's stages, its weight gradient computed
// by oneDNN's kernel and as SetGEMMWeightGrad's matrix product (which the
// rule gives only maps of at most 16 positions; on larger ones both names
// time oneDNN): go test -run=^$ -bench=ConvWeightGrad ./torch
func BenchmarkConvWeightGrad(b *testing.B) {
	if !CPUHasBF16() {
		b.Skip("this CPU has no AVX512-BF16")
	}
	defer SetGEMMWeightGrad(GEMMWeightGrad())
	defer LockThread()()
	if err := SetNumThreads(2); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct{ ch, hw int64 }{{64, 16}, {128, 8}, {256, 4}, {512, 2}} {
		s := NewScope()
		x := s.Track(s.Track(s.Track(Randn(32, c.ch, c.hw, c.hw)).To(BFloat16, CPU)).ChannelsLast())
		r := s.Track(s.Track(s.Track(Randn(32, c.ch, c.hw, c.hw)).To(BFloat16, CPU)).ChannelsLast())
		w := s.Track(s.Track(s.Track(Randn(c.ch, c.ch, 3, 3)).To(BFloat16, CPU)).ChannelsLast())
		if err := w.SetRequiresGrad(true); err != nil {
			b.Fatal(err)
		}
		for _, gemm := range []bool{false, true} {
			name := fmt.Sprintf("%dch_%dx%d/%s", c.ch, c.hw, c.hw, map[bool]string{false: "onednn", true: "gemm"}[gemm])
			b.Run(name, func(b *testing.B) {
				SetGEMMWeightGrad(gemm)
				for b.Loop() {
					st := NewScope()
					var loss *Tensor
					if err := BF16.Autocast(CPU, func() {
						y := st.Track(Conv2d(x, w, nil, Conv2dOpts{Padding: [2]int64{1, 1}}))
						loss = st.Track(st.Track(y.Mul(r)).Sum())
					}); err != nil {
						b.Fatal(err)
					}
					if err := loss.Backward(); err != nil {
						b.Fatal(err)
					}
					st.Close()
				}
			})
		}
		s.Close()
	}
}
