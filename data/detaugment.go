package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// DetectionAugment is SSD's training-time augmentation (Liu et al. 2016,
// section 2.2, and torchvision's references/detection transforms that
// reproduce it), moving boxes with the pixels. Like Augment it is plain data
// and the zero value does nothing; SSDAugment is the paper's setting.
//
// Operations run in the paper's order: photometric distortion, zoom out
// (the image placed on a larger canvas of Fill colour), the IoU-constrained
// random crop, the resize to the network's input (Preprocess), horizontal
// flip. Zoom out, crop and resize are all axis-aligned scalings and shifts,
// so they are composed into one rectangle of the source image (reaching
// past it into the canvas) that is resampled once, straight to the input
// size: the up-to-4× canvas is never drawn, which is what keeps augmenting
// a 320×240 street scene at 300×300 to a millisecond or two.
//
// Boxes are clipped to the output; a box narrower or shorter than
// MinBoxSize input pixels after clipping is dropped with its class, and an
// image may end with no boxes.
type DetectionAugment struct {
	// Photometric is the probability of each photometric step (SSD: 0.5);
	// zero switches them all off. The steps are torchvision's
	// RandomPhotometricDistort, itself the paper's reference code:
	// brightness, then contrast either first or last (a coin toss per
	// image), saturation and hue in between, then the channel swap.
	Photometric float64 `json:"photometric,omitempty"`
	// Brightness, Contrast and Saturation are factor ranges, e.g. [0.5,
	// 1.5]: 1 leaves the image alone. Zero switches that step off.
	Brightness [2]float64 `json:"brightness,omitzero"`
	Contrast   [2]float64 `json:"contrast,omitzero"`
	Saturation [2]float64 `json:"saturation,omitzero"`
	// Hue is the largest hue shift as a fraction of the colour wheel (SSD:
	// 0.05, i.e. 18°), applied as Augment's Hue is (a chroma rotation).
	Hue float64 `json:"hue,omitempty"`
	// ChannelSwap is the probability of permuting the colour channels.
	// torchvision does it with Photometric's probability; here it is off
	// unless asked for, because colour names the class of a sign: a red
	// prohibition sign with its channels swapped is a blue mandatory one.
	ChannelSwap float64 `json:"channel_swap,omitempty"`

	// ZoomOut is the probability of placing the image at a random place on
	// a canvas ZoomOutMax times its size at most (SSD: 0.5 and 4), which
	// makes small objects out of large ones.
	ZoomOut    float64 `json:"zoom_out,omitempty"`
	ZoomOutMax float64 `json:"zoom_out_max,omitempty"` // zero means 4
	// Fill is the canvas colour in [0,1], one value or one per channel.
	// Nil means the mean that Preprocess's normalisation subtracts (the
	// ImageNet mean for "unit"), as the paper fills with the mean pixel: the
	// canvas then reaches the network as zeros.
	Fill []float32 `json:"fill,omitempty"`

	// Crop switches on SSD's random crop: a patch whose sides are
	// CropScale of the image's and whose aspect (width/height) is in
	// CropAspect, kept when some object's IoU with it reaches a minimum
	// drawn from CropIoU; objects whose centre falls outside the patch are
	// dropped, the rest clipped to it. An image without boxes is not
	// cropped (no patch can satisfy the constraint).
	Crop bool `json:"crop,omitempty"`
	// CropIoU lists the minimum IoUs drawn from, uniformly; 1 (or more)
	// means "keep the whole image", 0 "any patch with an object's centre".
	// Nil means {0, 0.1, 0.3, 0.5, 0.7, 0.9, 1}, the paper's choices.
	CropIoU []float64 `json:"crop_iou,omitempty"`
	// CropScale bounds each side of the patch as a fraction of the image's
	// (zero means [0.3, 1]); CropAspect bounds its width/height (zero
	// means [0.5, 2]).
	CropScale  [2]float64 `json:"crop_scale,omitzero"`
	CropAspect [2]float64 `json:"crop_aspect,omitzero"`
	// CropTrials is how many patches are tried per drawn minimum before
	// another minimum is drawn (zero means 40, as torchvision).
	CropTrials int `json:"crop_trials,omitempty"`

	// FlipProb is the probability of a horizontal flip. It defaults to 0
	// because signs have handedness: a flipped left-turn sign is a
	// right-turn sign. Set it for mirror-symmetric classes.
	FlipProb float64 `json:"flip_prob,omitempty"`

	// MinBoxSize drops boxes narrower or shorter than this many output
	// pixels after clipping (SSD: 1). Zero drops only boxes that clipping
	// left empty.
	MinBoxSize float64 `json:"min_box_size,omitempty"`
}

