package nn

import (
	"fmt"
	"strings"

	"github.com/graftml/graft/torch"
)

// Stage is a contiguous slice of a network that transfer learning treats as
// a unit: frozen together, given one learning rate, cut after.
type Stage struct {
	Name      string  // "stem", "stage1" … "stageN", "head"
	Layers    []Named // top-level modules, named as torchvision names them
	Channels  int     // channels (or features) the stage outputs
	Reduction int     // spatial downsampling of its output relative to the input
	// Packed is set by Model.Pack: the stage's convolutions have
	// prepacked weights and inference runs it in oneDNN's layout.
	Packed bool
}

// Forward applies the stage's layers in order.
func (s *Stage) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	for _, l := range s.Layers {
		x = l.M.Forward(x, train)
	}
	return x
}

// Params lists the stage's parameters with their full names.
func (s *Stage) Params() []Param { return prefixed(s.Layers) }

// Model is a classifier split into named stages. The last stage is always
// "head": pooling and the classifier.
type Model struct {
	Arch       string
	InChannels int
	NumClasses int
	Stages     []*Stage
	// Precision is how forward passes compute (see torch.Precision): a
	// setting of the run, like its device, never saved with the weights,
	// which stay float32.
	Precision torch.Precision
	// Folded is set once FoldBatchNorm has merged BatchNorms into
	// convolutions: the model is then for inference only.
	Folded bool
	// packedFor is the precision Pack packed the weights for ("" when
	// nothing is packed).
	packedFor torch.Precision
}

// Forward runs the whole network.
func (m *Model) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	return m.ForwardRange(x, 0, len(m.Stages), train)
}

// ForwardRange runs stages [from, to) only: the frozen prefix and the
// trainable rest can then run separately, and the prefix's output be cached.
// Under a mixed precision the range runs in one autocast region and its
// output comes back as float32.
func (m *Model) ForwardRange(x *torch.Tensor, from, to int, train bool) *torch.Tensor {
	packed := m.PackedRun(x, train)
	return m.Precision.Run(x.Device(), func() *torch.Tensor {
		inPacked := false // x is in oneDNN's layout
		for i := from; i < to; i++ {
			if packed {
				x, inPacked = m.Relayout(x, i, inPacked)
			}
			x = m.Stages[i].Forward(x, train)
		}
		if inPacked {
			x = x.ToDense()
		}
		return x
	})
}

// Params lists every parameter and buffer with its full (torchvision) name.
func (m *Model) Params() []Param {
	var out []Param
	for _, s := range m.Stages {
		out = append(out, s.Params()...)
	}
	return out
}

// StageIndex finds a stage by name ("stem", "stage2", "head") or by number
// as a string; negative numbers count from the end, as fastai's freeze_to.
func (m *Model) StageIndex(name string) (int, error) {
	for i, s := range m.Stages {
		if s.Name == name {
			return i, nil
		}
	}
	var k int
	if _, err := fmt.Sscanf(name, "%d", &k); err == nil {
		if k < 0 {
			k += len(m.Stages)
		}
		if k >= 0 && k < len(m.Stages) {
			return k, nil
		}
	}
	return 0, fmt.Errorf("%s has no stage %q: stages are %s", m.Arch, name, strings.Join(m.StageNames(), ", "))
}

// StageNames lists the stage names in order.
func (m *Model) StageNames() []string {
	names := make([]string, len(m.Stages))
	for i, s := range m.Stages {
		names[i] = s.Name
	}
	return names
}

// Head is the last stage.
func (m *Model) Head() *Stage { return m.Stages[len(m.Stages)-1] }

// Classifier is the last Linear of the head: the layer whose rows are the
// classes, replaced when the class count changes.
func (m *Model) Classifier() (*Linear, string) {
	slot, name := lastLinear(m.Head().Layers, "")
	if slot == nil {
		return nil, ""
	}
	return slot.M.(*Linear), name
}

func lastLinear(layers []Named, prefix string) (*Named, string) {
	for i := len(layers) - 1; i >= 0; i-- {
		n := &layers[i]
		switch v := n.M.(type) {
		case *Linear:
			return n, prefix + n.Name
		case *Sequential:
			if s, name := lastLinear(v.Children, prefix+n.Name+"."); s != nil {
				return s, name
			}
		case *standardized:
			if s, name := lastLinear(v.Children, prefix+n.Name+"."); s != nil {
				return s, name
			}
		}
	}
	return nil, ""
}

