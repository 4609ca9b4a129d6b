package nn

import (
	"fmt"
	"math"

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
// the identity.
func foldConvBN(c *Conv2d, bn *BatchNorm2d) error {
	src, bias, err := folded(c, bn)
	if err != nil {
		return err
	}
	defer src.Free()
	dev := c.Weight.Device()
	var werr error
	torch.NoGrad(func() { werr = c.Weight.CopyFrom_(src) }) // keeps its device and layout
	if werr != nil {
		bias.Free()
		return werr
	}
	if dev != torch.CPU {
		moved := bias.ToDevice(dev)
		bias.Free()
		bias = moved
	}
	if c.Bias != nil {
		c.Bias.Free()
	}
	c.Bias = bias
	bn.Folded = true
	return nil
}

// folded returns c's weight and bias with bn's inference-mode affine map
// folded in, as new float32 CPU tensors, leaving both layers as they are.
// Computed in float64 on the host: the folded weights are then within
// float32 rounding of the two layers applied in turn.
func folded(c *Conv2d, bn *BatchNorm2d) (weight, bias *torch.Tensor, err error) {
	read := func(t *torch.Tensor) ([]float64, error) {
		host := t.ToDevice(torch.CPU) // a new handle, even on the CPU
		defer host.Free()
		v, err := host.Float32s()
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, err
	}
	gamma, err := read(bn.Weight)
	if err != nil {
		return nil, nil, err
	}
	beta, err := read(bn.Bias)
	if err != nil {
		return nil, nil, err
	}
	mean, err := read(bn.RunningMean)
	if err != nil {
		return nil, nil, err
	}
	vr, err := read(bn.RunningVar)
	if err != nil {
		return nil, nil, err
	}
	w, err := read(c.Weight)
	if err != nil {
		return nil, nil, err
	}
	out := len(gamma)
	if out == 0 || len(w)%out != 0 || int(c.Weight.Shape()[0]) != out {
		return nil, nil, fmt.Errorf("a convolution of %d outputs feeds a BatchNorm of %d channels", c.Weight.Shape()[0], out)
	}
	b := make([]float64, out)
	if c.Bias != nil {
		if b, err = read(c.Bias); err != nil {
			return nil, nil, err
		}
	}
	per := len(w) / out
	nw, nb := make([]float32, len(w)), make([]float32, out)
	for o := range out {
		s := gamma[o] / math.Sqrt(vr[o]+bn.Eps)
		for j := range per {
			nw[o*per+j] = float32(w[o*per+j] * s)
		}
		nb[o] = float32(beta[o] + (b[o]-mean[o])*s)
	}
	return torch.FromFloat32(nw, c.Weight.Shape()...), torch.FromFloat32(nb, int64(out)), nil
}
