package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Augment describes random training-time distortions. It is plain data so a
// run's settings can be recorded and replayed; the zero value does nothing.
// Every operation keeps the image's size, works on [0,1] pixels (before
// normalisation) and draws its randomness from the *rand.Rand it is given,
// so a seeded generator reproduces an image exactly.
//
// Operations run in a fixed order: random resized crop, affine (rotation,
// translation, scale, shear), horizontal flip, colour jitter (brightness,
// contrast, saturation, hue), Gaussian blur. Geometric operations sample
// bilinearly and mirror the image at its borders, which looks more natural
// than a constant fill for signs photographed against scenery.
type Augment struct {
	// CropScale is the range of the crop's area as a fraction of the image,
	// e.g. [0.8, 1]; the crop is resized back to the image size. Zero
	// disables the random resized crop.
	CropScale [2]float64 `json:"crop_scale,omitzero"`
	// CropRatio is the range of the crop's aspect ratio (width/height),
	// sampled log-uniformly; zero means [3/4, 4/3].
	CropRatio [2]float64 `json:"crop_ratio,omitzero"`
	// Rotate is the largest rotation in degrees, either way.
	Rotate float64 `json:"rotate,omitempty"`
	// Translate is the largest shift as a fraction of width and height.
	Translate float64 `json:"translate,omitempty"`
	// Scale is the range of the zoom factor, e.g. [0.9, 1.1]; zero means 1.
	Scale [2]float64 `json:"scale,omitzero"`
	// Shear is the largest horizontal shear in degrees, either way.
	Shear float64 `json:"shear,omitempty"`
	// Brightness, Contrast and Saturation draw a factor from
	// [max(0, 1-v), 1+v], as torchvision's ColorJitter does.
	Brightness float64 `json:"brightness,omitempty"`
	Contrast   float64 `json:"contrast,omitempty"`
	Saturation float64 `json:"saturation,omitempty"`
	// Hue shifts hue by up to this fraction of the colour wheel (≤ 0.5),
	// approximated by rotating chroma in YIQ space: a 3×3 matrix per image
	// instead of an HSV round trip per pixel.
	Hue float64 `json:"hue,omitempty"`
	// BlurProb is the probability of a Gaussian blur with a standard
	// deviation (in pixels) drawn from BlurSigma.
	BlurProb  float64    `json:"blur_prob,omitempty"`
	BlurSigma [2]float64 `json:"blur_sigma,omitzero"`
	// FlipProb is the probability of a horizontal flip. It defaults to 0
	// because many classes are not mirror-symmetric: a flipped "keep left"
	// sign is a "keep right" sign.
	FlipProb float64 `json:"flip_prob,omitempty"`
}

// DefaultAugment is a mild general-purpose setting, not tuned to any data
// set: small crops and rotations, gentle colour changes, occasional blur, no
// flips.
func DefaultAugment() Augment {
	return Augment{
		CropScale:  [2]float64{0.8, 1},
		CropRatio:  [2]float64{3.0 / 4, 4.0 / 3},
		Rotate:     10,
		Brightness: 0.2,
		Contrast:   0.2,
		Saturation: 0.2,
		Hue:        0.02,
		BlurProb:   0.1,
		BlurSigma:  [2]float64{0.1, 1},
	}
}

// AffineAugment is the recipe common in torchvision tutorials for small
// classification sets such as traffic signs: RandomAffine(degrees=15,
// translate=(0.1, 0.1), scale=(0.9, 1.1)) then ColorJitter(brightness=0.3,
// contrast=0.3, saturation=0.3). No crop, no blur, no flips.
func AffineAugment() Augment {
	return Augment{
		Rotate:     15,
		Translate:  0.1,
		Scale:      [2]float64{0.9, 1.1},
		Brightness: 0.3,
		Contrast:   0.3,
		Saturation: 0.3,
	}
}

// augmentPresets are the named settings, in the order help lists them.
var augmentPresets = []struct {
	name string
	make func() Augment
}{
	{"none", func() Augment { return Augment{} }},
	{"default", DefaultAugment},
	{"affine", AffineAugment},
}

