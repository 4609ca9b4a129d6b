package onnx

import (
	"fmt"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// segment is a run of graph nodes with one input and one output: the unit
// a stage's layers are made of. It owns the parameters whose names start
// with its layer name; the others it reads are listed by holder layers
// beside it (nn.Stage prefixes every parameter with its layer's name, and
// a segment's parameters need not share one prefix).
type segment struct {
	p        *program
	from, to int    // dynamic nodes [from, to)
	in, out  string // input and output values
	params   []nn.Param
	last     map[string]int
}

// Forward runs the segment's nodes. Values are freed as soon as the
// segment no longer needs them.
func (s *segment) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	if err := x.Err(); err != nil {
		return x
	}
	e := s.p.newEnv(x.Device(), train)
	e.vals[s.in] = value{t: x}
	if err := e.runNodes(s.from, s.to, map[string]bool{s.out: true}, s.last); err != nil {
		e.release(nil)
		return torch.Failed(fmt.Errorf("onnx graph: %w", err))
	}
	v, err := e.get(s.out)
	if err != nil {
		e.release(nil)
		return torch.Failed(fmt.Errorf("onnx graph: %w", err))
	}
	var y *torch.Tensor
	switch {
	case v.c != nil:
		y = v.c.tensor(x.Device())
	case v.t == x || !e.owned[s.out]:
		y = v.t.Alias()
	default:
		y = v.t
	}
	e.release(map[*torch.Tensor]bool{y: true})
	return y
}

// Params lists the parameters named under this layer.
func (s *segment) Params() []nn.Param { return s.params }

// Submodules are the segment's BatchNorms, so that nn.Walk — and with it
// nn.Model.SetTrainable's BatchNorm mode — reaches them.
func (s *segment) Submodules() []nn.Named {
	var out []nn.Named
	for _, n := range s.p.nodes[s.from:s.to] {
		if n.bn != nil {
			out = append(out, nn.Named{Name: n.label, M: n.bn})
		}
	}
	return out
}

// holder lists parameters of a neighbouring segment under another prefix;
// it computes nothing.
type holder struct{ params []nn.Param }

func (h *holder) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return x }
func (h *holder) Params() []nn.Param                            { return h.params }

// channelsLast and channelsFirst bracket a 1×1-convolution classifier
// stored as an nn.Linear over the channel dimension, which nn.Model can
// find and replace like any classifier.
type channelsLast struct{}

func (channelsLast) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return x.Permute(0, 2, 3, 1) }
func (channelsLast) Params() []nn.Param                            { return nil }

type channelsFirst struct{}

func (channelsFirst) Forward(x *torch.Tensor, _ bool) *torch.Tensor { return x.Permute(0, 3, 1, 2) }
func (channelsFirst) Params() []nn.Param                            { return nil }

// programOf finds the compiled graph behind an imported model, or nil for
// other models.
func programOf(m *nn.Model) *program {
	for _, s := range m.Stages {
		for _, l := range s.Layers {
			if seg, ok := l.M.(*segment); ok {
				return seg.p
			}
		}
	}
	return nil
}