// SSDAugment is the SSD paper's augmentation with torchvision's ranges and
// without its flips and channel swaps (see FlipProb and ChannelSwap).
func SSDAugment() DetectionAugment {
	return DetectionAugment{
		Photometric: 0.5,
		Brightness:  [2]float64{0.875, 1.125},
		Contrast:    [2]float64{0.5, 1.5},
		Saturation:  [2]float64{0.5, 1.5},
		Hue:         0.05,
		ZoomOut:     0.5,
		ZoomOutMax:  4,
		Crop:        true,
		CropIoU:     slices.Clone(defaultCropIoU),
		CropScale:   defaultCropScale,
		CropAspect:  defaultCropAspect,
		CropTrials:  defaultCropTrials,
		MinBoxSize:  1,
	}
}

var (
	defaultCropIoU    = []float64{0, 0.1, 0.3, 0.5, 0.7, 0.9, 1}
	defaultCropScale  = [2]float64{0.3, 1}
	defaultCropAspect = [2]float64{0.5, 2}
)

const (
	defaultCropTrials = 40
	defaultZoomOutMax = 4
	// cropRounds bounds the draws of a minimum IoU. torchvision loops
	// until a patch is found or "keep the whole image" is drawn, which
	// never ends when CropIoU lacks 1 and no patch can qualify; after this
	// many rounds the image is kept whole instead.
	cropRounds = 50
)

var detectionAugmentPresets = []struct {
	name string
	make func() DetectionAugment
}{
	{"none", func() DetectionAugment { return DetectionAugment{} }},
	{"ssd", SSDAugment},
}

// DetectionAugmentPresetNames lists the names DetectionAugmentPreset accepts.
func DetectionAugmentPresetNames() []string {
	names := make([]string, len(detectionAugmentPresets))
	for i, p := range detectionAugmentPresets {
		names[i] = p.name
	}
	return names
}

// DetectionAugmentPreset returns a named setting: none or ssd.
func DetectionAugmentPreset(name string) (DetectionAugment, error) {
	for _, p := range detectionAugmentPresets {
		if p.name == name {
			return p.make(), nil
		}
	}
	return DetectionAugment{}, fmt.Errorf("detection augment preset %q: choose %s", name, strings.Join(DetectionAugmentPresetNames(), ", "))
}

func (a DetectionAugment) photometricOn() bool { return a.Photometric > 0 }

// geometric reports whether the output's geometry is random (so images
// cannot be fitted once and cached).
func (a DetectionAugment) geometric() bool {
	return a.ZoomOut > 0 || a.Crop || a.FlipProb > 0
}

// Enabled reports whether any operation is switched on.
func (a DetectionAugment) Enabled() bool { return a.photometricOn() || a.geometric() }

