package data

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestAugmentValidate(t *testing.T) {
	tests := []struct {
		name string
		a    Augment
		want string
	}{
		{"zero", Augment{}, ""},
		{"default", DefaultAugment(), ""},
		{"crop scale above 1", Augment{CropScale: [2]float64{0.5, 1.2}}, "crop_scale"},
		{"crop scale reversed", Augment{CropScale: [2]float64{0.9, 0.5}}, "min <= max"},
		{"ratio without scale", Augment{CropRatio: [2]float64{1, 1}}, "crop_scale is not"},
		{"negative rotate", Augment{Rotate: -5}, "rotate -5"},
		{"hue too big", Augment{Hue: 0.7}, "hue 0.7"},
		{"flip prob", Augment{FlipProb: 1.5}, "flip_prob"},
		{"blur without sigma", Augment{BlurProb: 0.5}, "needs blur_sigma"},
		{"zero scale min", Augment{Scale: [2]float64{0, 1}}, "scale"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestAugmentJSON(t *testing.T) {
	if b, _ := json.Marshal(Augment{}); string(b) != "{}" {
		t.Errorf("zero value marshals to %s, want {}", b)
	}
	a := DefaultAugment()
	a.FlipProb = 0.5
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var back Augment
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != a {
		t.Errorf("round trip %+v, want %+v", back, a)
	}
	if !strings.Contains(string(b), `"crop_scale":[0.8,1]`) {
		t.Errorf("json %s", b)
	}
}

func TestAugmentOps(t *testing.T) {
	src := patterned(3, 12, 16)
	grey := patterned(1, 12, 16)
	tests := []struct {
		name  string
		a     Augment
		in    *Image
		check func(t *testing.T, in, out *Image)
	}{
		{"zero is identity", Augment{}, src, func(t *testing.T, in, out *Image) {
			if !reflect.DeepEqual(in, out) {
				t.Error("changed")
			}
		}},
		{"flip always", Augment{FlipProb: 1}, src, func(t *testing.T, in, out *Image) {
			if out.At(1, 3, 0) != in.At(1, 3, 15) || out.At(2, 11, 15) != in.At(2, 11, 0) {
				t.Error("not mirrored")
			}
		}},
		{"brightness", Augment{Brightness: 0.5}, constant(3, 0.5), changedUniformly},
		{"contrast", Augment{Contrast: 0.5}, src, changed},
		{"saturation", Augment{Saturation: 0.5}, src, changed},
		{"hue", Augment{Hue: 0.5}, src, changed},
		{"hue keeps grey", Augment{Hue: 0.5, Saturation: 0.9}, constant(3, 0.4), func(t *testing.T, in, out *Image) {
			for _, v := range out.Pix {
				if !near(v, 0.4, 1e-4) {
					t.Fatalf("grey pixel became %v", v)
				}
			}
		}},
		{"grey ignores colour ops", Augment{Saturation: 0.9, Hue: 0.5}, grey, func(t *testing.T, in, out *Image) {
			if !reflect.DeepEqual(in.Pix, out.Pix) {
				t.Error("changed")
			}
		}},
		{"rotate", Augment{Rotate: 30}, src, changed},
		{"translate", Augment{Translate: 0.2}, src, changed},
		{"scale", Augment{Scale: [2]float64{0.8, 1.2}}, src, changed},
		{"shear", Augment{Shear: 20}, src, changed},
		{"crop", Augment{CropScale: [2]float64{0.3, 0.6}}, src, changed},
		{"blur", Augment{BlurProb: 1, BlurSigma: [2]float64{1, 2}}, src, func(t *testing.T, in, out *Image) {
			changed(t, in, out)
			if variance(out) >= variance(in) {
				t.Error("blur did not smooth")
			}
		}},
		{"blur keeps constant", Augment{BlurProb: 1, BlurSigma: [2]float64{3, 3}}, constant(3, 0.7), func(t *testing.T, in, out *Image) {
			for _, v := range out.Pix {
				if !near(v, 0.7, 1e-5) {
					t.Fatalf("pixel %v", v)
				}
			}
		}},
		{"geometry keeps constant", Augment{Rotate: 45, Translate: 0.5, Scale: [2]float64{0.5, 2}, Shear: 30, CropScale: [2]float64{0.1, 0.2}}, constant(3, 0.7), func(t *testing.T, in, out *Image) {
			for _, v := range out.Pix {
				if !near(v, 0.7, 1e-5) {
					t.Fatalf("pixel %v", v)
				}
			}
		}},
		{"default", DefaultAugment(), src, func(t *testing.T, in, out *Image) {
			for _, v := range out.Pix {
				if v < 0 || v > 1 {
					t.Fatalf("pixel %v outside [0,1]", v)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in.Clone()
			out, err := tt.a.Apply(tt.in, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			if !sameShape(out, tt.in) {
				t.Fatalf("shape %dx%dx%d, want %dx%dx%d", out.C, out.H, out.W, tt.in.C, tt.in.H, tt.in.W)
			}
			if !reflect.DeepEqual(before, tt.in) {
				t.Fatal("input modified")
			}
			if tt.a.Enabled() == (tt.a == Augment{}) {
				t.Error("Enabled disagrees with the zero value")
			}
			again, _ := tt.a.Apply(tt.in, rand.New(rand.NewPCG(1, 2)))
			if !reflect.DeepEqual(out, again) {
				t.Error("same seed, different result")
			}
			tt.check(t, tt.in, out)
		})
	}
	if _, err := DefaultAugment().Apply(src, nil); err == nil {
		t.Error("nil rng: no error")
	}
}

func constant(c int, v float32) *Image {
	im := NewImage(c, 9, 11)
	for i := range im.Pix {
		im.Pix[i] = v
	}
	return im
}

func changed(t *testing.T, in, out *Image) {
	t.Helper()
	if reflect.DeepEqual(in.Pix, out.Pix) {
		t.Error("image unchanged")
	}
}

func changedUniformly(t *testing.T, in, out *Image) {
	t.Helper()
	changed(t, in, out)
	for _, v := range out.Pix {
		if v != out.Pix[0] {
			t.Fatal("brightness changed pixels unevenly")
		}
	}
}

func variance(im *Image) float64 {
	var s, s2 float64
	for _, v := range im.Pix {
		s += float64(v)
		s2 += float64(v) * float64(v)
	}
	n := float64(len(im.Pix))
	return s2/n - (s/n)*(s/n)
}

func TestMirror(t *testing.T) {
	got := []int{}
	for i := -4; i < 8; i++ {
		got = append(got, mirror(i, 3))
	}
	if want := []int{2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("mirror = %v, want %v", got, want)
	}
}

func BenchmarkAugment(b *testing.B) {
	for _, size := range []int{32, 224} {
		b.Run("default/size="+strconv.Itoa(size), func(b *testing.B) {
			im := patterned(3, size, size)
			a := DefaultAugment()
			a.BlurProb = 1
			rng := rand.New(rand.NewPCG(1, 1))
			var bufs augBuffers
			for b.Loop() {
				a.apply(im, rng, &bufs)
			}
		})
	}
}

func TestHueMatrixZeroIsIdentity(t *testing.T) {
	m := hueMatrix(0)
	for i, v := range m {
		want := float32(0)
		if i%4 == 0 {
			want = 1
		}
		if !near(v, want, 1e-6) {
			t.Fatalf("hueMatrix(0) = %v, want the identity", m)
		}
	}
}

func TestAugmentPreset(t *testing.T) {
	for _, name := range AugmentPresetNames() {
		a, err := AugmentPreset(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := a.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if a.Enabled() != (name != "none") {
			t.Errorf("%s: enabled %v", name, a.Enabled())
		}
	}
	// affine is torchvision's RandomAffine(15, translate=(0.1, 0.1),
	// scale=(0.9, 1.1)) + ColorJitter(0.3, 0.3, 0.3), nothing else.
	a, _ := AugmentPreset("affine")
	want := Augment{Rotate: 15, Translate: 0.1, Scale: [2]float64{0.9, 1.1}, Brightness: 0.3, Contrast: 0.3, Saturation: 0.3}
	if a != want {
		t.Errorf("affine = %+v, want %+v", a, want)
	}
	if d, _ := AugmentPreset("default"); d != DefaultAugment() {
		t.Errorf("default preset %+v differs from DefaultAugment %+v", d, DefaultAugment())
	}
	if _, err := AugmentPreset("strong"); err == nil || !strings.Contains(err.Error(), "none, default, affine") {
		t.Errorf("unknown preset: %v, want the names listed", err)
	}
}

func TestAugmentPresetEmptyIsNone(t *testing.T) {
	a, err := AugmentPreset("")
	if err != nil || a.Enabled() {
		t.Errorf(`AugmentPreset("") = %+v, %v; want none`, a, err)
	}
}
