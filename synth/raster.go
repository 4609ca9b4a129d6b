package synth

import (
	"image"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// painter fills vector paths into a float RGB canvas. Each paint call
// rasterises the collected subpaths into an 8-bit coverage mask with
// golang.org/x/image/vector and blends one colour through it, so a sign is a
// handful of painter's-algorithm layers. Coverage accumulates as |winding|
// clamped to 1: subpaths with the same orientation unite (that is how strokes
// are built from quads) and opposite ones cut holes.
//
// A painter is scratch space owned by one render at a time (see scratchPool);
// it allocates nothing per pixel.
type painter struct {
	z    vector.Rasterizer
	mask image.Alpha
	w, h int
	cv   []float32 // 3 planes of w*h, sRGB in [0,1]

	pose pose
	loc  affine // local drawing frame -> sign units

	// bounding box of the current path in pixels, to limit blending
	x0, y0, x1, y1 float64
	empty          bool

	tmp  []pt // polygon scratch
	tmp2 []pt
}

func (p *painter) resize(w, h int) {
	p.w, p.h = w, h
	if n := 3 * w * h; cap(p.cv) < n {
		p.cv = make([]float32, n)
	} else {
		p.cv = p.cv[:n]
	}
	if cap(p.mask.Pix) < w*h {
		p.mask.Pix = make([]uint8, w*h)
	}
	p.mask.Pix = p.mask.Pix[:w*h]
	p.mask.Stride = w
	p.mask.Rect = image.Rect(0, 0, w, h)
	p.begin()
}

// begin starts a new path.
func (p *painter) begin() {
	p.z.Reset(p.w, p.h)
	p.z.DrawOp = draw.Src
	p.empty = true
}

// pxScale is the number of pixels per local unit, for choosing how finely to
// sample curves.
func (p *painter) pxScale() float64 { return p.loc.scaleOf() * p.pose.scale }

func (p *painter) project(q pt) (float32, float32) {
	x, y := p.loc.apply(q.x, q.y)
	x, y = p.pose.apply(x, y)
	if p.empty {
		p.x0, p.y0, p.x1, p.y1 = x, y, x, y
		p.empty = false
	} else {
		p.x0, p.y0 = math.Min(p.x0, x), math.Min(p.y0, y)
		p.x1, p.y1 = math.Max(p.x1, x), math.Max(p.y1, y)
	}
	return float32(x), float32(y)
}

// poly adds the closed polygon pts (local frame). hole reverses it so it cuts
// out of the positive shapes added to the same path.
func (p *painter) poly(pts []pt, hole bool) {
	if len(pts) < 3 {
		return
	}
	reverse := (signedArea(pts) < 0) != hole
	n := len(pts)
	at := func(i int) pt {
		if reverse {
			return pts[n-1-i]
		}
		return pts[i]
	}
	x, y := p.project(at(0))
	p.z.MoveTo(x, y)
	for i := 1; i < n; i++ {
		x, y = p.project(at(i))
		p.z.LineTo(x, y)
	}
	p.z.ClosePath()
}

// segments picks how many segments a full circle of local radius r needs so
// the polygon stays within a fraction of a pixel of the true curve.
func (p *painter) segments(r float64) int {
	rp := r * p.pxScale()
	n := int(math.Pi*math.Sqrt(rp/0.3)) + 1
	return min(max(n, 8), 96)
}

func (p *painter) ellipse(cx, cy, rx, ry float64, hole bool) {
	n := p.segments(math.Max(rx, ry))
	p.tmp = p.tmp[:0]
	for i := range n {
		s, c := math.Sincos(2 * math.Pi * float64(i) / float64(n))
		p.tmp = append(p.tmp, pt{cx + rx*c, cy + ry*s})
	}
	p.poly(p.tmp, hole)
}

func (p *painter) circle(cx, cy, r float64, hole bool) { p.ellipse(cx, cy, r, r, hole) }

// rect adds an axis-aligned rectangle in the local frame.
func (p *painter) rect(x0, y0, x1, y1 float64) {
	p.tmp = append(p.tmp[:0], pt{x0, y0}, pt{x1, y0}, pt{x1, y1}, pt{x0, y1})
	p.poly(p.tmp, false)
}

// stroke adds a polyline of width w as quads joined by pie slices on the
// outer side of every turn, so curves stay smooth without per-vertex discs.
// caps adds round ends; arrows want flat tails and pass false.
func (p *painter) stroke(pts []pt, w float64, caps bool) {
	hw := w / 2
	var prevDir pt
	for i := 0; i+1 < len(pts); i++ {
		a, b := pts[i], pts[i+1]
		dx, dy := b.x-a.x, b.y-a.y
		l := math.Hypot(dx, dy)
		if l < 1e-9 {
			continue
		}
		dx, dy = dx/l, dy/l
		nx, ny := -dy*hw, dx*hw
		p.tmp2 = append(p.tmp2[:0], pt{a.x + nx, a.y + ny}, pt{b.x + nx, b.y + ny}, pt{b.x - nx, b.y - ny}, pt{a.x - nx, a.y - ny})
		p.poly(p.tmp2, false)
		if prevDir != (pt{}) {
			p.join(a, prevDir, pt{dx, dy}, hw)
		} else if caps {
			p.cap(a, pt{-dx, -dy}, hw)
		}
		prevDir = pt{dx, dy}
	}
	if caps && prevDir != (pt{}) {
		p.cap(pts[len(pts)-1], prevDir, hw)
	}
}

// join fills the wedge a turn leaves open on its outer side.
func (p *painter) join(c, d0, d1 pt, hw float64) {
	cross := d0.x*d1.y - d0.y*d1.x
	dot := d0.x*d1.x + d0.y*d1.y
	turn := math.Atan2(cross, dot)
	if math.Abs(turn) < 1e-3 {
		return
	}
	// The outer side is opposite to the turn direction.
	side := -1.0
	if turn < 0 {
		side = 1
	}
	a0 := math.Atan2(d0.x*side, -d0.y*side) // angle of the normal on that side
	steps := int(math.Abs(turn)/(math.Pi/8)) + 1
	p.tmp2 = append(p.tmp2[:0], c)
	for k := 0; k <= steps; k++ {
		a := a0 + turn*float64(k)/float64(steps)
		s, co := math.Sincos(a)
		p.tmp2 = append(p.tmp2, pt{c.x + hw*co, c.y + hw*s})
	}
	p.poly(p.tmp2, false)
}

// cap adds a half disc at c facing direction d.
func (p *painter) cap(c, d pt, hw float64) {
	a0 := math.Atan2(d.y, d.x) - math.Pi/2
	steps := 6
	p.tmp2 = p.tmp2[:0]
	for k := 0; k <= steps; k++ {
		s, co := math.Sincos(a0 + math.Pi*float64(k)/float64(steps))
		p.tmp2 = append(p.tmp2, pt{c.x + hw*co, c.y + hw*s})
	}
	p.poly(p.tmp2, false)
}

// paint blends col through the current path's coverage and starts a new path.
func (p *painter) paint(col RGB) { p.paintAlpha(col, 1) }

func (p *painter) paintAlpha(col RGB, alpha float32) {
	if p.empty {
		p.begin()
		return
	}
	p.z.Draw(&p.mask, p.mask.Rect, image.Opaque, image.Point{})
	x0 := max(int(math.Floor(p.x0))-1, 0)
	y0 := max(int(math.Floor(p.y0))-1, 0)
	x1 := min(int(math.Ceil(p.x1))+1, p.w)
	y1 := min(int(math.Ceil(p.y1))+1, p.h)
	n := p.w * p.h
	r, g, b := p.cv[:n], p.cv[n:2*n], p.cv[2*n:3*n]
	k := alpha / 255
	for y := y0; y < y1; y++ {
		row := y * p.w
		for x := x0; x < x1; x++ {
			m := p.mask.Pix[row+x]
			if m == 0 {
				continue
			}
			a := float32(m) * k
			i := row + x
			r[i] += (col.R - r[i]) * a
			g[i] += (col.G - g[i]) * a
			b[i] += (col.B - b[i]) * a
		}
	}
	p.begin()
}
