package synth

import "math"

// pt is a point in whatever frame the caller is drawing in: glyph boxes,
// pictogram boxes or sign units (the sign spans [-1,1] on both axes, y down).
type pt struct{ x, y float64 }

// affine places a local drawing frame (a pictogram, a glyph) inside the sign:
// x' = a*x + b*y + c, y' = d*x + e*y + f.
type affine struct{ a, b, c, d, e, f float64 }

var identity = affine{a: 1, e: 1}

func (m affine) apply(x, y float64) (float64, float64) {
	return m.a*x + m.b*y + m.c, m.d*x + m.e*y + m.f
}

// then returns the transform that applies m first and n second.
func (m affine) then(n affine) affine {
	return affine{
		a: n.a*m.a + n.b*m.d, b: n.a*m.b + n.b*m.e, c: n.a*m.c + n.b*m.f + n.c,
		d: n.d*m.a + n.e*m.d, e: n.d*m.b + n.e*m.e, f: n.d*m.c + n.e*m.f + n.f,
	}
}

// scaleOf is the linear size factor of m, used to pick arc resolutions.
func (m affine) scaleOf() float64 { return math.Sqrt(math.Abs(m.a*m.e - m.b*m.d)) }

// place maps a [-1,1] pictogram box to a box of half-size s centred at
// (cx, cy) in the enclosing frame.
func place(cx, cy, s float64) affine { return affine{a: s, c: cx, e: s, f: cy} }

// pose maps sign units to canvas pixels through an in-plane rotation, an
// out-of-plane tilt and a pinhole projection. Perspective is applied to the
// vector outlines before rasterisation, so it costs no resampling pass and
// edges stay sharp.
type pose struct {
	r00, r01, r10, r11, r20, r21 float64 // first two columns of the rotation
	dist                         float64 // camera distance in sign radii
	scale                        float64 // pixels per sign unit at the centre
	cx, cy                       float64 // sign centre in pixels
}

func newPose(cx, cy, scale, rollDeg, yawDeg, pitchDeg float64) pose {
	sr, cr := math.Sincos(rollDeg * math.Pi / 180)
	sy, cy2 := math.Sincos(yawDeg * math.Pi / 180)
	sp, cp := math.Sincos(pitchDeg * math.Pi / 180)
	// R = Rx(pitch) * Ry(yaw) * Rz(roll); only the columns for the sign's
	// x and y axes matter because the sign is flat.
	// Rz columns: (cr, sr, 0), (-sr, cr, 0).
	// Ry: x' = cy*x + sy*z, z' = -sy*x + cy*z.
	// Rx: y' = cp*y - sp*z, z' = sp*y + cp*z.
	col := func(x, y float64) (float64, float64, float64) {
		x1, z1 := cy2*x, -sy*x
		y2, z2 := cp*y-sp*z1, sp*y+cp*z1
		return x1, y2, z2
	}
	a0, a1, a2 := col(cr, sr)
	b0, b1, b2 := col(-sr, cr)
	return pose{r00: a0, r10: a1, r20: a2, r01: b0, r11: b1, r21: b2, dist: 4, scale: scale, cx: cx, cy: cy}
}

func (p *pose) apply(x, y float64) (float64, float64) {
	X := p.r00*x + p.r01*y
	Y := p.r10*x + p.r11*y
	Z := p.r20*x + p.r21*y
	den := p.dist + Z
	if den < 0.5 {
		den = 0.5 // points behind the camera never occur for sane tilts; stay finite anyway
	}
	k := p.dist / den
	return p.cx + p.scale*X*k, p.cy + p.scale*Y*k
}

// superArc samples an arc of a superellipse centred at (cx, cy) with radii
// rx, ry from angle a0 to a1 (degrees, 0 = right, 90 = down). exp 2 gives an
// ellipse; larger exponents square the arc off, which is how the stroke fonts
// get their different bowls from one set of glyph outlines. steps is the
// number of segments per quarter turn.
func superArc(dst []pt, cx, cy, rx, ry, a0, a1, exp float64, steps int) []pt {
	n := int(math.Ceil(math.Abs(a1-a0) / 90 * float64(steps)))
	if n < 1 {
		n = 1
	}
	for i := 0; i <= n; i++ {
		a := (a0 + (a1-a0)*float64(i)/float64(n)) * math.Pi / 180
		s, c := math.Sincos(a)
		x, y := superCoord(c, exp), superCoord(s, exp)
		dst = append(dst, pt{cx + rx*x, cy + ry*y})
	}
	return dst
}

