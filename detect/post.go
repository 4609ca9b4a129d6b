package detect

import (
	"fmt"
	"sort"

	"github.com/graftml/graft/torch"
)

// Detection is one box found.
type Detection struct {
	Box   Box
	Class int // 1..C-1
	Score float32
}

// Post turns the heads' outputs into detections as SSD does: softmax
// scores, boxes decoded and clipped to the image, per class the boxes
// scoring above ScoreThreshold (at most TopK, best first), per-class
// non-maximum suppression at NMS, and the best PerImage overall.
type Post struct {
	Coder          Coder
	ScoreThreshold float32
	TopK           int
	NMS            float32
	PerImage       int
}

// SSDPost is torchvision's SSD post-processing.
var SSDPost = Post{Coder: SSDCoder, ScoreThreshold: 0.01, TopK: 400, NMS: 0.45, PerImage: 200}

// Detect returns each image's detections, best first: reg (B, A, 4) and
// logits (B, A, C) for default boxes on an image of height × width.
func (p Post) Detect(reg, logits *torch.Tensor, defaults []Box, height, width int) ([][]Detection, error) {
	shape := logits.Shape()
	if len(shape) != 3 || int(shape[1]) != len(defaults) {
		return nil, fmt.Errorf("detect: logits %v for %d default boxes", shape, len(defaults))
	}
	B, A, C := int(shape[0]), int(shape[1]), int(shape[2])
	var scores, codes []float32
	var err error
	torch.NoGrad(func() {
		s := logits.Softmax(2)
		defer s.Free()
		if scores, err = s.Float32s(); err != nil {
			return
		}
		codes, err = reg.Float32s()
	})
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	if len(codes) != B*A*4 {
		return nil, fmt.Errorf("detect: box regression has %d values, want %d", len(codes), B*A*4)
	}
	out := make([][]Detection, B)
	for b := range B {
		boxes := make([]Box, A)
		for a := range A {
			k := (b*A + a) * 4
			boxes[a] = p.Coder.Decode([4]float32(codes[k:k+4]), defaults[a]).Clip(height, width)
		}
		var cb []Box
		var cs []float32
		var cc []int
		for c := 1; c < C; c++ {
			var idx []int
			for a := range A {
				if scores[(b*A+a)*C+c] > p.ScoreThreshold {
					idx = append(idx, a)
				}
			}
			sort.SliceStable(idx, func(i, j int) bool { return scores[(b*A+idx[i])*C+c] > scores[(b*A+idx[j])*C+c] })
			if p.TopK > 0 && len(idx) > p.TopK {
				idx = idx[:p.TopK]
			}
			for _, a := range idx {
				cb, cs, cc = append(cb, boxes[a]), append(cs, scores[(b*A+a)*C+c]), append(cc, c)
			}
		}
		keep := BatchedNMS(cb, cs, cc, p.NMS)
		if p.PerImage > 0 && len(keep) > p.PerImage {
			keep = keep[:p.PerImage]
		}
		for _, i := range keep {
			out[b] = append(out[b], Detection{Box: cb[i], Class: cc[i], Score: cs[i]})
		}
	}
	return out, nil
}
