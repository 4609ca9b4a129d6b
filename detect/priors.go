package detect

import (
	"fmt"
	"math"
)

// DefaultBoxes tiles default boxes ("priors", "anchors") over a detector's
// feature maps, as the SSD paper's section 2.2 and torchvision's
// DefaultBoxGenerator do: at every cell of feature map k, a square box of
// scale s_k, one of scale √(s_k·s_(k+1)), and for every aspect ratio r of
// map k a pair of boxes s_k·√r × s_k/√r and its transpose. Scales are
// fractions of the image side.
type DefaultBoxes struct {
	AspectRatios [][]int   // per feature map
	Scales       []float64 // one per feature map, and one more
	// Steps, when set, are each map's stride in pixels (the cell centres'
	// spacing); otherwise the cells divide the image evenly.
	Steps []int
	// Clip keeps every box's width and height within the image (the boxes
	// may still reach past its edges).
	Clip bool
}

// NewDefaultBoxes spreads the scales evenly from minRatio to maxRatio over
// the maps, with 1 as the last map's second scale (torchvision's rule when
// no scales are given).
func NewDefaultBoxes(aspectRatios [][]int, minRatio, maxRatio float64) DefaultBoxes {
	n := len(aspectRatios)
	var scales []float64
	if n > 1 {
		for k := range n {
			scales = append(scales, minRatio+(maxRatio-minRatio)*float64(k)/(float64(n)-1))
		}
		scales = append(scales, 1)
	} else {
		scales = []float64{minRatio, maxRatio}
	}
	return DefaultBoxes{AspectRatios: aspectRatios, Scales: scales, Clip: true}
}

// SSD300Boxes are SSD300's (VGG-16) default boxes: 8,732 over maps of
// 38, 19, 10, 5, 3 and 1 cells.
func SSD300Boxes() DefaultBoxes {
	return DefaultBoxes{AspectRatios: [][]int{{2}, {2, 3}, {2, 3}, {2, 3}, {2}, {2}},
		Scales: []float64{0.07, 0.15, 0.33, 0.51, 0.69, 0.87, 1.05}, Steps: []int{8, 16, 32, 64, 100, 300}, Clip: true}
}

// SSDLiteBoxes are SSDLite's default boxes (ratios 2 and 3 on six maps,
// scales 0.2 to 0.95).
func SSDLiteBoxes() DefaultBoxes {
	ars := make([][]int, 6)
	for i := range ars {
		ars[i] = []int{2, 3}
	}
	return NewDefaultBoxes(ars, 0.2, 0.95)
}

// PerCell is the number of default boxes at each cell of each map: what
// a detector's heads predict per cell.
func (d DefaultBoxes) PerCell() []int {
	out := make([]int, len(d.AspectRatios))
	for i, r := range d.AspectRatios {
		out[i] = 2 + 2*len(r)
	}
	return out
}

// Validate checks that the configuration describes boxes.
func (d DefaultBoxes) Validate() error {
	n := len(d.AspectRatios)
	switch {
	case n == 0:
		return fmt.Errorf("default boxes: no feature maps")
	case len(d.Scales) != n+1:
		return fmt.Errorf("default boxes: %d feature maps need %d scales, got %d", n, n+1, len(d.Scales))
	case d.Steps != nil && len(d.Steps) != n:
		return fmt.Errorf("default boxes: %d feature maps, %d steps", n, len(d.Steps))
	}
	for k, s := range d.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("default boxes: scale %d is %g; scales are positive fractions of the image", k, s)
		}
	}
	for k, rs := range d.AspectRatios {
		for _, r := range rs {
			if r < 1 {
				return fmt.Errorf("default boxes: map %d has aspect ratio %d; ratios are 1 or more (each adds a box and its transpose)", k, r)
			}
		}
	}
	return nil
}

// Boxes are the default boxes for feature maps of grids[k] = (rows,
// columns) cells on an image of height × width pixels, in the order a
// detector's heads predict them: map by map, cell by cell (row-major),
// the boxes of a cell in PerCell's order.
func (d DefaultBoxes) Boxes(grids [][2]int, height, width int) ([]Box, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	if len(grids) != len(d.AspectRatios) {
		return nil, fmt.Errorf("default boxes: %d feature maps configured, %d given", len(d.AspectRatios), len(grids))
	}
	var out []Box
	W, H := float32(width), float32(height)
	for k, g := range grids {
		// The width-height pairs in float64, then float32, as
		// torchvision builds them.
		sk, sk1 := d.Scales[k], d.Scales[k+1]
		s2 := math.Sqrt(sk * sk1)
		wh := [][2]float64{{sk, sk}, {s2, s2}}
		for _, r := range d.AspectRatios[k] {
			q := math.Sqrt(float64(r))
			wh = append(wh, [2]float64{sk * q, sk / q}, [2]float64{sk / q, sk * q})
		}
		pairs := make([][2]float32, len(wh))
		for i, p := range wh {
			w, h := float32(p[0]), float32(p[1])
			if d.Clip {
				w, h = min(max(w, 0), 1), min(max(h, 0), 1)
			}
			pairs[i] = [2]float32{w, h}
		}
		fx, fy := float32(g[1]), float32(g[0])
		if d.Steps != nil {
			fx, fy = float32(float64(width)/float64(d.Steps[k])), float32(float64(height)/float64(d.Steps[k]))
		}
		for y := range g[0] {
			cy := (float32(y) + 0.5) / fy
			for x := range g[1] {
				cx := (float32(x) + 0.5) / fx
				for _, p := range pairs {
					out = append(out, Box{(cx - 0.5*p[0]) * W, (cy - 0.5*p[1]) * H, (cx + 0.5*p[0]) * W, (cy + 0.5*p[1]) * H})
				}
			}
		}
	}
	return out, nil
}
