package nn

import "fmt"

// Resetter is a layer that can draw its parameters afresh with its layer
// types' standard initialisation (PyTorch's reset_parameters): how a model
// whose structure came from a file — an imported ONNX graph, whose
// segments implement it — starts training from scratch. The layers of
// built-in architectures do not implement it: arch.New makes them fresh,
// and their initialisation stays as it is.
type Resetter interface {
	ResetParameters() error
}

// ResetParameters re-initialises every layer of m that is a Resetter and
// reports how many there were; other layers are left as they are.
func (m *Model) ResetParameters() (int, error) {
	n := 0
	for _, s := range m.Stages {
		for _, l := range s.Layers {
			r, ok := l.M.(Resetter)
			if !ok {
				continue
			}
			if err := r.ResetParameters(); err != nil {
				return n, fmt.Errorf("%s.%s: %w", s.Name, l.Name, err)
			}
			n++
		}
	}
	return n, nil
}
