package data

import (
	"fmt"
	"math"
)

// Resize modes for Preprocess.Resize.
const (
	ResizeStretch   = "stretch"   // scale each axis independently
	ResizeLetterbox = "letterbox" // keep aspect, pad with Fill
	ResizeCrop      = "crop"      // keep aspect, scale the short side, centre-crop
)

// Normalisation presets for Preprocess.Norm.
const (
	NormUnit      = "unit"      // [0,1], unchanged
	NormSymmetric = "symmetric" // [-1,1]
	NormImageNet  = "imagenet"  // (x-mean)/std with the ImageNet statistics
	NormCaffe     = "caffe"     // BGR, 0–255 minus the ImageNet mean in BGR
)

var (
	imagenetMean = []float32{0.485, 0.456, 0.406}
	imagenetStd  = []float32{0.229, 0.224, 0.225}
	caffeMeanBGR = []float32{103.939, 116.779, 123.68}
)

// Preprocess turns a decoded image into what a model expects: its size, its
// channel count and its input normalisation. It is plain data so it can be
// stored in a checkpoint and applied identically at prediction time. The
// zero value keeps the image as it is. Resizing is antialiased bilinear, as
// in Pillow and torchvision; resize.go explains the choice.
type Preprocess struct {
	// Size is the side of a square output; alternatively set both Height and
	// Width. Zero keeps the native size.
	Size   int `json:"size,omitempty"`
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
	// Channels is 1 or 3; zero keeps the native count. Grey to RGB
	// replicates the channel, RGB to grey uses the Rec. 601 luma weights
	// (as Pillow's "L" mode does).
	Channels int `json:"channels,omitempty"`
	// Resize is "stretch" (default), "letterbox" or "crop".
	Resize string `json:"resize,omitempty"`
	// Fill is the padding value for letterbox, in [0,1] before normalising.
	Fill float32 `json:"fill,omitempty"`
	// Norm is "unit" (default), "symmetric", "imagenet" or "caffe".
	Norm string `json:"norm,omitempty"`
	// Mean and Std, if set, normalise (x-mean)/std per channel (one value
	// for all channels, or one per channel) on [0,1] pixels, instead of a
	// Norm preset.
	Mean []float32 `json:"mean,omitempty"`
	Std  []float32 `json:"std,omitempty"`
}

// Validate checks the fields, saying which one is wrong and what is allowed.
func (p Preprocess) Validate() error {
	switch {
	case p.Size < 0 || p.Height < 0 || p.Width < 0:
		return fmt.Errorf("preprocess: size %d, height %d, width %d: sizes cannot be negative", p.Size, p.Height, p.Width)
	case p.Size > 0 && (p.Height > 0 || p.Width > 0):
		return fmt.Errorf("preprocess: size %d and height/width %d/%d both set; set either size or both height and width", p.Size, p.Height, p.Width)
	case (p.Height > 0) != (p.Width > 0):
		return fmt.Errorf("preprocess: height %d, width %d: set both, or size for a square", p.Height, p.Width)
	case p.Channels != 0 && p.Channels != 1 && p.Channels != 3:
		return fmt.Errorf("preprocess: channels %d; want 1 (grey) or 3 (RGB), or 0 to keep the image's", p.Channels)
	case p.Fill < 0 || p.Fill > 1:
		return fmt.Errorf("preprocess: fill %g outside [0,1]; it is a pixel value before normalisation", p.Fill)
	}
	switch p.Resize {
	case "", ResizeStretch, ResizeLetterbox, ResizeCrop:
	default:
		return fmt.Errorf("preprocess: resize %q; want stretch, letterbox or crop", p.Resize)
	}
	switch p.Norm {
	case "", NormUnit, NormSymmetric:
	case NormImageNet, NormCaffe:
		if p.Channels == 1 {
			return fmt.Errorf("preprocess: norm %q needs 3 channels but channels is 1; set channels 3 or another norm", p.Norm)
		}
	default:
		return fmt.Errorf("preprocess: norm %q; want unit, symmetric, imagenet or caffe", p.Norm)
	}
	if len(p.Mean) > 0 || len(p.Std) > 0 {
		if p.Norm != "" {
			return fmt.Errorf("preprocess: norm %q and mean/std both set; set one or the other", p.Norm)
		}
		if len(p.Mean) != len(p.Std) {
			return fmt.Errorf("preprocess: %d mean values but %d std values; give one of each per channel", len(p.Mean), len(p.Std))
		}
		if n := len(p.Mean); n != 1 && n != 3 && n != p.Channels {
			return fmt.Errorf("preprocess: %d mean/std values; want 1, or one per channel", n)
		}
		if p.Channels != 0 && len(p.Mean) != 1 && len(p.Mean) != p.Channels {
			return fmt.Errorf("preprocess: %d mean/std values for %d channels; give 1 or %d", len(p.Mean), p.Channels, p.Channels)
		}
		for i, s := range p.Std {
			if !(s > 0) {
				return fmt.Errorf("preprocess: std[%d] is %g; it must be positive", i, s)
			}
		}
	}
	return nil
}