func superCoord(v, exp float64) float64 {
	if exp == 2 {
		return v
	}
	r := math.Pow(math.Abs(v), 2/exp)
	if v < 0 {
		return -r
	}
	return r
}

// regular returns the vertices of a regular n-gon of circumradius r whose
// first vertex sits at angle a0 degrees.
func regular(n int, r, a0 float64) []pt {
	out := make([]pt, n)
	for i := range out {
		s, c := math.Sincos((a0 + 360*float64(i)/float64(n)) * math.Pi / 180)
		out[i] = pt{r * c, r * s}
	}
	return out
}

// inset moves every edge of the convex polygon poly inwards by d. It is how
// borders are made: the sign outline in border colour, the inset outline in
// fill colour on top.
func inset(poly []pt, d float64) []pt {
	n := len(poly)
	out := make([]pt, n)
	cw := signedArea(poly) < 0
	for i := range poly {
		p0, p1, p2 := poly[(i+n-1)%n], poly[i], poly[(i+1)%n]
		n1 := inwardNormal(p0, p1, cw)
		n2 := inwardNormal(p1, p2, cw)
		// The new vertex lies on both offset edges: along the bisector, at
		// distance d / cos(half the turn).
		bx, by := n1.x+n2.x, n1.y+n2.y
		k := d / (1 + n1.x*n2.x + n1.y*n2.y)
		out[i] = pt{p1.x + bx*k, p1.y + by*k}
	}
	return out
}

func inwardNormal(a, b pt, cw bool) pt {
	dx, dy := b.x-a.x, b.y-a.y
	l := math.Hypot(dx, dy)
	if l == 0 {
		return pt{}
	}
	// For positive signed area the interior lies on the side the edge
	// direction turns towards when rotated by +90 degrees; cw is the other.
	if cw {
		return pt{dy / l, -dx / l}
	}
	return pt{-dy / l, dx / l}
}

func signedArea(poly []pt) float64 {
	var s float64
	for i := range poly {
		a, b := poly[i], poly[(i+1)%len(poly)]
		s += a.x*b.y - b.x*a.y
	}
	return s / 2
}

// rounded returns the convex polygon poly with corners rounded to radius r:
// the polygon inset by r, grown back by a disc of radius r.
func rounded(poly []pt, r float64) []pt {
	if r <= 0 {
		return poly
	}
	core := inset(poly, r)
	n := len(core)
	cw := signedArea(poly) < 0
	out := make([]pt, 0, n*8)
	for i := range core {
		p0, p1, p2 := poly[(i+n-1)%n], poly[i], poly[(i+1)%n]
		n1 := inwardNormal(p0, p1, cw)
		n2 := inwardNormal(p1, p2, cw)
		a0 := math.Atan2(-n1.y, -n1.x)
		a1 := math.Atan2(-n2.y, -n2.x)
		if cw {
			for a1 > a0 {
				a1 -= 2 * math.Pi
			}
		} else {
			for a1 < a0 {
				a1 += 2 * math.Pi
			}
		}
		steps := int(math.Ceil(math.Abs(a1-a0)/(math.Pi/12))) + 1
		for k := 0; k <= steps; k++ {
			a := a0 + (a1-a0)*float64(k)/float64(steps)
			s, c := math.Sincos(a)
			out = append(out, pt{core[i].x + r*c, core[i].y + r*s})
		}
	}
	return out
}

// clipToConvex clips segment ab to the convex polygon poly (Cyrus-Beck) and
// reports whether anything is left. Stripes on end-of-restriction signs use
// it to stay inside their disc or diamond.
func clipToConvex(a, b pt, poly []pt) (pt, pt, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := b.x-a.x, b.y-a.y
	cw := signedArea(poly) < 0
	n := len(poly)
	for i := range poly {
		p, q := poly[i], poly[(i+1)%n]
		nrm := inwardNormal(p, q, cw)
		num := (a.x-p.x)*nrm.x + (a.y-p.y)*nrm.y
		den := dx*nrm.x + dy*nrm.y
		if den == 0 {
			if num < 0 {
				return a, b, false
			}
			continue
		}
		t := -num / den
		if den > 0 {
			t0 = math.Max(t0, t)
		} else {
			t1 = math.Min(t1, t)
		}
		if t0 > t1 {
			return a, b, false
		}
	}
	return pt{a.x + dx*t0, a.y + dy*t0}, pt{a.x + dx*t1, a.y + dy*t1}, true
}
