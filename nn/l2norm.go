package nn

import (
	"fmt"

	"github.com/graftml/graft/torch"
)

// L2Norm scales each position's channel vector to unit length and then by
// a learnt per-channel factor: SSD300's treatment of conv4_3 (Liu et al.
// 2016, section 3.1; ParseNet), whose activations are larger than the
// later maps'. Its parameter is named scale_weight, as torchvision names
// it in SSDFeatureExtractorVGG.
type L2Norm struct {
	Scale *torch.Tensor // [channels]
	Eps   float64       // the norm's floor (F.normalize's 1e-12)
}

// NewL2Norm makes the layer with every scale at init (SSD: 20).
func NewL2Norm(channels int, init float64) *L2Norm {
	return &L2Norm{Scale: torch.Full([]int64{int64(channels)}, init, torch.Float32, torch.CPU), Eps: 1e-12}
}

// Forward is scale · x / max(‖x‖₂ over channels, eps), as
// scale_weight.view(1, -1, 1, 1) * F.normalize(x).
func (l *L2Norm) Forward(x *torch.Tensor, _ bool) *torch.Tensor {
	sh := x.Shape()
	if len(sh) != 4 {
		return torch.Failed(fmt.Errorf("l2norm: input %v, want NCHW", sh))
	}
	norm := x.Square().Sum(1).Sqrt().ClampMin(l.Eps).Reshape(sh[0], 1, sh[2], sh[3])
	return x.Div(norm).Mul(l.Scale.Reshape(1, -1, 1, 1))
}

// Params is the scale.
func (l *L2Norm) Params() []Param { return []Param{{Name: "scale_weight", T: l.Scale}} }