// OutputShape is the shape Apply produces for a c×h×w input.
func (p Preprocess) OutputShape(c, h, w int) (int, int, int) {
	if p.Channels != 0 {
		c = p.Channels
	}
	switch {
	case p.Size > 0:
		h, w = p.Size, p.Size
	case p.Height > 0:
		h, w = p.Height, p.Width
	}
	return c, h, w
}

// Apply fits im to the configured size and channels and normalises it. im is
// not modified.
func (p Preprocess) Apply(im *Image) (*Image, error) {
	out, err := p.Fit(im)
	if err != nil {
		return nil, err
	}
	if out == im {
		out = im.Clone()
	}
	if err := p.Normalize(out); err != nil {
		return nil, err
	}
	return out, nil
}

// Fit resizes and converts channels but leaves pixels in [0,1]; the loader
// caches this stage, then augments and normalises. It returns im itself when
// there is nothing to do.
func (p Preprocess) Fit(im *Image) (*Image, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if p.Channels != 0 && p.Channels != im.C && im.C != 1 && im.C != 3 {
		return nil, fmt.Errorf("preprocess: image has %d channels; only 1 and 3 can be converted to %d", im.C, p.Channels)
	}
	// Reduce channels before resizing and expand after, so the resize
	// touches as few planes as possible.
	if p.Channels == 1 && im.C == 3 {
		im = toGrey(im)
	}
	_, h, w := p.OutputShape(im.C, im.H, im.W)
	if h != im.H || w != im.W {
		im = p.resize(im, h, w)
	}
	if p.Channels == 3 && im.C == 1 {
		im = toRGB(im)
	}
	return im, nil
}

func (p Preprocess) resize(im *Image, h, w int) *Image {
	out := NewImage(im.C, h, w)
	sw, sh := float64(im.W), float64(im.H)
	switch p.Resize {
	case ResizeLetterbox:
		s := math.Min(float64(w)/sw, float64(h)/sh)
		nw := min(max(int(math.Round(sw*s)), 1), w)
		nh := min(max(int(math.Round(sh*s)), 1), h)
		for i := range out.Pix {
			out.Pix[i] = p.Fill
		}
		inner := NewImage(im.C, nh, nw)
		resample(inner, im, 0, 0, sw, sh)
		ox, oy := (w-nw)/2, (h-nh)/2
		for c := 0; c < im.C; c++ {
			for y := 0; y < nh; y++ {
				copy(out.Pix[(c*h+oy+y)*w+ox:], inner.Pix[(c*nh+y)*nw:(c*nh+y+1)*nw])
			}
		}
	case ResizeCrop:
		// Cropping the source box and resizing in one pass is the same as
		// resizing the short side then centre-cropping, without the
		// intermediate image.
		s := math.Max(float64(w)/sw, float64(h)/sh)
		bw, bh := float64(w)/s, float64(h)/s
		x0, y0 := (sw-bw)/2, (sh-bh)/2
		resample(out, im, x0, y0, x0+bw, y0+bh)
	default:
		resample(out, im, 0, 0, sw, sh)
	}
	return out
}