// Validate checks ranges, naming the field and what is allowed.
func (a DetectionAugment) Validate() error {
	prob := func(name string, v float64) error {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("detection augment: %s %g outside [0, 1]; it is a probability", name, v)
		}
		return nil
	}
	factor := func(name string, r [2]float64) error {
		if r == [2]float64{} {
			return nil
		}
		if !(r[0] >= 0 && r[0] <= r[1] && r[1] <= 1e3) {
			return fmt.Errorf("detection augment: %s %v; want 0 <= min <= max (1 leaves the image alone), e.g. [0.5, 1.5]", name, r)
		}
		return nil
	}
	frac := func(name string, r [2]float64, hi float64, eg string) error {
		if r == [2]float64{} {
			return nil
		}
		if !(r[0] > 0 && r[0] <= r[1] && r[1] <= hi) {
			return fmt.Errorf("detection augment: %s %v; want 0 < min <= max <= %g, e.g. %s", name, r, hi, eg)
		}
		return nil
	}
	for _, err := range []error{
		prob("photometric", a.Photometric),
		factor("brightness", a.Brightness),
		factor("contrast", a.Contrast),
		factor("saturation", a.Saturation),
		prob("channel_swap", a.ChannelSwap),
		prob("zoom_out", a.ZoomOut),
		frac("crop_scale", a.CropScale, 1, "[0.3, 1]"),
		frac("crop_aspect", a.CropAspect, 100, "[0.5, 2]"),
		prob("flip_prob", a.FlipProb),
	} {
		if err != nil {
			return err
		}
	}
	switch {
	case !(a.Hue >= 0 && a.Hue <= 0.5):
		return fmt.Errorf("detection augment: hue %g outside [0, 0.5]; it is a fraction of the colour wheel", a.Hue)
	case a.ZoomOutMax != 0 && !(a.ZoomOutMax >= 1 && a.ZoomOutMax <= 16):
		return fmt.Errorf("detection augment: zoom_out_max %g outside [1, 16]; it is the canvas side as a multiple of the image's (SSD: 4)", a.ZoomOutMax)
	case a.CropTrials < 0 || a.CropTrials > 1000:
		return fmt.Errorf("detection augment: crop_trials %d outside [0, 1000] (zero means %d)", a.CropTrials, defaultCropTrials)
	case !(a.MinBoxSize >= 0 && a.MinBoxSize <= 1e6):
		return fmt.Errorf("detection augment: min_box_size %g; want a size in output pixels >= 0 (SSD: 1)", a.MinBoxSize)
	case len(a.Fill) != 0 && len(a.Fill) != 1 && len(a.Fill) != 3:
		return fmt.Errorf("detection augment: %d fill values; give one, or one per channel (3)", len(a.Fill))
	}
	for i, v := range a.Fill {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("detection augment: fill[%d] %g outside [0, 1]; it is a pixel value before normalisation", i, v)
		}
	}
	for i, v := range a.CropIoU {
		if !(v >= 0 && v <= 1) {
			return fmt.Errorf("detection augment: crop_iou[%d] %g outside [0, 1]; 1 means keep the whole image", i, v)
		}
	}
	photoSteps := a.Brightness != [2]float64{} || a.Contrast != [2]float64{} || a.Saturation != [2]float64{} || a.Hue != 0 || a.ChannelSwap != 0
	switch {
	case a.Photometric > 0 && !photoSteps:
		return fmt.Errorf("detection augment: photometric %g but no step is set; set brightness, contrast, saturation, hue or channel_swap (or use the ssd preset)", a.Photometric)
	case a.Photometric == 0 && photoSteps:
		return fmt.Errorf("detection augment: a photometric step is set but photometric (the probability of each step) is 0; set it, e.g. 0.5")
	case a.ZoomOut == 0 && (a.ZoomOutMax != 0 || a.Fill != nil):
		return fmt.Errorf("detection augment: zoom_out_max or fill is set but zoom_out (its probability) is 0; set it, e.g. 0.5")
	case !a.Crop && (a.CropIoU != nil || a.CropScale != [2]float64{} || a.CropAspect != [2]float64{} || a.CropTrials != 0):
		return fmt.Errorf("detection augment: a crop_* setting is given but crop is off; set crop to true")
	case a.Crop && a.CropIoU != nil && len(a.CropIoU) == 0:
		return fmt.Errorf("detection augment: crop_iou is empty; list the minimum IoUs to draw from, e.g. [0, 0.1, 0.3, 0.5, 0.7, 0.9, 1]")
	}
	return nil
}

