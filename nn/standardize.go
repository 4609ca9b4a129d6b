package nn

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// Standardize scales each input feature to zero mean and unit variance,
// with statistics averaged over every training batch it has seen: a
// BatchNorm without scale or shift whose running statistics are a
// cumulative average and which always normalises with them, so training
// and evaluation see the same function.
//
// Why: pooled features of a frozen network are far from centred (ReLU
// outputs with a large shared mean and small spread), which leaves a
// linear head trained by Adam badly conditioned — on Fashion-MNIST
// features of synthetic signs it reached 47% in 30 epochs where the same
// head on standardised features reached 62%. MAE's linear-probe protocol
// puts a BatchNorm without affine before the head for the same reason.
// The layer is affine, so FoldStandardize merges it into the Linear that
// follows and saved models never contain it.
type Standardize struct {
	Mean, Var *torch.Tensor
	Eps       float64
	seen      int
}

// NewStandardize makes the layer for n features.
func NewStandardize(n int) *Standardize {
	return &Standardize{Mean: torch.Zeros(int64(n)), Var: torch.Ones(int64(n)), Eps: 1e-5}
}

// Forward folds the batch into the statistics while training, then
// normalises x with them.
func (s *Standardize) Forward(x *torch.Tensor, train bool) *torch.Tensor {
	// One row has no variance (libtorch refuses it in training mode): such
	// a batch only passes through.
	if sh := x.Shape(); train && len(sh) > 0 && sh[0] > 1 {
		s.seen++
		var err error
		torch.NoGrad(func() {
			// Momentum 1/n makes the running statistics the mean of
			// every batch's; the normalised batch itself is not needed.
			d := x.Detach()
			y := torch.BatchNorm(d, nil, nil, s.Mean, s.Var, true, 1/float64(s.seen), s.Eps)
			err = y.Err()
			y.Free()
			d.Free()
		})
		if err != nil {
			return torch.Failed(fmt.Errorf("standardize: %w", err))
		}
	}
	return torch.BatchNorm(x, nil, nil, s.Mean, s.Var, false, 0, s.Eps)
}

// Params are the statistics, as buffers: the best epoch's weights are
// restored together with the statistics they were trained against.
func (s *Standardize) Params() []Param {
	return []Param{
		{Name: "running_mean", T: s.Mean, Buffer: true},
		{Name: "running_var", T: s.Var, Buffer: true},
	}
}

// StandardizeClassifier puts a Standardize before the classifier, in the
// classifier's slot (a Sequential of the two), so that training a head on
// frozen features is well conditioned. FoldStandardize undoes it. A
// classifier without a bias is left alone: the folded shift needs one, and
// adding it would change the model's parameter names.
func (m *Model) StandardizeClassifier() error {
	slot, _ := lastLinear(m.Head().Layers, "")
	if slot == nil {
		return fmt.Errorf("%s: head has no linear classifier", m.Arch)
	}
	lin := slot.M.(*Linear)
	if lin.Bias == nil {
		return nil
	}
	std := NewStandardize(lin.In())
	if dev := lin.Weight.Device(); dev != torch.CPU {
		for _, p := range std.Params() {
			if err := p.T.MoveTo_(dev, false); err != nil {
				return fmt.Errorf("standardize: %w", err)
			}
		}
	}
	slot.M = &standardized{Sequential{Children: []Named{{"std", std}, {"linear", lin}}}}
	return nil
}

// standardized marks the Sequential StandardizeClassifier made, so that
// FoldStandardize finds it and Classifier still sees the Linear inside.
type standardized struct{ Sequential }

// FoldStandardize merges a Standardize made by StandardizeClassifier into
// the Linear after it: W' = W/σ, b' = b − W'·μ with σ = √(var+eps), the
// same function with the classifier's own parameter names. A model
// without one is left alone.
func (m *Model) FoldStandardize() error {
	return foldIn(m.Head().Layers)
}

func foldIn(layers []Named) error {
	for i := range layers {
		switch v := layers[i].M.(type) {
		case *standardized:
			std := v.Children[0].M.(*Standardize)
			lin := v.Children[1].M.(*Linear)
			if err := fold(std, lin); err != nil {
				return err
			}
			layers[i].M = lin
		case *Sequential:
			if err := foldIn(v.Children); err != nil {
				return err
			}
		}
	}
	return nil
}

func fold(s *Standardize, l *Linear) error {
	var err error
	torch.NoGrad(func() {
		// Every intermediate is tracked and freed with the scope.
		sc := torch.NewScope()
		defer sc.Close()
		in := s.Mean.Numel()
		inv := sc.Track(sc.Track(sc.Track(s.Var.AddScalar(s.Eps)).Sqrt()).Reciprocal())                // 1/σ, [in]
		w := sc.Track(l.Weight.Mul(sc.Track(inv.Reshape(1, in))))                                      // [out, in]
		shift := sc.Track(sc.Track(w.Matmul(sc.Track(s.Mean.Reshape(in, 1)))).Reshape(int64(l.Out()))) // W'·μ, [out]
		if err = l.Weight.CopyFrom_(w); err != nil {
			return
		}
		err = l.Bias.AddInPlace(shift, -1)
	})
	if err != nil {
		return fmt.Errorf("fold standardisation into the classifier: %w", err)
	}
	s.Mean.Free()
	s.Var.Free()
	return nil
}