func toGrey(im *Image) *Image {
	hw := im.H * im.W
	out := NewImage(1, im.H, im.W)
	r, g, b := im.Pix[:hw], im.Pix[hw:2*hw], im.Pix[2*hw:3*hw]
	for i := range out.Pix {
		out.Pix[i] = 0.299*r[i] + 0.587*g[i] + 0.114*b[i]
	}
	return out
}

func toRGB(im *Image) *Image {
	hw := im.H * im.W
	out := NewImage(3, im.H, im.W)
	for c := 0; c < 3; c++ {
		copy(out.Pix[c*hw:], im.Pix[:hw])
	}
	return out
}

// normPlan is normalisation as a per-output-channel affine map of an input
// channel: out[c] = in[src[c]]*scale[c] + bias[c]. The presets, explicit
// mean/std and caffe's channel swap all reduce to it.
type normPlan struct {
	src         []int
	scale, bias []float32
	identity    bool
}

func (p Preprocess) plan(c int) (normPlan, error) {
	pl := normPlan{src: make([]int, c), scale: make([]float32, c), bias: make([]float32, c)}
	for i := range pl.src {
		pl.src[i], pl.scale[i] = i, 1
	}
	set := func(mean, std []float32) {
		for i := 0; i < c; i++ {
			m, s := mean[0], std[0]
			if len(mean) > 1 {
				m, s = mean[i], std[i]
			}
			pl.scale[i], pl.bias[i] = 1/s, -m/s
		}
	}
	switch {
	case len(p.Mean) > 0:
		if len(p.Mean) != 1 && len(p.Mean) != c {
			return pl, fmt.Errorf("preprocess: %d mean/std values for a %d-channel image; set channels %d or give 1 value", len(p.Mean), c, len(p.Mean))
		}
		set(p.Mean, p.Std)
	case p.Norm == NormSymmetric:
		set([]float32{0.5}, []float32{0.5})
	case p.Norm == NormImageNet || p.Norm == NormCaffe:
		if c != 3 {
			return pl, fmt.Errorf("preprocess: norm %q needs 3 channels, the image has %d; set channels 3", p.Norm, c)
		}
		if p.Norm == NormImageNet {
			set(imagenetMean, imagenetStd)
			break
		}
		for i := range pl.src {
			pl.src[i], pl.scale[i], pl.bias[i] = 2-i, 255, -caffeMeanBGR[i]
		}
	default:
		pl.identity = true
	}
	return pl, nil
}

// Normalize maps im's [0,1] pixels in place to the model's input range.
func (p Preprocess) Normalize(im *Image) error {
	pl, err := p.plan(im.C)
	if err != nil {
		return err
	}
	if pl.identity {
		return nil
	}
	if pl.src[0] != 0 { // a channel permutation cannot be done in place
		src := im.Clone()
		pl.apply(im.Pix, src)
		return nil
	}
	pl.apply(im.Pix, im)
	return nil
}

// apply writes the normalised im into dst (len C*H*W); dst may be im.Pix
// when the plan does not permute channels.
func (pl normPlan) apply(dst []float32, im *Image) {
	hw := im.H * im.W
	for c := range pl.src {
		in := im.Pix[pl.src[c]*hw : (pl.src[c]+1)*hw]
		out := dst[c*hw : (c+1)*hw]
		if pl.identity {
			copy(out, in)
			continue
		}
		s, b := pl.scale[c], pl.bias[c]
		for i, v := range in {
			out[i] = v*s + b
		}
	}
}

// Denormalize undoes Normalize in place, for previews of model inputs.
func (p Preprocess) Denormalize(im *Image) error {
	pl, err := p.plan(im.C)
	if err != nil || pl.identity {
		return err
	}
	hw := im.H * im.W
	src := im.Clone()
	for c := range pl.src {
		in := src.Pix[c*hw : (c+1)*hw]
		out := im.Pix[pl.src[c]*hw : (pl.src[c]+1)*hw]
		s, b := pl.scale[c], pl.bias[c]
		for i, v := range in {
			out[i] = (v - b) / s
		}
	}
	return nil
}