// Apply augments im and its boxes and fits the result to fit's size and
// channels, but not its normalisation: what DetectionLoader does to each
// training image before normalising it. With no size in fit the output
// keeps the size of the (zoomed, cropped) view. It returns the image, the
// surviving boxes in its pixels (possibly none) and the map from im's
// pixels to the output's. im and boxes are not modified.
//
// A box that is not finite, has no area or lies more than a pixel outside
// im is an error naming it, never passed on: a loader wraps it with the
// image's name.
func (a DetectionAugment) Apply(im *Image, boxes []Box, fit Preprocess, rng *rand.Rand) (*Image, []Box, BoxMap, error) {
	if err := a.Validate(); err != nil {
		return nil, nil, BoxMap{}, err
	}
	if err := fit.Validate(); err != nil {
		return nil, nil, BoxMap{}, err
	}
	if a.Enabled() && rng == nil {
		return nil, nil, BoxMap{}, fmt.Errorf("detection augment: nil random generator; pass rand.New(rand.NewPCG(seed, stream))")
	}
	if err := checkChannels(fit, im.C); err != nil {
		return nil, nil, BoxMap{}, err
	}
	in, err := checkBoxes(boxes, im.W, im.H)
	if err != nil {
		return nil, nil, BoxMap{}, err
	}
	var w detWork
	out, kept, m := a.run(im, in, fit, rng, &w, nil)
	if out == im {
		out = im.Clone()
	}
	return out, kept, m, nil
}

// FitDetection resizes im to p's size and channels and moves its boxes
// with it, the way DetectionLoader prepares an image without augmentation:
// for evaluation and prediction. Map.Invert takes the model's boxes back to
// im's pixels. im is not normalised here (see Normalize) nor modified.
func (p Preprocess) FitDetection(im *Image, boxes []Box) (*Image, []Box, BoxMap, error) {
	return DetectionAugment{}.Apply(im, boxes, p, nil)
}

func checkChannels(p Preprocess, c int) error {
	if p.Channels != 0 && p.Channels != c && c != 1 && c != 3 {
		return fmt.Errorf("preprocess: image has %d channels; only 1 and 3 can be converted to %d", c, p.Channels)
	}
	return nil
}

// checkBoxes validates boxes against a w×h image (see checkBox: a box up
// to a pixel past the edge is clipped to it) and returns the clipped copy.
func checkBoxes(boxes []Box, w, h int) ([]Box, error) {
	out := make([]Box, len(boxes))
	for k, b := range boxes {
		c, _, msg, ok := checkBox(b, w, h)
		if !ok {
			return nil, fmt.Errorf("box %d: %s", k, msg)
		}
		out[k] = c
	}
	return out, nil
}

// BoxMap is how the augmentation and resize moved an image: a point (x, y)
// of the original lands at (x·SX + OX, y·SY + OY) in the network's input.
// SX is negative when the image was flipped.
type BoxMap struct{ SX, SY, OX, OY float64 }

// Apply moves a box from the original image to the input.
func (m BoxMap) Apply(b Box) Box {
	b.X1, b.X2 = b.X1*m.SX+m.OX, b.X2*m.SX+m.OX
	b.Y1, b.Y2 = b.Y1*m.SY+m.OY, b.Y2*m.SY+m.OY
	return ordered(b)
}

// Invert moves a box from the input back to the original image, e.g. a
// prediction to be drawn on, or scored against, the original.
func (m BoxMap) Invert(b Box) Box {
	b.X1, b.X2 = (b.X1-m.OX)/m.SX, (b.X2-m.OX)/m.SX
	b.Y1, b.Y2 = (b.Y1-m.OY)/m.SY, (b.Y2-m.OY)/m.SY
	return ordered(b)
}

func ordered(b Box) Box {
	if b.X1 > b.X2 {
		b.X1, b.X2 = b.X2, b.X1
	}
	if b.Y1 > b.Y2 {
		b.Y1, b.Y2 = b.Y2, b.Y1
	}
	return b
}

// rect is an axis-aligned rectangle [x0,x1)×[y0,y1) in source pixels.
type rect struct{ x0, y0, x1, y1 float64 }

func (r rect) w() float64 { return r.x1 - r.x0 }
func (r rect) h() float64 { return r.y1 - r.y0 }

