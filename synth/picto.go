package synth

import "math"

// Pictograms draw in a [-1,1] box (y down) that the caller has placed with
// p.loc. Warning pictograms paint themselves black; arrows for blue signs
// paint white.

// arcPts appends a circular arc from a0 to a1 degrees (0 = right, 90 = down).
func arcPts(dst []pt, cx, cy, r, a0, a1 float64) []pt {
	return superArc(dst, cx, cy, r, r, a0, a1, 2, 8)
}

// arrow strokes pts with width w and ends it in a head; the shaft stops
// inside the head so the tip is sharp. It adds to the current path only.
func arrow(p *painter, pts []pt, w float64, head int) {
	n := len(pts)
	tip, prev := pts[n-1], pts[n-2]
	dx, dy := tip.x-prev.x, tip.y-prev.y
	l := math.Hypot(dx, dy)
	dx, dy = dx/l, dy/l
	hl, hw, notch := 2.0*w, 1.5*w, 0.0
	if head == 1 {
		hl, hw, notch = 2.4*w, 1.2*w, 0.7*w
	}
	shaft := append([]pt(nil), pts...)
	back := min(hl*0.8, l)
	shaft[n-1] = pt{tip.x - dx*back, tip.y - dy*back}
	p.stroke(shaft, w, false)
	bx, by := tip.x-dx*hl, tip.y-dy*hl
	nx, ny := -dy*hw, dx*hw
	head4 := []pt{tip, {bx + nx, by + ny}, {bx + dx*notch, by + dy*notch}, {bx - nx, by - ny}}
	p.poly(head4, false)
}

func pictoExclamation(p *painter, st *Style) {
	p.poly([]pt{{-0.15, -0.9}, {0.15, -0.9}, {0.07, 0.38}, {-0.07, 0.38}}, false)
	p.circle(0, 0.7, 0.16, false)
	p.paint(st.Black)
}

// mirrored runs draw with the local frame flipped left-right.
func mirrored(p *painter, mirror bool, draw func()) {
	saved := p.loc
	if mirror {
		p.loc = affine{a: -1, e: 1}.then(p.loc)
	}
	draw()
	p.loc = saved
}

func pictoCurve(right bool) func(p *painter, st *Style) {
	return func(p *painter, st *Style) {
		mirrored(p, right, func() {
			path := []pt{{0.2, 0.95}, {0.2, 0.15}}
			path = arcPts(path, -0.35, 0.15, 0.55, 0, -65)
			w := 0.24
			if st.CurveHead {
				path = append(path, pt{-0.45, -0.72})
				arrow(p, path, w, st.ArrowHead)
			} else {
				path = append(path, pt{-0.5, -0.8})
				p.stroke(path, w*1.1, false)
			}
			p.paint(st.Black)
		})
	}
}

func pictoDoubleCurve(p *painter, st *Style) {
	path := []pt{{0.15, 0.95}, {0.15, 0.55}}
	path = arcPts(path, -0.35, 0.55, 0.5, 0, -45)
	q := path[len(path)-1]
	c2 := pt{2*q.x + 0.35, 2*q.y - 0.55}
	path = arcPts(path, c2.x, c2.y, 0.5, 135, 180)
	end := path[len(path)-1]
	path = append(path, pt{end.x, -0.85})
	w := 0.2
	if st.CurveHead {
		arrow(p, path, w, st.ArrowHead)
	} else {
		p.stroke(path, w*1.1, false)
	}
	p.paint(st.Black)
}

