package detect

import (
	"fmt"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Head is SSD's prediction head (torchvision's SSDHead and SSDLiteHead):
// for each feature map a classification and a box-regression predictor,
// each a convolution giving PerCell[i] × (classes or 4) channels. Its
// parameters are named classification_head.module_list.i… and
// regression_head.module_list.i…, as torchvision's.
type Head struct {
	Classification, Regression []nn.Module
	PerCell                    []int // default boxes per cell of each map
	NumClasses                 int   // background included
	// newPredictor makes map i's predictor with out channels: how
	// ResetClasses rebuilds the classification side.
	newPredictor func(i, out int) nn.Module
}

// newHead builds both sides of a head with one predictor builder.
func newHead(perCell []int, classes int, predictor func(i, out int) nn.Module) *Head {
	h := &Head{PerCell: perCell, NumClasses: classes, newPredictor: predictor}
	for i, a := range perCell {
		h.Classification = append(h.Classification, predictor(i, classes*a))
	}
	for i, a := range perCell {
		h.Regression = append(h.Regression, predictor(i, 4*a))
	}
	return h
}

// Submodules are the two module lists, classification first as
// torchvision registers them.
func (h *Head) Submodules() []nn.Named {
	list := func(name string, ms []nn.Module) nn.Named {
		return nn.Named{Name: name, M: &nn.Sequential{Children: []nn.Named{{Name: "module_list", M: nn.Seq(ms...)}}}}
	}
	return []nn.Named{list("classification_head", h.Classification), list("regression_head", h.Regression)}
}

// Params follow torchvision's names.
func (h *Head) Params() []nn.Param { return (&nn.Sequential{Children: h.Submodules()}).Params() }

// Forward refuses a single tensor: the head reads every feature map, so a
// detector runs through detect.Model.Forward, not nn.Model.Forward.
func (h *Head) Forward(*torch.Tensor, bool) *torch.Tensor {
	return torch.Failed(fmt.Errorf("a detector's head reads all its feature maps: run it with detect.Model.Forward"))
}

// Predict applies the predictors to maps and lays their outputs out per
// default box: (B, A, 4) and (B, A, classes), map by map, cell by cell,
// the boxes of a cell in order, as DefaultBoxes.Boxes lists them.
func (h *Head) Predict(maps []*torch.Tensor, train bool) (reg, logits *torch.Tensor) {
	return score(h.Regression, maps, 4, train), score(h.Classification, maps, int64(h.NumClasses), train)
}

// score is torchvision's SSDScoringHead: (N, A·K, H, W) → (N, H·W·A, K)
// per map, concatenated.
func score(mods []nn.Module, maps []*torch.Tensor, k int64, train bool) *torch.Tensor {
	outs := make([]*torch.Tensor, len(maps))
	for i, f := range maps {
		y := mods[i].Forward(f, train)
		sh := y.Shape()
		if len(sh) != 4 {
			return torch.Failed(fmt.Errorf("head, map %d: %w", i, y.Err()))
		}
		n, h, w := sh[0], sh[2], sh[3]
		outs[i] = y.Reshape(n, -1, k, h, w).Permute(0, 3, 4, 1, 2).Reshape(n, -1, k)
	}
	return torch.Cat(outs, 1)
}
