package torch

import (
	"math"
	"strings"
	"testing"
)

func vals(t *testing.T, x *Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func near(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

func TestOps(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := s.Track(FromFloat32([]float32{-2, -0.5, 0, 1, 3, 7}, 2, 3))
	y := s.Track(FromFloat32([]float32{1, 2, 3, 4, 5, 6}, 2, 3))
	cases := []struct {
		name string
		got  *Tensor
		want []float32
	}{
		{"relu", x.Relu(), []float32{0, 0, 0, 1, 3, 7}},
		{"relu6", x.Relu6(), []float32{0, 0, 0, 1, 3, 6}},
		{"hardswish", x.Hardswish(), []float32{-1.0 / 3, -0.5 * 2.5 / 6, 0, 4.0 / 6, 3, 7}},
		{"add", x.Add(y), []float32{-1, 1.5, 3, 5, 8, 13}},
		{"mul", x.Mul(y), []float32{-2, -1, 0, 4, 15, 42}},
		{"sub-broadcast", y.Sub(s.Track(FromFloat32([]float32{1, 2, 3}, 3))), []float32{0, 0, 0, 3, 3, 3}},
		{"mulscalar", y.MulScalar(0.5), []float32{0.5, 1, 1.5, 2, 2.5, 3}},
		{"sum", y.Sum(), []float32{21}},
		{"mean-dim", y.Mean(1), []float32{2, 5}},
		{"amax", y.Amax(0), []float32{4, 5, 6}},
		{"matmul", y.Matmul(y.Permute(1, 0)), []float32{14, 32, 32, 77}},
		{"linear", Linear(y, y, nil), []float32{14, 32, 32, 77}},
		{"softmax-sums", y.Softmax(1).Sum(1), []float32{1, 1}},
		{"flatten", y.Reshape(1, 2, 3).Flatten(1, 2), []float32{1, 2, 3, 4, 5, 6}},
		{"narrow", y.Narrow(1, 1, 2), []float32{2, 3, 5, 6}},
		{"cat", Cat([]*Tensor{x.Narrow(0, 0, 1), y.Narrow(0, 1, 1)}, 0), []float32{-2, -0.5, 0, 4, 5, 6}},
		{"pad", s.Track(FromFloat32([]float32{1, 2}, 1, 2)).Pad([]int64{1, 1}, 0), []float32{0, 1, 2, 0}},
		{"clamp", x.Clamp(-1, 2), []float32{-1, -0.5, 0, 1, 2, 2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.got.Err(); err != nil {
				t.Fatal(err)
			}
			if got := vals(t, c.got); !near(got, c.want, 1e-5) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestConvPool(t *testing.T) {
	s := NewScope()
	defer s.Close()
	// 1×1×4×4 ramp, 2×2 ones kernel stride 2: sums of each quadrant.
	in := make([]float32, 16)
	for i := range in {
		in[i] = float32(i)
	}
	x := s.Track(FromFloat32(in, 1, 1, 4, 4))
	w := s.Track(Ones(1, 1, 2, 2))
	got := vals(t, Conv2d(x, w, nil, Conv2dOpts{Stride: [2]int64{2, 2}}))
	if !near(got, []float32{10, 18, 42, 50}, 1e-5) {
		t.Errorf("conv2d = %v", got)
	}
	got = vals(t, MaxPool2d(x, PoolOpts{Kernel: [2]int64{2, 2}}))
	if !near(got, []float32{5, 7, 13, 15}, 1e-5) {
		t.Errorf("max_pool2d = %v", got)
	}
	got = vals(t, AdaptiveAvgPool2d(x, 1, 1))
	if !near(got, []float32{7.5}, 1e-5) {
		t.Errorf("adaptive_avg_pool2d = %v", got)
	}
	// Channels-last must not change values.
	got = vals(t, Conv2d(x.ChannelsLast(), w, nil, Conv2dOpts{Stride: [2]int64{2, 2}}))
	if !near(got, []float32{10, 18, 42, 50}, 1e-5) {
		t.Errorf("conv2d channels-last = %v", got)
	}
}

func TestBatchNormUpdatesRunningStats(t *testing.T) {
	s := NewScope()
	defer s.Close()
	x := s.Track(FromFloat32([]float32{1, 3, 5, 7}, 4, 1, 1, 1))
	mean := s.Track(Zeros(1))
	vr := s.Track(Ones(1))
	y := BatchNorm(x, nil, nil, mean, vr, true, 0.1, 1e-5)
	got := vals(t, y)
	if !near(got, []float32{-1.3416, -0.4472, 0.4472, 1.3416}, 1e-3) {
		t.Errorf("normalised = %v", got)
	}
	if m := vals(t, mean); !near(m, []float32{0.4}, 1e-5) {
		t.Errorf("running mean = %v, want 0.4", m)
	}
	// Unbiased variance 6.6667 blended with momentum 0.1: 0.9 + 0.6667.
	if v := vals(t, vr); !near(v, []float32{1.5667}, 1e-3) {
		t.Errorf("running var = %v", v)
	}
	eval := vals(t, BatchNorm(x, nil, nil, mean, vr, false, 0.1, 1e-5))
	if math.Abs(float64(eval[0])-(1-0.4)/math.Sqrt(1.5667+1e-5)) > 1e-3 {
		t.Errorf("eval mode = %v", eval)
	}
}

func TestAutograd(t *testing.T) {
	w := FromFloat32([]float32{1, 2, 3}, 3)
	defer w.Free()
	if err := w.SetRequiresGrad(true); err != nil {
		t.Fatal(err)
	}
	s := NewScope()
	loss := s.Track(w.Alias()).Square().Sum() // d/dw Σw² = 2w
	if err := loss.Backward(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	g, err := w.Grad()
	if err != nil || g == nil {
		t.Fatalf("grad = %v, %v", g, err)
	}
	defer g.Free()
	if got := vals(t, g); !near(got, []float32{2, 4, 6}, 1e-6) {
		t.Errorf("grad = %v", got)
	}
	if err := w.ZeroGrad(); err != nil {
		t.Fatal(err)
	}
	if g2, _ := w.Grad(); g2 != nil {
		t.Error("gradient survived ZeroGrad")
	}
	NoGrad(func() {
		y := w.MulScalar(2)
		defer y.Free()
		if y.RequiresGrad() {
			t.Error("NoGrad result requires grad")
		}
	})
	if !GradEnabled() {
		t.Error("NoGrad did not restore grad mode")
	}
}

func TestCrossEntropyLabelSmoothing(t *testing.T) {
	s := NewScope()
	defer s.Close()
	logits := s.Track(FromFloat32([]float32{0, 0}, 1, 2))
	target := s.Track(FromInt64([]int64{0}, 1))
	for _, ls := range []float64{0, 0.1} {
		got, err := CrossEntropy(logits, target, ls).Item()
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-math.Ln2) > 1e-6 {
			t.Errorf("smoothing %v: loss %v, want ln 2", ls, got)
		}
	}
}

func TestErrorsAreGoErrors(t *testing.T) {
	s := NewScope()
	defer s.Close()
	a := s.Track(Zeros(2, 3))
	b := s.Track(Zeros(4, 5))
	bad := a.Matmul(b)
	err := bad.Err()
	if err == nil {
		t.Fatal("matmul of 2x3 and 4x5 succeeded")
	}
	if !strings.Contains(err.Error(), "matmul") || strings.Contains(err.Error(), "Exception raised from") {
		t.Errorf("error %q should name the op and carry no C++ backtrace", err)
	}
	// Sticky: ops on a failed tensor return the same error without calling C.
	if err2 := bad.Relu().Sum().Err(); err2 != err {
		t.Errorf("sticky error changed: %v", err2)
	}
	if err := FromFloat32([]float32{1, 2, 3}, 2, 2).Err(); err == nil {
		t.Error("3 values accepted for a 2x2 shape")
	}
	freed := Zeros(1)
	freed.Free()
	if err := freed.Relu().Err(); err == nil {
		t.Error("op on freed tensor succeeded")
	}
}

func TestScopeOwnership(t *testing.T) {
	s := NewScope()
	x := s.Track(Ones(2, 2))
	y := x.Relu().Add(x)
	kept := s.Keep(y.MulScalar(2))
	if n := s.Len(); n != 3 {
		t.Errorf("scope owns %d tensors, want 3", n)
	}
	s.Close()
	if x.Defined() || y.Defined() {
		t.Error("scope Close left tensors alive")
	}
	if got := vals(t, kept); !near(got, []float32{4, 4, 4, 4}, 0) {
		t.Errorf("kept tensor = %v", got)
	}
	kept.Free()
}

func TestSeedRepeats(t *testing.T) {
	ManualSeed(7)
	a := Randn(5)
	ManualSeed(7)
	b := Randn(5)
	defer a.Free()
	defer b.Free()
	if !near(vals(t, a), vals(t, b), 0) {
		t.Error("same seed gave different numbers")
	}
}

func TestRuntime(t *testing.T) {
	if v := Version(); !strings.Contains(v, ".") {
		t.Errorf("version %q", v)
	}
	if err := SetNumThreads(2); err != nil {
		t.Fatal(err)
	}
	if NumThreads() != 2 {
		t.Errorf("threads = %d", NumThreads())
	}
	if _, err := ParseDevice("cuda:99"); err == nil {
		t.Error("cuda:99 accepted")
	}
	if d, err := ParseDevice("cpu"); err != nil || d != CPU {
		t.Errorf("cpu -> %v, %v", d, err)
	}
}
