package data

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestPreprocessValidate(t *testing.T) {
	tests := []struct {
		name string
		p    Preprocess
		want string // "" = valid
	}{
		{"zero", Preprocess{}, ""},
		{"full", Preprocess{Size: 224, Channels: 3, Resize: ResizeCrop, Norm: NormImageNet}, ""},
		{"explicit mean", Preprocess{Height: 32, Width: 48, Mean: []float32{0.5}, Std: []float32{0.25}}, ""},
		{"negative size", Preprocess{Size: -1}, "negative"},
		{"size and height", Preprocess{Size: 3, Height: 3, Width: 3}, "either size"},
		{"height only", Preprocess{Height: 3}, "set both"},
		{"channels 2", Preprocess{Channels: 2}, "want 1 (grey) or 3"},
		{"bad resize", Preprocess{Resize: "squash"}, `resize "squash"`},
		{"bad norm", Preprocess{Norm: "zscore"}, `norm "zscore"`},
		{"imagenet grey", Preprocess{Channels: 1, Norm: NormImageNet}, "needs 3 channels"},
		{"norm and mean", Preprocess{Norm: NormUnit, Mean: []float32{0}, Std: []float32{1}}, "one or the other"},
		{"mean std lengths", Preprocess{Mean: []float32{0, 0, 0}, Std: []float32{1}}, "3 mean values but 1 std"},
		{"mean per channel", Preprocess{Channels: 1, Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}, "for 1 channels"},
		{"zero std", Preprocess{Mean: []float32{0}, Std: []float32{0}}, "std[0]"},
		{"fill", Preprocess{Fill: 2}, "fill 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestPreprocessJSON(t *testing.T) {
	p := Preprocess{Size: 64, Channels: 3, Resize: ResizeLetterbox, Fill: 0.5, Mean: []float32{0.1, 0.2, 0.3}, Std: []float32{1, 2, 3}}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var back Preprocess
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, back) {
		t.Errorf("round trip %+v, want %+v", back, p)
	}
	if b, _ := json.Marshal(Preprocess{}); string(b) != "{}" {
		t.Errorf("zero value marshals to %s, want {}", b)
	}
}

func TestResizeFilter(t *testing.T) {
	// Halving with the widened triangle filter weights source pixels
	// 2k-1..2k+2 by 1/8, 3/8, 3/8, 1/8 (renormalised at the edges), as
	// Pillow does.
	row := []float32{0, 8, 16, 24, 32, 40, 48, 56}
	im := &Image{C: 1, H: 1, W: 8, Pix: row}
	out := Resize(im, 1, 4)
	want := []float32{
		(0*3 + 8*3 + 16*1) / 7.0,
		(8*1 + 16*3 + 24*3 + 32*1) / 8.0,
		(24*1 + 32*3 + 40*3 + 48*1) / 8.0,
		(40*1 + 48*3 + 56*3) / 7.0,
	}
	for i := range want {
		if !near(out.Pix[i], want[i], 1e-4) {
			t.Errorf("out %v, want %v", out.Pix, want)
			break
		}
	}
	// Doubling is plain bilinear interpolation between pixel centres.
	up := Resize(&Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}, 1, 4)
	if wantUp := []float32{0, 0.25, 0.75, 1}; !reflect.DeepEqual(up.Pix, wantUp) {
		t.Errorf("upscale %v, want %v", up.Pix, wantUp)
	}
}

func TestResizeProperties(t *testing.T) {
	sizes := [][4]int{{7, 5, 3, 2}, {10, 10, 31, 17}, {64, 48, 9, 13}, {3, 100, 30, 1}}
	for _, s := range sizes {
		src := NewImage(2, s[0], s[1])
		for i := range src.Pix {
			src.Pix[i] = 0.3
		}
		out := Resize(src, s[2], s[3])
		for i, v := range out.Pix {
			if !near(v, 0.3, 1e-5) {
				t.Fatalf("%v: constant image not preserved at %d: %v", s, i, v)
			}
		}
		// A stripe pattern shrunk 8× averages to grey instead of aliasing.
		stripes := NewImage(1, s[0]*8, s[1]*8)
		for y := 0; y < stripes.H; y++ {
			for x := 0; x < stripes.W; x++ {
				stripes.Set(0, y, x, float32(x%2))
			}
		}
		small := Resize(stripes, s[0], s[1])
		for i, v := range small.Pix {
			if i%s[1] != 0 && i%s[1] != s[1]-1 && !near(v, 0.5, 0.02) {
				t.Fatalf("%v: shrunk stripes = %v at %d, want about 0.5", s, v, i)
			}
		}
	}
}