// ResetClassifier replaces the classifier with a freshly initialised one for
// n classes (timm's reset_classifier).
func (m *Model) ResetClassifier(n int) error {
	slot, _ := lastLinear(m.Head().Layers, "")
	if slot == nil {
		return fmt.Errorf("%s: head has no linear classifier to replace", m.Arch)
	}
	old := slot.M.(*Linear)
	slot.M = NewLinear(old.In(), n, old.Bias != nil)
	freeLinear(old)
	m.NumClasses = n
	return nil
}

func freeLinear(l *Linear) {
	l.Weight.Free()
	l.Bias.Free()
}

// Truncate keeps the stages up to and including stage k and puts a new head
// there (global average pooling and a linear classifier for n classes): the
// "keep only the early layers" strategy for small, different target sets.
// Dropped stages are freed.
func (m *Model) Truncate(k, n int) error {
	if k < 0 || k >= len(m.Stages)-1 {
		return fmt.Errorf("cannot cut %s after stage %d: choose 0..%d (%s)", m.Arch, k, len(m.Stages)-2,
			strings.Join(m.StageNames()[:len(m.Stages)-1], ", "))
	}
	for _, s := range m.Stages[k+1:] {
		freeParams(s.Params())
	}
	ch := m.Stages[k].Channels
	m.Stages = append(m.Stages[:k+1:k+1], &Stage{
		Name: "head", Channels: n, Reduction: m.Stages[k].Reduction,
		Layers: []Named{
			{"avgpool", &AdaptivePool{H: 1, W: 1, Flatten: true}},
			{"fc", NewLinear(ch, n, true)},
		},
	})
	m.NumClasses = n
	return nil
}

func freeParams(ps []Param) {
	for _, p := range ps {
		p.T.Free()
		p.Low.Free()
	}
}

// Free releases every tensor the model owns.
func (m *Model) Free() {
	m.Unpack()
	freeParams(m.Params())
}

// SetTrainable turns gradient tracking on or off for a stage's weights;
// frozen stages' BatchNorms also switch to inference mode unless trainBN is
// set (fastai's train_bn).
func (m *Model) SetTrainable(stage int, on, trainBN bool) error {
	m.Unpack() // packed copies fold BatchNorms that may start training
	s := m.Stages[stage]
	for _, p := range s.Params() {
		if p.Buffer {
			continue
		}
		if err := p.T.SetRequiresGrad(on); err != nil {
			return fmt.Errorf("stage %s, %s: %w", s.Name, p.Name, err)
		}
		if p.Low != nil {
			if err := p.Low.SetRequiresGrad(on); err != nil {
				return fmt.Errorf("stage %s, %s (low-precision copy): %w", s.Name, p.Name, err)
			}
		}
	}
	Walk(s.Layers, func(mod Module) {
		if bn, ok := mod.(*BatchNorm2d); ok {
			bn.Frozen = !on && !trainBN
		}
	})
	return nil
}

// Trainable lists the parameters that currently require gradients.
func (m *Model) Trainable() []Param {
	var out []Param
	for _, p := range m.Params() {
		if !p.Buffer && p.T.RequiresGrad() {
			out = append(out, p)
		}
	}
	return out
}

// CountParams is the number of weights (buffers excluded) and how many of
// them train.
func (m *Model) CountParams() (total, trainable int64) {
	for _, p := range m.Params() {
		if p.Buffer {
			continue
		}
		n := p.T.Numel()
		total += n
		if p.T.RequiresGrad() {
			trainable += n
		}
	}
	return total, trainable
}

// Parent is a module made of other modules. Walk visits its submodules,
// which is how freezing reaches the BatchNorms inside blocks.
type Parent interface {
	Submodules() []Named
}

// Walk calls f on every module below layers, depth first.
func Walk(layers []Named, f func(Module)) {
	for _, l := range layers {
		f(l.M)
		if c, ok := l.M.(Parent); ok {
			Walk(c.Submodules(), f)
		}
	}
}

// Submodules are the children, in order.
func (s *Sequential) Submodules() []Named { return s.Children }

// To moves every parameter and buffer to dev, in place, and lays 4-d
// weights out NHWC when channelsLast is set: with NHWC inputs oneDNN picks
// its blocked convolution kernels, faster on most CPUs. Values and names
// are unchanged.
func (m *Model) To(dev torch.Device, channelsLast bool) error {
	for _, p := range m.Params() {
		if err := p.T.MoveTo_(dev, channelsLast); err != nil {
			return fmt.Errorf("move %s to %v: %w", p.Name, dev, err)
		}
	}
	return nil
}
