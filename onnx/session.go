package onnx

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// Session runs an ONNX graph as it is — every input and output, no
// stages — on graft's operators: inference on graphs that are not image
// classifiers, and the conformance tests against ONNX's test data.
type Session struct {
	p *program
}

// NewSession reads and compiles an ONNX file.
func NewSession(path string) (*Session, error) {
	m, err := ReadModel(path)
	if err != nil {
		return nil, err
	}
	p, err := compile(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Session{p: p}, nil
}

// Inputs lists the graph inputs that are not initializers, in order.
func (s *Session) Inputs() []*ValueInfo { return s.p.inputs }

// Outputs lists the graph output names in order.
func (s *Session) Outputs() []string { return s.p.outputs }

// Run evaluates the graph in inference mode (BatchNormalization and
// Dropout follow their training_mode inputs, as ONNX defines). The
// results are new tensors the caller owns.
func (s *Session) Run(inputs map[string]*torch.Tensor) (map[string]*torch.Tensor, error) {
	var out map[string]*torch.Tensor
	var err error
	torch.NoGrad(func() { out, err = s.p.Run(inputs, false, true) })
	return out, err
}

// Close releases the graph's weights.
func (s *Session) Close() { s.p.free() }

// TensorOf converts a decoded TensorProto (test data, Constant values) to
// a new CPU tensor that the caller owns.
func TensorOf(tp *TensorProto, dir string) (*torch.Tensor, error) {
	c, err := tp.Const(dir)
	if err != nil {
		return nil, err
	}
	t := c.tensor(torch.CPU)
	return t, t.Err()
}
