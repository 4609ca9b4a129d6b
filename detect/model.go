package detect

import (
	"fmt"
	"sync"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Model is a single-shot detector staged as graft's classifiers are, so
// that strategies freeze, cache and give learning rates to stages by name:
// backbone stages, extra feature layers, and a last stage named "head"
// that holds the per-map box-regression and classification predictors.
//
// It embeds the nn.Model that holds every stage, and with it every
// parameter under torchvision's state_dict names: Params, SetTrainable
// (frozen BatchNorms in inference mode), Trainable, CountParams, StageIndex,
// To and Free are nn.Model's, and weight loaders that take an *nn.Model
// (onnx.LoadPretrained, checkpoint.LoadWeights) take m.Model. What a
// classifier's single output cannot say lives here: which stages' outputs
// are the feature maps, the head that reads them all, and the default
// boxes. Forward and ForwardRange replace nn.Model's: a detector's stream
// forks at every tap, and its head runs on the list of maps.
type Model struct {
	*nn.Model
	// Taps are the feature maps, in the order the head reads them and the
	// default boxes are tiled: strictly increasing body stages.
	Taps []Tap
	// Head is the module named "head" in the last stage.
	Head *Head
	// Boxes tiles the default boxes, one aspect-ratio list per tap.
	Boxes DefaultBoxes
	// InputSize is the side the detector was designed for (300, 320); the
	// default boxes follow whatever size it is given.
	InputSize int

	// recipe is how New or FromClassifier built the model, what Save
	// records so that Build can build it again; zero for a Model put
	// together by hand, which Save refuses.
	recipe recipe

	mu       sync.Mutex
	defaults map[[2]int][]Box
}

// Tap is one feature map: the output of a body stage, optionally
// transformed before the head reads it.
type Tap struct {
	Stage int
	// Norm, when set, is applied to the map on its way to the head and
	// not to the stream the next stage reads: SSD300's L2-normalised
	// conv4_3. Its parameters belong to the head stage, where torchvision's
	// freezing also leaves them (trainable_backbone_layers freezes VGG's
	// features, never scale_weight).
	Norm nn.Module
}

// Partial is a forward pass stopped between stages: the stream the next
// stage reads and the maps tapped so far, before any Tap.Norm. It is what
// a frozen prefix's cache holds for a detector.
type Partial struct {
	X    *torch.Tensor
	Maps []*torch.Tensor
}

// Forward runs the detector on a batch (B, C, H, W) and returns the box
// regression (B, A, 4) and class logits (B, A, C) for the A default boxes
// of Defaults(H, W), in that order; class 0 is the background.
func (m *Model) Forward(x *torch.Tensor, train bool) (reg, logits *torch.Tensor) {
	p := m.ForwardRange(Partial{X: x}, 0, len(m.Stages)-1, train)
	return m.Predict(p.Maps, train)
}

// ForwardRange runs body stages [from, to) on p and collects the maps
// they tap; the head stage is Predict's. Running [0, k) and then [k, head)
// gives what running [0, head) gives, so a frozen prefix can be cached.
func (m *Model) ForwardRange(p Partial, from, to int, train bool) Partial {
	if to > len(m.Stages)-1 {
		to = len(m.Stages) - 1
	}
	maps := append([]*torch.Tensor(nil), p.Maps...)
	x := p.X
	// Packed stages (nn.Model.Pack) pass oneDNN's layout along; the maps
	// leave it for the head, which reads them dense.
	packed, inPacked := m.PackedRun(x, train), false
	for i := from; i < to; i++ {
		if packed {
			x, inPacked = m.Relayout(x, i, inPacked)
		}
		x = m.Stages[i].Forward(x, train)
		for _, t := range m.Taps {
			if t.Stage == i {
				if inPacked {
					maps = append(maps, x.ToDense())
				} else {
					maps = append(maps, x)
				}
			}
		}
	}
	if inPacked {
		x = x.ToDense()
	}
	return Partial{X: x, Maps: maps}
}

// Predict applies the taps' norms and the head to every map.
func (m *Model) Predict(maps []*torch.Tensor, train bool) (reg, logits *torch.Tensor) {
	if len(maps) != len(m.Taps) {
		err := fmt.Errorf("%s: %d feature maps for %d taps", m.Arch, len(maps), len(m.Taps))
		return torch.Failed(err), torch.Failed(err)
	}
	in := make([]*torch.Tensor, len(maps))
	for i, t := range m.Taps {
		in[i] = maps[i]
		if t.Norm != nil {
			in[i] = t.Norm.Forward(maps[i], train)
		}
	}
	return m.Head.Predict(in, train)
}

// Defaults are the default boxes for an input of height × width, in the
// order Forward predicts them. The maps' sizes come from a forward pass of
// one blank image (convolution arithmetic decides them: 38, 19, 10, 5, 3,
// 1 at 300), done once per size.
func (m *Model) Defaults(height, width int) ([]Box, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [2]int{height, width}
	if b, ok := m.defaults[key]; ok {
		return b, nil
	}
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Zeros(1, int64(m.InChannels), int64(height), int64(width)))
	var p Partial
	torch.NoGrad(func() { p = m.ForwardRange(Partial{X: x}, 0, len(m.Stages)-1, false) })
	grids := make([][2]int, len(p.Maps))
	for i, f := range p.Maps {
		sh := f.Shape()
		if len(sh) != 4 {
			return nil, fmt.Errorf("%s at %d×%d: feature map %d: %v", m.Arch, height, width, i, f.Err())
		}
		grids[i] = [2]int{int(sh[2]), int(sh[3])}
	}
	b, err := m.Boxes.Boxes(grids, height, width)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.Arch, err)
	}
	if m.defaults == nil {
		m.defaults = map[[2]int][]Box{}
	}
	m.defaults[key] = b
	return b, nil
}