func TestPreprocessFit(t *testing.T) {
	rgb := NewImage(3, 4, 8)
	for i := range rgb.Pix {
		rgb.Pix[i] = []float32{1, 0.5, 0}[i/32]
	}
	grey := patterned(1, 6, 3)
	tests := []struct {
		name    string
		p       Preprocess
		in      *Image
		c, h, w int
		check   func(t *testing.T, out *Image)
	}{
		{"identity", Preprocess{}, grey, 1, 6, 3, func(t *testing.T, out *Image) {
			if out != grey {
				t.Error("nothing to do should return the input")
			}
		}},
		{"stretch", Preprocess{Height: 2, Width: 2}, rgb, 3, 2, 2, nil},
		{"to grey uses luma", Preprocess{Channels: 1}, rgb, 1, 4, 8, func(t *testing.T, out *Image) {
			if want := float32(0.299 + 0.587*0.5); !near(out.Pix[0], want, 1e-6) {
				t.Errorf("grey %v, want %v", out.Pix[0], want)
			}
		}},
		{"to rgb replicates", Preprocess{Channels: 3, Size: 3}, grey, 3, 3, 3, func(t *testing.T, out *Image) {
			for i := 0; i < 9; i++ {
				if out.Pix[i] != out.Pix[9+i] || out.Pix[i] != out.Pix[18+i] {
					t.Fatal("channels differ")
				}
			}
		}},
		{"letterbox pads top and bottom", Preprocess{Size: 8, Resize: ResizeLetterbox, Fill: 0.25}, rgb, 3, 8, 8, func(t *testing.T, out *Image) {
			// 4×8 → 4×8 inside 8×8: rows 0-1 and 6-7 are fill.
			for _, y := range []int{0, 1, 6, 7} {
				if out.At(0, y, 3) != 0.25 {
					t.Errorf("row %d = %v, want fill", y, out.At(0, y, 3))
				}
			}
			if !near(out.At(0, 2, 0), 1, 1e-6) || !near(out.At(1, 5, 7), 0.5, 1e-6) {
				t.Error("image content not centred")
			}
		}},
		{"crop keeps the centre", Preprocess{Size: 4, Resize: ResizeCrop}, horizontalRamp(4, 8), 1, 4, 4, func(t *testing.T, out *Image) {
			// Short side already 4: the centre 4 columns (2..5) survive exactly.
			for x := 0; x < 4; x++ {
				if !near(out.At(0, 1, x), float32(x+2), 1e-5) {
					t.Errorf("col %d = %v, want %d", x, out.At(0, 1, x), x+2)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.Clone()
			out, err := tt.p.Fit(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if out.C != tt.c || out.H != tt.h || out.W != tt.w {
				t.Fatalf("shape %dx%dx%d, want %dx%dx%d", out.C, out.H, out.W, tt.c, tt.h, tt.w)
			}
			if c, h, w := tt.p.OutputShape(tt.in.C, tt.in.H, tt.in.W); c != out.C || h != out.H || w != out.W {
				t.Errorf("OutputShape %d,%d,%d disagrees with Fit", c, h, w)
			}
			if !reflect.DeepEqual(before, tt.in) {
				t.Error("input modified")
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
	if _, err := (Preprocess{Channels: 3}).Fit(NewImage(2, 1, 1)); err == nil {
		t.Error("2-channel image to 3: no error")
	}
}

func horizontalRamp(h, w int) *Image {
	im := NewImage(1, h, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			im.Set(0, y, x, float32(x))
		}
	}
	return im
}

func TestNormalize(t *testing.T) {
	px := func(r, g, b float32) *Image { return &Image{C: 3, H: 1, W: 1, Pix: []float32{r, g, b}} }
	tests := []struct {
		name string
		p    Preprocess
		in   *Image
		want []float32
		err  string
	}{
		{"unit", Preprocess{}, px(0.2, 0.4, 0.6), []float32{0.2, 0.4, 0.6}, ""},
		{"symmetric", Preprocess{Norm: NormSymmetric}, px(0, 0.5, 1), []float32{-1, 0, 1}, ""},
		{"imagenet", Preprocess{Norm: NormImageNet}, px(0.485, 0.456+0.224, 0.406-0.225), []float32{0, 1, -1}, ""},
		{"caffe is BGR 0-255", Preprocess{Norm: NormCaffe}, px(1, 0.5, 0), []float32{-103.939, 127.5 - 116.779, 255 - 123.68}, ""},
		{"explicit", Preprocess{Mean: []float32{0.5}, Std: []float32{0.25}}, &Image{C: 1, H: 1, W: 2, Pix: []float32{0, 1}}, []float32{-2, 2}, ""},
		{"imagenet on grey", Preprocess{Norm: NormImageNet}, &Image{C: 1, H: 1, W: 1, Pix: []float32{0}}, nil, "needs 3 channels"},
		{"mean count mismatch", Preprocess{Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}, &Image{C: 1, H: 1, W: 1, Pix: []float32{0}}, nil, "3 mean/std values for a 1-channel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in.Clone()
			out, err := tt.p.Apply(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, tt.in) {
				t.Error("Apply modified its input")
			}
			for i := range tt.want {
				if !near(out.Pix[i], tt.want[i], 1e-4) {
					t.Fatalf("got %v, want %v", out.Pix, tt.want)
				}
			}
			if err := tt.p.Denormalize(out); err != nil {
				t.Fatal(err)
			}
			for i := range in.Pix {
				if !near(out.Pix[i], in.Pix[i], 1e-5) {
					t.Fatalf("denormalised %v, want %v", out.Pix, in.Pix)
				}
			}
		})
	}
}

func BenchmarkPreprocess(b *testing.B) {
	cases := []struct {
		name string
		h, w int
		p    Preprocess
	}{
		{"gtsrb=50x50/to=32", 50, 50, Preprocess{Size: 32}},
		{"photo=375x500/to=224/crop", 375, 500, Preprocess{Size: 224, Resize: ResizeCrop, Norm: NormImageNet}},
		{"mnist=28/to=224/rgb", 28, 28, Preprocess{Size: 224, Channels: 3, Norm: NormImageNet}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			im := patterned(3, c.h, c.w)
			if strings.Contains(c.name, "mnist") {
				im = patterned(1, c.h, c.w)
			}
			for b.Loop() {
				if _, err := c.p.Apply(im); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
