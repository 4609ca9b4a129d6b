package nn

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// FoldBatchNorm folds every inference-mode BatchNorm that directly follows
// a convolution into that convolution's weights and bias: a convolution
// then an affine map per output channel is one convolution, so inference
// skips a pass over every such feature map (w' = w·γ/√(σ²+ε),
// b' = β + (b − μ)·γ/√(σ²+ε)). It returns how many it folded.
//
// Only pairs whose order is their data flow are folded: consecutive
// layers of a stage or a Sequential, and the blocks whose convolution
// feeds its BatchNorm (ResNet's, MobileNet's). The model is then for
// inference only: training would update a BatchNorm that no longer runs,
// so Folded is set and checkpoint.Save refuses it.
func (m *Model) FoldBatchNorm() (int, error) {
	m.Unpack() // packed copies of the unfolded weights would go stale
	n := 0
	for _, s := range m.Stages {
		k, err := foldList(s.Layers)
		if err != nil {
			return n, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		n += k
	}
	if n > 0 {
		m.Folded = true
	}
	return n, nil
}

func foldList(layers []Named) (int, error) {
	n := 0
	for i, l := range layers {
		if c, ok := l.M.(*Conv2d); ok && i+1 < len(layers) {
			if bn, ok := layers[i+1].M.(*BatchNorm2d); ok && !bn.Folded {
				if err := foldConvBN(c, bn); err != nil {
					return n, fmt.Errorf("%s+%s: %w", l.Name, layers[i+1].Name, err)
				}
				n++
			}
		}
		switch v := l.M.(type) {
		case *Sequential, *BasicBlock, *Bottleneck, *InvertedResidual, *InvertedResidualV3:
			// These list their submodules in data-flow order, each
			// convolution before the BatchNorm it feeds.
			k, err := foldList(v.(Parent).Submodules())
			n += k
			if err != nil {
				return n, fmt.Errorf("%s: %w", l.Name, err)
			}
		}
	}
	return n, nil
}

// foldConvBN rewrites c to include bn's inference-mode affine map and makes bn
// the identity (torch.FoldConvBN's arithmetic: float64, rounded once).
func foldConvBN(c *Conv2d, bn *BatchNorm2d) error {
	src, bias, err := torch.FoldConvBN(c.Weight, c.Bias, torch.FoldBN{Weight: bn.Weight, Bias: bn.Bias, Mean: bn.RunningMean, Var: bn.RunningVar, Eps: bn.Eps})
	if err != nil {
		return err
	}
	defer src.Free()
	var werr error
	torch.NoGrad(func() { werr = c.Weight.CopyFrom_(src) }) // keeps its device and layout
	if werr != nil {
		bias.Free()
		return werr
	}
	if c.Bias != nil {
		c.Bias.Free()
	}
	c.Bias = bias
	bn.Folded = true
	return nil
}
