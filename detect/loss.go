package detect

import (
	"fmt"
	"sort"

	"github.com/graftml/graft/torch"
)

// Target is one image's ground truth: boxes in input pixels and their
// classes, 1 to C-1 (0 is the background). An image may have none.
type Target struct {
	Boxes  []Box
	Labels []int
}

// Loss is SSD's multibox loss: smooth L1 on the coded boxes of the matched
// default boxes, and cross-entropy on the classes of the matched ones and
// of the hardest unmatched ones, NegPerPos of them per match in each image
// (hard-negative mining), both divided by the batch's matches.
type Loss struct {
	Coder     Coder
	Threshold float32 // IoU a default box needs to match a ground truth (SSD: 0.5)
	NegPerPos int     // background boxes kept per matched one (SSD: 3)
}

// SSDLoss is the SSD paper's loss (torchvision's defaults).
var SSDLoss = Loss{Coder: SSDCoder, Threshold: 0.5, NegPerPos: 3}

// Multibox is the loss of a batch: reg (B, A, 4) and logits (B, A, C) as
// the heads give them for the A default boxes, targets one per image. It
// returns the box regression and classification terms; their sum is what
// SSD minimises.
func (l Loss) Multibox(reg, logits *torch.Tensor, defaults []Box, targets []Target) (box, cls *torch.Tensor, err error) {
	shape := logits.Shape()
	if len(shape) != 3 || int(shape[1]) != len(defaults) || int(shape[0]) != len(targets) {
		return nil, nil, fmt.Errorf("multibox loss: logits %v for %d images and %d default boxes", shape, len(targets), len(defaults))
	}
	if rs := reg.Shape(); len(rs) != 3 || rs[0] != shape[0] || rs[1] != shape[1] || rs[2] != 4 {
		return nil, nil, fmt.Errorf("multibox loss: box regression %v, want [%d %d 4]", rs, shape[0], shape[1])
	}
	B, A, C := int(shape[0]), int(shape[1]), int(shape[2])
	regT := make([]float32, B*A*4)
	pos := make([]float32, B*A)
	onehot := make([]float32, B*A*C)
	positives := make([]int, B)
	total := 0
	for b, t := range targets {
		if len(t.Labels) != len(t.Boxes) {
			return nil, nil, fmt.Errorf("multibox loss: image %d has %d boxes and %d labels", b, len(t.Boxes), len(t.Labels))
		}
		matched := Match(t.Boxes, defaults, l.Threshold)
		for a, j := range matched {
			k := b*A + a
			class := 0
			if j >= 0 {
				class = t.Labels[j]
				if class < 1 || class >= C {
					return nil, nil, fmt.Errorf("multibox loss: image %d, box %d has class %d; the head has classes 1..%d (0 is background)", b, j, class, C-1)
				}
				code := l.Coder.Encode(t.Boxes[j], defaults[a])
				copy(regT[4*k:4*k+4], code[:])
				pos[k] = 1
				positives[b]++
			}
			onehot[k*C+class] = 1
		}
		total += positives[b]
	}
	n := float64(max(total, 1))
	ls := torch.NewScope()
	defer ls.Close()
	tReg := ls.Track(torch.FromFloat32(regT, int64(B), int64(A), 4))
	tPos := ls.Track(torch.FromFloat32(pos, int64(B), int64(A)))
	tHot := ls.Track(torch.FromFloat32(onehot, int64(B), int64(A), int64(C)))
	one := ls.Track(torch.Ones(1))

	// Per-box cross-entropy; the hardest background boxes are chosen on
	// its values, outside the graph.
	nll := logits.LogSoftmax(2).Mul(tHot).Sum(2).Neg()
	vals, err := nll.Float32s()
	if err != nil {
		return nil, nil, fmt.Errorf("multibox loss: %w", err)
	}
	keep := make([]float32, B*A)
	copy(keep, pos)
	for b := range B {
		var negs []int
		for a := range A {
			if pos[b*A+a] == 0 {
				negs = append(negs, b*A+a)
			}
		}
		sort.SliceStable(negs, func(i, j int) bool { return vals[negs[i]] > vals[negs[j]] })
		for _, k := range negs[:min(len(negs), l.NegPerPos*positives[b])] {
			keep[k] = 1
		}
	}
	tKeep := ls.Track(torch.FromFloat32(keep, int64(B), int64(A)))
	cls = nll.Mul(tKeep).Sum().DivScalar(n)

	diff := reg.Sub(tReg).Abs()
	smooth := torch.Where(diff.Lt(one), diff.Square().MulScalar(0.5), diff.AddScalar(-0.5))
	box = smooth.Sum(2).Mul(tPos).Sum().DivScalar(n)
	if err := firstErr(box.Err(), cls.Err()); err != nil {
		return nil, nil, fmt.Errorf("multibox loss: %w", err)
	}
	return ls.Keep(box), ls.Keep(cls), nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