// iou is the intersection over union of b and r.
func iou(b Box, r rect) float64 {
	w := min(b.X2, r.x1) - max(b.X1, r.x0)
	h := min(b.Y2, r.y1) - max(b.Y1, r.y0)
	if !(w > 0 && h > 0) {
		return 0
	}
	inter := w * h
	return inter / (b.W()*b.H() + r.w()*r.h() - inter)
}

// centreIn reports whether b's centre lies strictly inside r, the rule by
// which SSD's crop keeps an object.
func centreIn(b Box, r rect) bool {
	cx, cy := (b.X1+b.X2)/2, (b.Y1+b.Y2)/2
	return r.x0 < cx && cx < r.x1 && r.y0 < cy && cy < r.y1
}

// sampleZoomOut places the w×h image on a canvas up to ZoomOutMax times its
// size, as torchvision's RandomZoomOut: it returns the canvas in source
// coordinates (the image at its integer offset inside).
func (a DetectionAugment) sampleZoomOut(rng *rand.Rand, w, h int) rect {
	hi := a.ZoomOutMax
	if hi == 0 {
		hi = defaultZoomOutMax
	}
	r := uniform(rng, 1, hi)
	cw, ch := math.Floor(float64(w)*r), math.Floor(float64(h)*r)
	left := math.Floor((cw - float64(w)) * rng.Float64())
	top := math.Floor((ch - float64(h)) * rng.Float64())
	return rect{-left, -top, cw - left, ch - top}
}

// sampleCrop draws SSD's patch inside view, as torchvision's RandomIoUCrop
// does on the canvas: integer sides and offsets relative to view. It
// returns the patch, the minimum IoU it satisfies, and false when the image
// is to be kept whole.
func (a DetectionAugment) sampleCrop(rng *rand.Rand, view rect, boxes []Box) (rect, float64, bool) {
	if len(boxes) == 0 {
		return rect{}, 0, false
	}
	opts, scale, aspect, trials := a.CropIoU, a.CropScale, a.CropAspect, a.CropTrials
	if opts == nil {
		opts = defaultCropIoU
	}
	if scale == [2]float64{} {
		scale = defaultCropScale
	}
	if aspect == [2]float64{} {
		aspect = defaultCropAspect
	}
	if trials == 0 {
		trials = defaultCropTrials
	}
	vw, vh := view.w(), view.h()
	for range cropRounds {
		minIoU := opts[rng.IntN(len(opts))]
		if minIoU >= 1 {
			return rect{}, 0, false
		}
		for range trials {
			nw := math.Floor(vw * uniform(rng, scale[0], scale[1]))
			nh := math.Floor(vh * uniform(rng, scale[0], scale[1]))
			if nw < 1 || nh < 1 {
				continue
			}
			if ar := nw / nh; !(ar >= aspect[0] && ar <= aspect[1]) {
				continue
			}
			x0 := view.x0 + math.Floor((vw-nw)*rng.Float64())
			y0 := view.y0 + math.Floor((vh-nh)*rng.Float64())
			r := rect{x0, y0, x0 + nw, y0 + nh}
			best, found := 0.0, false
			for _, b := range boxes {
				if centreIn(b, r) {
					found = true
					best = max(best, iou(b, r))
				}
			}
			if found && best >= minIoU {
				return r, minIoU, true
			}
		}
	}
	return rect{}, 0, false
}

// fillColour is the zoom-out canvas colour for a c-channel image: Fill, or
// the mean p's normalisation subtracts.
func (a DetectionAugment) fillColour(p Preprocess, c int) []float32 {
	mean := a.Fill
	if mean == nil {
		switch {
		case len(p.Mean) > 0:
			mean = p.Mean
		case p.Norm == NormSymmetric:
			mean = []float32{0.5}
		case p.Norm == NormCaffe:
			mean = []float32{caffeMeanBGR[2] / 255, caffeMeanBGR[1] / 255, caffeMeanBGR[0] / 255}
		default: // imagenet, and unit: the paper's mean pixel
			mean = imagenetMean
		}
	}
	out := make([]float32, c)
	for i := range out {
		switch {
		case len(mean) == 1:
			out[i] = mean[0]
		case len(mean) == c:
			out[i] = mean[i]
		default: // an RGB mean for a grey (or odd) image: its luma
			out[i] = 0.299*mean[0] + 0.587*mean[1] + 0.114*mean[2]
		}
	}
	return out
}