// Validate checks that stages, taps, head and default boxes agree.
func (m *Model) Validate() error {
	n := len(m.Stages)
	if n < 2 || m.Stages[n-1].Name != "head" {
		return fmt.Errorf("%s: a detector needs body stages and a last stage named head", m.Arch)
	}
	if len(m.Taps) == 0 {
		return fmt.Errorf("%s: no feature maps tapped", m.Arch)
	}
	for i, t := range m.Taps {
		if t.Stage < 0 || t.Stage >= n-1 || (i > 0 && t.Stage <= m.Taps[i-1].Stage) {
			return fmt.Errorf("%s: tap %d on stage %d; taps are increasing body stages 0..%d", m.Arch, i, t.Stage, n-2)
		}
	}
	if err := m.Boxes.Validate(); err != nil {
		return fmt.Errorf("%s: %w", m.Arch, err)
	}
	if len(m.Boxes.AspectRatios) != len(m.Taps) {
		return fmt.Errorf("%s: %d feature maps, default boxes for %d", m.Arch, len(m.Taps), len(m.Boxes.AspectRatios))
	}
	if m.Head == nil || len(m.Head.Classification) != len(m.Taps) || len(m.Head.Regression) != len(m.Taps) {
		return fmt.Errorf("%s: the head must predict on each of the %d feature maps", m.Arch, len(m.Taps))
	}
	found := false
	nn.Walk(m.Stages[n-1].Layers, func(mod nn.Module) { found = found || mod == nn.Module(m.Head) })
	if !found {
		return fmt.Errorf("%s: the head is not in the head stage, so it would neither train nor load", m.Arch)
	}
	if m.Head.NumClasses != m.NumClasses {
		return fmt.Errorf("%s: head predicts %d classes, model says %d", m.Arch, m.Head.NumClasses, m.NumClasses)
	}
	return nil
}

// ResetClasses replaces the classification predictors with freshly
// initialised ones for n classes (background included): how a detector
// trained on COCO's 91 is given a new label set, as ResetClassifier does
// for a classifier. The box regression is kept.
func (m *Model) ResetClasses(n int) error {
	if n < 2 {
		return fmt.Errorf("%s: a detector needs the background and at least one class, got %d classes", m.Arch, n)
	}
	h := m.Head
	for i, old := range h.Classification {
		h.Classification[i] = h.newPredictor(i, n*h.PerCell[i])
		for _, p := range old.Params() {
			p.T.Free()
		}
		for _, p := range h.Classification[i].Params() {
			if !p.Buffer {
				if err := p.T.SetRequiresGrad(true); err != nil {
					return fmt.Errorf("%s: %w", m.Arch, err)
				}
			}
		}
	}
	h.NumClasses, m.NumClasses = n, n
	m.Stages[len(m.Stages)-1].Channels = n
	return nil
}