// pictoWalker adds a pedestrian (facing left) to the current path.
func pictoWalker(p *painter, st *Style, variant int) {
	if variant == 1 {
		p.circle(0.02, -0.7, 0.16, false)
		p.rect(-0.24, -0.88, 0.26, -0.82)
		p.rect(-0.13, -1.0, 0.15, -0.86)
		p.poly([]pt{{-0.15, -0.54}, {0.17, -0.54}, {0.32, 0.28}, {-0.3, 0.28}}, false)
		p.stroke([]pt{{-0.1, 0.2}, {-0.28, 0.92}, {-0.42, 0.92}}, 0.13, true)
		p.stroke([]pt{{0.1, 0.2}, {0.22, 0.92}}, 0.13, true)
		p.stroke([]pt{{-0.08, -0.45}, {-0.34, 0.02}}, 0.12, true)
		p.stroke([]pt{{0.1, -0.45}, {0.36, -0.02}}, 0.12, true)
		return
	}
	p.circle(-0.06, -0.78, 0.17, false)
	p.stroke([]pt{{0, -0.52}, {0.08, 0.1}}, 0.26, true)
	p.stroke([]pt{{0.08, 0.1}, {-0.16, 0.5}, {-0.36, 0.9}}, 0.18, true)
	p.stroke([]pt{{0.08, 0.1}, {0.26, 0.52}, {0.36, 0.92}, {0.5, 0.92}}, 0.18, true)
	p.stroke([]pt{{-0.01, -0.42}, {-0.26, -0.14}, {-0.36, 0.1}}, 0.13, true)
	p.stroke([]pt{{0.01, -0.42}, {0.26, -0.16}, {0.36, 0.08}}, 0.13, true)
}

func pictoWalkerSign(p *painter, st *Style) {
	pictoWalker(p, st, st.Walker)
	p.paint(st.Black)
}

func pictoChildren(p *painter, st *Style) {
	parent := p.loc
	p.loc = affine{a: 0.62, e: 0.62, c: -0.34, f: 0.05}.then(parent)
	pictoWalker(p, st, st.Walker)
	p.loc = affine{a: 0.46, e: 0.46, c: 0.42, f: 0.34}.then(parent)
	pictoWalker(p, st, st.Walker)
	p.loc = parent
	p.stroke([]pt{{-0.12, -0.08}, {0.22, 0.2}}, 0.08, true)
	p.paint(st.Black)
}

func pictoWorker(p *painter, st *Style) {
	// Spoil heap, digger bent over a shovel.
	heap := []pt{{-0.98, 0.95}}
	heap = arcPts(heap, -0.6, 0.95, 0.38, 180, 360)
	p.poly(heap, false)
	p.circle(0.0, -0.62, 0.17, false)
	if st.Walker == 1 {
		p.rect(-0.22, -0.78, 0.22, -0.72)
		p.rect(-0.12, -0.9, 0.14, -0.76)
	}
	p.stroke([]pt{{0.12, -0.38}, {0.42, 0.18}}, 0.26, true)
	p.stroke([]pt{{0.42, 0.18}, {0.2, 0.55}, {0.14, 0.93}}, 0.17, true)
	p.stroke([]pt{{0.42, 0.18}, {0.64, 0.56}, {0.72, 0.93}}, 0.17, true)
	p.stroke([]pt{{0.12, -0.32}, {-0.12, -0.02}, {-0.28, 0.12}}, 0.13, true)
	p.stroke([]pt{{-0.02, -0.38}, {-0.5, 0.5}}, 0.07, true)
	p.poly([]pt{{-0.6, 0.4}, {-0.38, 0.52}, {-0.5, 0.75}, {-0.72, 0.62}}, false)
	p.paint(st.Black)
}

func pictoTrafficLight(p *painter, st *Style) {
	p.roundRect(-0.32, -0.98, 0.32, 0.98, 0.12)
	p.paint(st.Black)
	for i, c := range []RGB{st.Red, st.Amber, st.Green} {
		p.circle(0, -0.6+0.6*float64(i), 0.21, false)
		p.paint(c)
	}
}

func pictoNarrows(p *painter, st *Style) {
	for _, s := range []float64{-1, 1} {
		p.stroke([]pt{{0.46 * s, 0.95}, {0.46 * s, 0.35}, {0.18 * s, -0.1}, {0.18 * s, -0.85}}, 0.15, false)
	}
	p.paint(st.Black)
}

func pictoBumps(p *painter, st *Style) {
	path := []pt{{-0.9, 0.72}}
	path = arcPts(path, -0.45, 0.62, 0.45, 180, 360)
	path = arcPts(path, 0.45, 0.62, 0.45, 180, 360)
	path = append(path, pt{0.9, 0.72})
	p.poly(path, false)
	p.paint(st.Black)
}

func pictoIntersection(p *painter, st *Style) {
	p.rect(-0.13, -0.9, 0.13, 0.92)
	p.rect(-0.66, -0.16, 0.66, 0.0)
	p.paint(st.Black)
}

