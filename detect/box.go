package detect

import "math"

// Box is (x1, y1, x2, y2) in pixels.
type Box [4]float32

// Area is the box's area; an inverted box has none.
func (b Box) Area() float32 {
	return max(b[2]-b[0], 0) * max(b[3]-b[1], 0)
}

// IoU is the intersection over union of a and b, 0 when they are
// disjoint or both empty (torchvision.ops.box_iou).
func IoU(a, b Box) float32 {
	w := min(a[2], b[2]) - max(a[0], b[0])
	h := min(a[3], b[3]) - max(a[1], b[1])
	if w <= 0 || h <= 0 {
		return 0
	}
	inter := w * h
	return inter / ((a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter)
}

// Coder encodes a box relative to a default box as SSD's regression
// targets: centre offsets in units of the default box's size and log size
// ratios, each multiplied by its weight (the SSD paper's "variances" are
// their reciprocals: 0.1, 0.1, 0.2, 0.2 are weights 10, 10, 5, 5).
type Coder struct {
	Weights [4]float32
	// Clip bounds the decoded log size ratios so exp cannot overflow.
	Clip float32
}

// SSDCoder is SSD's coder: weights (10, 10, 5, 5), log size ratios clipped
// at log(1000/16) as torchvision's BoxCoder does.
var SSDCoder = Coder{Weights: [4]float32{10, 10, 5, 5}, Clip: float32(math.Log(1000.0 / 16))}

// Encode is the regression target of box gt on default box d.
func (c Coder) Encode(gt, d Box) [4]float32 {
	ew, eh := d[2]-d[0], d[3]-d[1]
	ex, ey := d[0]+0.5*ew, d[1]+0.5*eh
	gw, gh := gt[2]-gt[0], gt[3]-gt[1]
	gx, gy := gt[0]+0.5*gw, gt[1]+0.5*gh
	return [4]float32{
		c.Weights[0] * (gx - ex) / ew,
		c.Weights[1] * (gy - ey) / eh,
		c.Weights[2] * float32(math.Log(float64(gw/ew))),
		c.Weights[3] * float32(math.Log(float64(gh/eh))),
	}
}

// Decode is the box that regression output code describes on default box
// d.
func (c Coder) Decode(code [4]float32, d Box) Box {
	w, h := d[2]-d[0], d[3]-d[1]
	cx, cy := d[0]+0.5*w, d[1]+0.5*h
	dx, dy := code[0]/c.Weights[0], code[1]/c.Weights[1]
	dw, dh := min(code[2]/c.Weights[2], c.Clip), min(code[3]/c.Weights[3], c.Clip)
	px, py := dx*w+cx, dy*h+cy
	pw, ph := float32(math.Exp(float64(dw)))*w, float32(math.Exp(float64(dh)))*h
	hw, hh := 0.5*pw, 0.5*ph
	return Box{px - hw, py - hh, px + hw, py + hh}
}

// Clip keeps b inside an image of the given size.
func (b Box) Clip(height, width int) Box {
	h, w := float32(height), float32(width)
	return Box{min(max(b[0], 0), w), min(max(b[1], 0), h), min(max(b[2], 0), w), min(max(b[3], 0), h)}
}