// AugmentPresetNames lists the names AugmentPreset accepts.
func AugmentPresetNames() []string {
	names := make([]string, len(augmentPresets))
	for i, p := range augmentPresets {
		names[i] = p.name
	}
	return names
}

// AugmentPreset returns a named setting: none (or ""), default or affine.
func AugmentPreset(name string) (Augment, error) {
	if name == "" {
		name = "none"
	}
	for _, p := range augmentPresets {
		if p.name == name {
			return p.make(), nil
		}
	}
	return Augment{}, fmt.Errorf("augment preset %q: choose %s", name, strings.Join(AugmentPresetNames(), ", "))
}

// Enabled reports whether any operation is switched on.
func (a Augment) Enabled() bool { return a != Augment{} }

func (a Augment) affineOn() bool {
	return a.Rotate != 0 || a.Translate != 0 || a.Scale != [2]float64{} || a.Shear != 0
}

func (a Augment) colourOn() bool {
	return a.Brightness != 0 || a.Contrast != 0 || a.Saturation != 0 || a.Hue != 0
}

// Validate checks ranges, naming the field and what is allowed.
func (a Augment) Validate() error {
	rng := func(name string, r [2]float64, hi float64) error {
		if r == [2]float64{} {
			return nil
		}
		if !(r[0] > 0 && r[0] <= r[1] && r[1] <= hi) {
			return fmt.Errorf("augment: %s %v; want 0 < min <= max <= %g", name, r, hi)
		}
		return nil
	}
	within := func(name string, v, hi float64) error {
		if !(v >= 0 && v <= hi) {
			return fmt.Errorf("augment: %s %g outside [0, %g]", name, v, hi)
		}
		return nil
	}
	inf := math.Inf(1)
	for _, err := range []error{
		rng("crop_scale", a.CropScale, 1),
		rng("crop_ratio", a.CropRatio, inf),
		rng("scale", a.Scale, inf),
		rng("blur_sigma", a.BlurSigma, inf),
		within("rotate", a.Rotate, 180),
		within("translate", a.Translate, 1),
		within("shear", a.Shear, 60),
		within("brightness", a.Brightness, inf),
		within("contrast", a.Contrast, inf),
		within("saturation", a.Saturation, inf),
		within("hue", a.Hue, 0.5),
		within("blur_prob", a.BlurProb, 1),
		within("flip_prob", a.FlipProb, 1),
	} {
		if err != nil {
			return err
		}
	}
	if a.CropRatio != [2]float64{} && a.CropScale == [2]float64{} {
		return fmt.Errorf("augment: crop_ratio is set but crop_scale is not; set crop_scale, e.g. [0.8, 1], to enable the random crop")
	}
	if a.BlurProb > 0 && a.BlurSigma == [2]float64{} {
		return fmt.Errorf("augment: blur_prob %g needs blur_sigma, e.g. [0.1, 1]", a.BlurProb)
	}
	return nil
}

// Apply returns a randomly distorted copy of im; im is not modified.
func (a Augment) Apply(im *Image, rng *rand.Rand) (*Image, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	if rng == nil {
		return nil, fmt.Errorf("augment: nil random generator; pass rand.New(rand.NewPCG(seed, stream))")
	}
	var bufs augBuffers
	out := a.apply(im, rng, &bufs)
	if out == im {
		out = im.Clone()
	}
	return out, nil
}

// augBuffers ping-pongs two scratch images so a loader worker augments
// without allocating per operation.
type augBuffers struct{ a, b *Image }

// other returns a c×h×w scratch image distinct from cur.
func (s *augBuffers) other(cur *Image, c, h, w int) *Image {
	if s.a == nil {
		s.a = &Image{}
	}
	if s.b == nil {
		s.b = &Image{}
	}
	if cur != s.a {
		return reshape(s.a, c, h, w)
	}
	return reshape(s.b, c, h, w)
}

func (s *augBuffers) owns(im *Image) bool { return im == s.a || im == s.b }