func pictoElk(p *painter, st *Style) {
	p.ellipse(0.18, -0.05, 0.55, 0.3, false)
	p.poly([]pt{{-0.2, -0.28}, {-0.55, -0.5}, {-0.9, -0.38}, {-0.9, -0.22}, {-0.56, -0.22}, {-0.26, 0.08}}, false)
	for _, l := range [][2]pt{{{-0.18, 0.1}, {-0.26, 0.9}}, {{0.0, 0.15}, {-0.02, 0.9}}, {{0.44, 0.12}, {0.46, 0.9}}, {{0.62, 0.05}, {0.72, 0.9}}} {
		p.stroke(l[:], 0.1, true)
	}
	p.stroke([]pt{{-0.55, -0.45}, {-0.45, -0.82}}, 0.07, true)
	p.stroke([]pt{{-0.5, -0.62}, {-0.75, -0.82}}, 0.07, true)
	p.stroke([]pt{{-0.47, -0.7}, {-0.28, -0.88}}, 0.07, true)
	p.paint(st.Black)
}

// pictoCar adds a car seen from behind, its window in bg.
func pictoCar(p *painter, st *Style, col, bg RGB) {
	if st.Car == 1 {
		p.roundRect(-0.92, -0.12, 0.92, 0.55, 0.22)
		cab := []pt{{-0.78, -0.08}}
		cab = superArc(cab, 0, -0.08, 0.72, 0.62, 180, 360, 2, 8)
		p.poly(cab, false)
		p.roundRect(-0.84, 0.4, -0.48, 0.86, 0.12)
		p.roundRect(0.48, 0.4, 0.84, 0.86, 0.12)
		p.paint(col)
		win := []pt{{-0.56, -0.16}}
		win = superArc(win, 0, -0.16, 0.54, 0.42, 180, 360, 2, 8)
		p.poly(win, false)
		p.paint(bg)
		return
	}
	p.roundRect(-0.9, -0.1, 0.9, 0.55, 0.08)
	p.poly([]pt{{-0.62, -0.72}, {0.62, -0.72}, {0.8, -0.08}, {-0.8, -0.08}}, false)
	p.rect(-0.84, 0.45, -0.5, 0.88)
	p.rect(0.5, 0.45, 0.84, 0.88)
	p.paint(col)
	p.poly([]pt{{-0.5, -0.6}, {0.5, -0.6}, {0.62, -0.2}, {-0.62, -0.2}}, false)
	p.paint(bg)
}

func pictoRoundabout(p *painter, st *Style) {
	for k := range 3 {
		a0 := 90 + 120*float64(k) + 10
		path := arcPts(nil, 0, 0, 0.6, a0, a0-85)
		arrow(p, path, st.ArrowWidth*0.85, st.ArrowHead)
	}
	p.paint(st.White)
}

func pictoKeep(left bool) func(p *painter, st *Style) {
	return func(p *painter, st *Style) {
		mirrored(p, left, func() {
			arrow(p, []pt{{-0.55, -0.55}, {0.6, 0.6}}, st.ArrowWidth*1.1, st.ArrowHead)
			p.paint(st.White)
		})
	}
}

func pictoAhead(p *painter, st *Style) {
	arrow(p, []pt{{0, 0.9}, {0, -0.9}}, st.ArrowWidth*1.1, st.ArrowHead)
	p.paint(st.White)
}

func pictoTurn(left bool) func(p *painter, st *Style) {
	return func(p *painter, st *Style) {
		mirrored(p, left, func() {
			path := []pt{{-0.3, 0.9}, {-0.3, 0.05}}
			path = arcPts(path, 0.12, 0.05, 0.42, 180, 270)
			path = append(path, pt{0.85, -0.37})
			arrow(p, path, st.ArrowWidth*1.1, st.ArrowHead)
			p.paint(st.White)
		})
	}
}

func pictoUTurn(p *painter, st *Style) {
	path := []pt{{0.38, 0.85}, {0.38, -0.2}}
	path = arcPts(path, 0, -0.2, 0.38, 0, -180)
	path = append(path, pt{-0.38, 0.55})
	arrow(p, path, 0.2, st.ArrowHead)
	p.paint(st.Black)
}
