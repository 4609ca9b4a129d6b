package metrics

import (
	"errors"
	"fmt"
	"math"
)

// Box is an axis-aligned rectangle in pixels, in continuous coordinates:
// (X1, Y1) is the top-left corner and (X2, Y2) the bottom-right one, so the
// width is X2−X1 and a box may have zero size but not negative size. This is
// the only convention the detection metrics use; BoxXYWH and BoxVOC convert
// the two annotation formats into it.
type Box struct {
	X1, Y1, X2, Y2 float64
}

// BoxXYWH converts COCO's [x, y, width, height] into a Box.
func BoxXYWH(x, y, w, h float64) Box {
	return Box{X1: x, Y1: y, X2: x + w, Y2: y + h}
}

// BoxVOC converts Pascal VOC's 1-based, inclusive pixel indices
// (xmin..xmax covers xmax−xmin+1 pixels) into a Box, as detectron2's VOC
// loader does. With it, IoU on integer VOC boxes equals the devkit's "+1"
// overlap exactly, so VOC numbers need no convention of their own.
func BoxVOC(xmin, ymin, xmax, ymax float64) Box {
	return Box{X1: xmin - 1, Y1: ymin - 1, X2: xmax, Y2: ymax}
}

// Area is the box's width times its height. Detection metrics use it where
// COCO uses the annotation's (segmentation) area: the area ranges small,
// medium and large are judged on box area here.
func (b Box) Area() float64 {
	return (b.X2 - b.X1) * (b.Y2 - b.Y1)
}

// IoU is the intersection over union of two boxes, computed in the order of
// pycocotools' bbIou so that equal inputs give equal bits. Boxes that only
// touch, or have zero area, have IoU 0.
func (b Box) IoU(o Box) float64 {
	w := math.Min(b.X2, o.X2) - math.Max(b.X1, o.X1)
	if !(w > 0) {
		return 0
	}
	h := math.Min(b.Y2, o.Y2) - math.Max(b.Y1, o.Y1)
	if !(h > 0) {
		return 0
	}
	i := w * h
	return i / (b.Area() + o.Area() - i)
}

// ErrInvalidInput is wrapped by every error the detection metrics return for
// a box or score they cannot evaluate.
var ErrInvalidInput = errors.New("invalid detection metrics input")

// check says why a box cannot be evaluated, or nil.
func (b Box) check() error {
	for _, v := range [...]float64{b.X1, b.Y1, b.X2, b.Y2} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("box %v has a coordinate that is not a finite number", b)
		}
	}
	if b.X2 < b.X1 || b.Y2 < b.Y1 {
		return fmt.Errorf("box %v has x2 < x1 or y2 < y1; boxes are (x1, y1, x2, y2) corners: convert COCO's [x, y, w, h] with BoxXYWH", b)
	}
	if w, h := b.X2-b.X1, b.Y2-b.Y1; math.IsInf(w, 0) || math.IsInf(h, 0) || math.IsInf(w*h, 0) {
		return fmt.Errorf("box %v is too large: its size overflows float64", b)
	}
	return nil
}
