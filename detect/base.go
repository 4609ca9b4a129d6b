package detect

import (
	"fmt"

	"github.com/graftml/graft/nn"
)

// BaseOptions say how FromClassifier turns a classifier into a detector.
type BaseOptions struct {
	// Arch names the detector.
	Arch string
	// NumClasses counts the detector's classes, background included.
	NumClasses int
	// Taps is how many of the classifier's last body stages are feature
	// maps (default 1: the deepest).
	Taps int
	// Extras are the output channels of the extra stages, each halving
	// the resolution and each a feature map.
	Extras []int
	// Lite builds SSDLite's depthwise-separable extras and predictors;
	// otherwise extras are 1×1 then 3×3 stride-2 convolutions with
	// BatchNorm and ReLU, and predictors 3×3 convolutions, as SSD's.
	Lite bool
	// Boxes tiles the default boxes: one aspect-ratio list per map,
	// Taps + len(Extras) of them.
	Boxes DefaultBoxes
	// InputSize is the side the detector is designed for.
	InputSize int
}

// FromClassifier makes a single-shot detector on a classifier's body (a
// built-in architecture, pretrained or not, or an imported graph): its
// head stage is dropped and freed, its other stages are kept with their
// names, so the classifier's weights load into the detector by name, then
// extra stages extra1… (named extra.0…) and a detection head follow. The
// classifier is consumed: do not use or free base afterwards. Save can
// write the detector when base is a built-in architecture (truncated or
// not); one on an imported graph (Arch "onnx:…") is refused there, as its
// graph is not recorded in a detector's checkpoint.
func FromClassifier(base *nn.Model, o BaseOptions) (*Model, error) {
	if o.Taps == 0 {
		o.Taps = 1
	}
	body := len(base.Stages) - 1
	if o.Taps > body {
		return nil, fmt.Errorf("%s: %d feature maps asked of %s's %d body stages", o.Arch, o.Taps, base.Arch, body)
	}
	if n := o.Taps + len(o.Extras); len(o.Boxes.AspectRatios) != n {
		return nil, fmt.Errorf("%s: %d feature maps (%d tapped, %d extra) and default boxes for %d: give one aspect-ratio list per map",
			o.Arch, n, o.Taps, len(o.Extras), len(o.Boxes.AspectRatios))
	}
	for _, p := range base.Stages[body].Params() {
		p.T.Free()
	}
	m := &Model{Model: &nn.Model{Arch: o.Arch, InChannels: base.InChannels, NumClasses: o.NumClasses, Stages: base.Stages[:body:body]},
		Boxes: o.Boxes, InputSize: o.InputSize}
	var channels []int
	for i := body - o.Taps; i < body; i++ {
		m.Taps = append(m.Taps, Tap{Stage: i})
		channels = append(channels, m.Stages[i].Channels)
	}
	in, red := m.Stages[body-1].Channels, m.Stages[body-1].Reduction
	for i, out := range o.Extras {
		var blk nn.Module
		if o.Lite {
			blk = liteExtra(in, out)
		} else {
			blk = nn.Seq(
				nn.NewConv2d(in, out/2, 1, 1, 0, 1, false), nn.NewBatchNorm2d(out/2), nn.ReLU(),
				nn.NewConv2d(out/2, out, 3, 2, 1, 1, false), nn.NewBatchNorm2d(out), nn.ReLU())
		}
		red *= 2
		m.Taps = append(m.Taps, Tap{Stage: len(m.Stages)})
		m.Stages = append(m.Stages, &nn.Stage{Name: fmt.Sprintf("extra%d", i+1), Channels: out, Reduction: red,
			Layers: []nn.Named{{Name: fmt.Sprintf("extra.%d", i), M: blk}}})
		channels = append(channels, out)
		in = out
	}
	predictor := func(i, out int) nn.Module {
		if o.Lite {
			return litePredictor(channels[i], out)
		}
		c := nn.NewConv2d(channels[i], out, 3, 1, 1, 1, true)
		xavier(c)
		return c
	}
	m.Head = newHead(o.Boxes.PerCell(), o.NumClasses, predictor)
	m.Stages = append(m.Stages, &nn.Stage{Name: "head", Channels: o.NumClasses, Reduction: red, Layers: []nn.Named{{Name: "head", M: m.Head}}})
	if err := m.Validate(); err != nil {
		m.Free()
		return nil, err
	}
	m.recipe = baseRecipe(base.Arch, body, m.InChannels, o)
	return m, nil
}

// SmallBoxes are the small SSD's default boxes: three maps (/8, /16, /32),
// squares and 2:1 pairs, scales from a tenth of the image (13 px at 128,
// a distant sign) to most of it.
func SmallBoxes() DefaultBoxes {
	return DefaultBoxes{AspectRatios: [][]int{{2}, {2}, {2}}, Scales: []float64{0.1, 0.25, 0.5, 0.8}, Clip: true}
}
