package torch

import (
	"slices"
	"strings"
	"testing"
)

// TestPackedConv: a prepacked convolution on an input in oneDNN's layout
// gives ATen's dense convolution, for strides, padding, groups and with
// and without a bias; conversions keep shape and values; misuse is an
// error, not a crash.
func TestPackedConv(t *testing.T) {
	cases := []struct {
		name       string
		in, out    int64
		k          int64
		o          Conv2dOpts
		bias, nhwc bool
		dt         DType
		tol        float64
		bn         bool // fold an inference-mode BatchNorm into the packed copy
	}{
		{"3x3", 8, 16, 3, Conv2dOpts{Padding: [2]int64{1, 1}}, false, false, Float32, 1e-4, false},
		{"3x3/bias/nhwc", 8, 16, 3, Conv2dOpts{Padding: [2]int64{1, 1}}, true, true, Float32, 1e-4, false},
		{"1x1/stride2", 16, 32, 1, Conv2dOpts{Stride: [2]int64{2, 2}}, true, false, Float32, 1e-4, false},
		{"grouped", 8, 8, 3, Conv2dOpts{Padding: [2]int64{1, 1}, Groups: 4}, true, false, Float32, 1e-4, false},
		{"bf16", 8, 16, 3, Conv2dOpts{Padding: [2]int64{1, 1}}, true, false, BFloat16, 5e-2, false},
		{"3x3/bn", 8, 16, 3, Conv2dOpts{Padding: [2]int64{1, 1}}, false, true, Float32, 1e-4, true},
		{"1x1/bias/bn", 16, 8, 1, Conv2dOpts{}, true, false, Float32, 1e-4, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.dt == BFloat16 && !CPUHasBF16() {
				t.Skip("no AVX512-BF16 on this CPU")
			}
			s := NewScope()
			defer s.Close()
			ManualSeed(3)
			groups := max(c.o.Groups, 1)
			x := s.Track(Randn(2, c.in, 9, 9))
			w := s.Track(Randn(c.out, c.in/groups, c.k, c.k))
			var b *Tensor
			if c.bias {
				b = s.Track(Randn(c.out))
			}
			if c.nhwc {
				x = x.ChannelsLast()
			}
			ref := Conv2d(x, w, b, c.o)
			var fold *FoldBN
			if c.bn {
				fold = &FoldBN{Weight: s.Track(Randn(c.out)), Bias: s.Track(Randn(c.out)), Mean: s.Track(Randn(c.out)), Eps: 1e-5}
				fold.Var = s.Track(Rand(c.out)).AddScalar(0.5)
				ref = BatchNorm(ref, fold.Weight, fold.Bias, fold.Mean, fold.Var, false, 0.1, fold.Eps)
			}
			want := vals(t, ref)
			pw, pb, err := PackConv2d(w, b, fold, c.o, c.dt)
			if err != nil {
				t.Fatal(err)
			}
			s.Track(pw)
			if pb != nil {
				s.Track(pb)
			}
			if !pw.IsMKLDNN() || (pb != nil) != (c.bias || c.bn) {
				t.Fatalf("packed weight in oneDNN's layout %v, bias %v", pw.IsMKLDNN(), pb != nil)
			}
			xm := x.ToMKLDNN(c.dt)
			y := MKLDNNConv2d(xm, pw, pb, c.o)
			if !xm.IsMKLDNN() || !y.IsMKLDNN() || x.IsMKLDNN() {
				t.Fatalf("layouts: input %v, converted %v, output %v", x.IsMKLDNN(), xm.IsMKLDNN(), y.IsMKLDNN())
			}
			dense := y.ToDense()
			if dense.IsMKLDNN() || !slices.Equal(dense.Shape(), ref.Shape()) {
				t.Fatalf("dense output shape %v", dense.Shape())
			}
			got := vals(t, dense)
			if !near(got, want, c.tol*10) {
				t.Errorf("packed convolution differs from ATen's beyond %g", c.tol*10)
			}
			// Float32s reads a tensor in oneDNN's layout directly.
			if direct := vals(t, y); !near(direct, got, 0) {
				t.Error("values read from oneDNN's layout differ from its dense copy")
			}
		})
	}
}

func TestPackedConvMisuse(t *testing.T) {
	s := NewScope()
	defer s.Close()
	w := s.Track(Randn(4, 2, 3, 3))
	if _, _, err := PackConv2d(w, nil, nil, Conv2dOpts{}, Int64); err == nil || !strings.Contains(err.Error(), "float32 or bfloat16") {
		t.Errorf("packing as int64: err = %v", err)
	}
	pw, _, err := PackConv2d(w, nil, nil, Conv2dOpts{}, Float32)
	if err != nil {
		t.Fatal(err)
	}
	s.Track(pw)
	dense := s.Track(Randn(1, 2, 5, 5))
	if err := MKLDNNConv2d(dense, pw, nil, Conv2dOpts{}).Err(); err == nil || !strings.Contains(err.Error(), "oneDNN's layout") {
		t.Errorf("a dense input: err = %v", err)
	}
	if _, _, err := FoldConvBN(w, nil, FoldBN{Weight: s.Track(Ones(4)), Eps: 1e-5}); err == nil || !strings.Contains(err.Error(), "variance") {
		t.Errorf("folding a BatchNorm without statistics: err = %v", err)
	}
	short := FoldBN{Weight: s.Track(Ones(3)), Bias: s.Track(Zeros(3)), Mean: s.Track(Zeros(3)), Var: s.Track(Ones(3)), Eps: 1e-5}
	if _, _, err := FoldConvBN(w, nil, short); err == nil || !strings.Contains(err.Error(), "BatchNorm of 3 channels") {
		t.Errorf("folding a 3-channel BatchNorm into 4 outputs: err = %v", err)
	}
	if d := dense.ToDense(); d.IsMKLDNN() || !near(vals(t, d), vals(t, dense), 0) {
		t.Error("ToDense of a dense tensor changed it")
	}
}