// apply runs the enabled operations; the result is src itself, or one of
// bufs' images. src is never written.
func (a Augment) apply(src *Image, rng *rand.Rand, bufs *augBuffers) *Image {
	cur := src
	c, h, w := src.C, src.H, src.W
	if a.CropScale != [2]float64{} {
		x0, y0, cw, ch := a.sampleCrop(rng, w, h)
		dst := bufs.other(cur, c, h, w)
		resample(dst, cur, float64(x0), float64(y0), float64(x0+cw), float64(y0+ch))
		cur = dst
	}
	if a.affineOn() {
		dst := bufs.other(cur, c, h, w)
		warpAffine(dst, cur, a.sampleAffine(rng, w, h))
		cur = dst
	}
	if a.FlipProb > 0 && rng.Float64() < a.FlipProb {
		dst := bufs.other(cur, c, h, w)
		flipH(dst, cur)
		cur = dst
	}
	if a.colourOn() {
		if !bufs.owns(cur) {
			dst := bufs.other(cur, c, h, w)
			copy(dst.Pix, cur.Pix)
			cur = dst
		}
		a.jitter(cur, rng)
	}
	if a.BlurProb > 0 && rng.Float64() < a.BlurProb {
		sigma := uniform(rng, a.BlurSigma[0], a.BlurSigma[1])
		k := gaussKernel(sigma)
		t := bufs.other(cur, c, h, w)
		blurH(t, cur, k)
		dst := bufs.other(t, c, h, w)
		blurV(dst, t, k)
		cur = dst
	}
	return cur
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// sampleCrop follows torchvision's RandomResizedCrop.get_params: ten tries
// at a box of random area and aspect, then a centre crop with the aspect
// clamped into range.
func (a Augment) sampleCrop(rng *rand.Rand, w, h int) (x0, y0, cw, ch int) {
	ratio := a.CropRatio
	if ratio == [2]float64{} {
		ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	area := float64(w * h)
	for range 10 {
		target := area * uniform(rng, a.CropScale[0], a.CropScale[1])
		aspect := math.Exp(uniform(rng, math.Log(ratio[0]), math.Log(ratio[1])))
		cw = int(math.Round(math.Sqrt(target * aspect)))
		ch = int(math.Round(math.Sqrt(target / aspect)))
		if cw > 0 && cw <= w && ch > 0 && ch <= h {
			return rng.IntN(w - cw + 1), rng.IntN(h - ch + 1), cw, ch
		}
	}
	in := float64(w) / float64(h)
	cw, ch = w, h
	switch {
	case in < ratio[0]:
		ch = max(int(math.Round(float64(w)/ratio[0])), 1)
	case in > ratio[1]:
		cw = max(int(math.Round(float64(h)*ratio[1])), 1)
	}
	return (w - cw) / 2, (h - ch) / 2, cw, ch
}

// affine maps output pixel centres to source coordinates:
// src = m·(dst - centre - shift) + centre.
type affine struct {
	m      [4]float64 // row-major 2×2 inverse of the forward transform
	cx, cy float64
	tx, ty float64
}

func (a Augment) sampleAffine(rng *rand.Rand, w, h int) affine {
	deg := func(v float64) float64 { return uniform(rng, -v, v) * math.Pi / 180 }
	theta := deg(a.Rotate)
	tx := uniform(rng, -a.Translate, a.Translate) * float64(w)
	ty := uniform(rng, -a.Translate, a.Translate) * float64(h)
	s := 1.0
	if a.Scale != [2]float64{} {
		s = uniform(rng, a.Scale[0], a.Scale[1])
	}
	shear := deg(a.Shear)
	// Forward: s·R(θ)·[[1, tan φ], [0, 1]].
	cos, sin, tan := math.Cos(theta), math.Sin(theta), math.Tan(shear)
	f := [4]float64{s * cos, s * (cos*tan - sin), s * sin, s * (sin*tan + cos)}
	det := f[0]*f[3] - f[1]*f[2]
	return affine{
		m:  [4]float64{f[3] / det, -f[1] / det, -f[2] / det, f[0] / det},
		cx: float64(w) / 2, cy: float64(h) / 2,
		tx: tx, ty: ty,
	}
}