// run is Apply on checked input: it never fails. The result is src itself
// (nothing to do) or one of w's images; the kept boxes are appended to dst.
func (a DetectionAugment) run(src *Image, boxes []Box, fit Preprocess, rng *rand.Rand, w *detWork, dst []Box) (*Image, []Box, BoxMap) {
	// Channels first, so the photometric steps see the colours the
	// network will; converting grey to RGB before resizing costs three
	// resizes instead of one but gives the same pixels.
	if fit.Channels == 1 && src.C == 3 {
		src = toGrey(src)
	} else if fit.Channels == 3 && src.C == 1 {
		src = toRGB(src)
	}
	if a.photometricOn() {
		src = a.photometric(src, rng, w)
	}
	sw, sh := src.W, src.H
	canvas := rect{0, 0, float64(sw), float64(sh)}
	if a.ZoomOut > 0 && rng.Float64() < a.ZoomOut {
		canvas = a.sampleZoomOut(rng, sw, sh)
	}
	view := canvas
	w.boxes = append(w.boxes[:0], boxes...)
	if a.Crop {
		if r, _, ok := a.sampleCrop(rng, view, w.boxes); ok {
			kept := w.boxes[:0]
			for _, b := range w.boxes {
				if centreIn(b, r) {
					kept = append(kept, b)
				}
			}
			w.boxes = kept
			view = r
		}
	}

	// The resize: where view lands in the output, and which part of it.
	oh, ow := int(view.h()), int(view.w())
	if fit.Size > 0 || fit.Height > 0 {
		_, oh, ow = fit.OutputShape(src.C, sh, sw)
	}
	win := rect{0, 0, float64(ow), float64(oh)} // the output area view fills
	switch fit.Resize {
	case ResizeLetterbox:
		s := math.Min(float64(ow)/view.w(), float64(oh)/view.h())
		nw := min(max(int(math.Round(view.w()*s)), 1), ow)
		nh := min(max(int(math.Round(view.h()*s)), 1), oh)
		ox, oy := (ow-nw)/2, (oh-nh)/2
		win = rect{float64(ox), float64(oy), float64(ox + nw), float64(oy + nh)}
	case ResizeCrop:
		s := math.Max(float64(ow)/view.w(), float64(oh)/view.h())
		bw, bh := float64(ow)/s, float64(oh)/s
		x0, y0 := view.x0+(view.w()-bw)/2, view.y0+(view.h()-bh)/2
		view = rect{x0, y0, x0 + bw, y0 + bh}
	}
	out := src
	if ow != sw || oh != sh || view != (rect{0, 0, float64(sw), float64(sh)}) || win != (rect{0, 0, float64(sw), float64(sh)}) {
		out = w.render(src, canvas, view, win, oh, ow, a.fillColour(fit, src.C), fit.Fill)
	}

	sx, sy := win.w()/view.w(), win.h()/view.h()
	m := BoxMap{SX: sx, SY: sy, OX: win.x0 - view.x0*sx, OY: win.y0 - view.y0*sy}
	start := len(dst)
	for _, b := range w.boxes {
		b = m.Apply(b)
		b.X1, b.Y1 = max(b.X1, win.x0), max(b.Y1, win.y0)
		b.X2, b.Y2 = min(b.X2, win.x1), min(b.Y2, win.y1)
		if bw, bh := b.W(), b.H(); !(bw > 0 && bh > 0) || bw < a.MinBoxSize || bh < a.MinBoxSize {
			continue
		}
		dst = append(dst, b)
	}
	if a.FlipProb > 0 && rng.Float64() < a.FlipProb {
		if out == src {
			out = w.own(src)
		}
		flipInPlace(out)
		m.SX, m.OX = -m.SX, float64(ow)-m.OX
		for i := start; i < len(dst); i++ {
			dst[i].X1, dst[i].X2 = float64(ow)-dst[i].X2, float64(ow)-dst[i].X1
		}
	}
	return out, dst, m
}
