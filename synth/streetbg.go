package synth

import "math"

// streetBackground paints the street behind the signs: sky with clouds,
// a row of buildings with windows along the horizon, pavement and verge,
// the road in perspective with its markings, trees, and clutter (parked
// cars, lamp posts, boards with round logos, bins). Round red and blue
// logos and tail lights are there on purpose: a detector must learn signs,
// not "round and red". Difficulty adds clutter; everything else is always
// there, because a street is the point of a scene.
func streetBackground(sc *streetScratch, l *streetLayout, d float64) {
	p := &sc.p
	r := sc.trng
	w, h := p.w, p.h
	n := w * h
	cv := p.cv
	hz := int(math.Round(l.horizon))

	// Sky: blue overhead to haze at the horizon, value-noise clouds.
	top := RGB{float32(uniform(r, 0.25, 0.45)), float32(uniform(r, 0.45, 0.62)), float32(uniform(r, 0.75, 0.92))}
	haze := RGB{0.82, 0.85, 0.88}
	cloudy := float32(uniform(r, 0.35, 0.75))
	sc.field = valueNoise(sc.field, &sc.lat, r, w, max(hz, 1), 6)
	for y := range min(hz, h) {
		base := mixRGB(top, haze, float32(y)/float32(max(hz, 1)))
		for x := range w {
			col := base
			if c := clamp01((sc.field[y*w+x] - cloudy) * 3); c > 0 {
				col = mixRGB(col, RGB{0.95, 0.95, 0.96}, c*0.85)
			}
			i := y*w + x
			cv[i], cv[n+i], cv[2*n+i] = col.R, col.G, col.B
		}
	}
	// Ground: a grass or gravel verge with grain.
	verge := RGB{float32(uniform(r, 0.3, 0.45)), float32(uniform(r, 0.4, 0.5)), float32(uniform(r, 0.22, 0.32))}
	sc.field = valueNoise(sc.field, &sc.lat, r, w, h, 40)
	for y := max(hz, 0); y < h; y++ {
		for x := range w {
			i := y*w + x
			k := 0.8 + 0.4*sc.field[i]
			cv[i], cv[n+i], cv[2*n+i] = verge.R*k, verge.G*k, verge.B*k
		}
	}

	// Buildings stand on the horizon, a few with gaps between them.
	ground := min(hz+int(0.03*float64(h)), h)
	for x := -int(uniform(r, 0, 0.2) * float64(w)); x < w; {
		bw := int(uniform(r, 0.1, 0.3) * float64(w))
		bh := int(uniform(r, 0.3, 0.95) * l.horizon)
		gap := r.Float64() < 0.2
		facade := lerpRGB(RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())}, RGB{0.62, 0.58, 0.52}, 0.6)
		win := RGB{float32(uniform(r, 0.1, 0.3)), float32(uniform(r, 0.15, 0.3)), float32(uniform(r, 0.2, 0.4))}
		rows, cols := 2+r.IntN(6), 2+r.IntN(5)
		if !gap {
			fillRect(cv, w, h, x, ground-bh, x+bw, ground, facade)
			ch, cw := float64(bh)/float64(rows), float64(bw)/float64(cols)
			if ch >= 4 && cw >= 4 {
				for i := range rows {
					for j := range cols {
						x0, y0 := x+int(cw*(float64(j)+0.25)), ground-bh+int(ch*(float64(i)+0.2))
						fillRect(cv, w, h, x0, y0, x0+max(int(cw*0.5), 1), y0+max(int(ch*0.5), 1), win)
					}
				}
			}
		}
		x += bw + int(uniform(r, 0, 0.04)*float64(w))
	}

	// Pavement, then the road on it, in perspective towards the vanishing
	// point; a dashed centre line and solid edge lines.
	p.pose, p.loc = pixelPose, identity
	H := float64(h)
	vx, rh := l.vanishX, l.roadHalf
	p.poly([]pt{{vx - 3, l.horizon}, {vx + 3, l.horizon}, {vx + rh*1.4, H + 1}, {vx - rh*1.4, H + 1}}, false)
	v := float32(uniform(r, 0.55, 0.7))
	p.paint(RGB{v, v * 0.98, v * 0.95})
	p.poly([]pt{{vx - 1, l.horizon}, {vx + 1, l.horizon}, {vx + rh, H + 1}, {vx - rh, H + 1}}, false)
	v = float32(uniform(r, 0.25, 0.4))
	p.paint(RGB{v, v, v * 1.03})
	at := func(t float64) (float64, float64) { return l.horizon + (H-l.horizon)*t, rh * t }
	for j := 0; j < 12; j += 2 {
		t0, t1 := 1/(1+0.5*float64(j+1)), 1/(1+0.5*float64(j))
		y0, h0 := at(t0)
		y1, h1 := at(t1)
		p.poly([]pt{{vx - 0.02*h0, y0}, {vx + 0.02*h0, y0}, {vx + 0.02*h1, y1}, {vx - 0.02*h1, y1}}, false)
	}
	for _, side := range []float64{-1, 1} {
		p.poly([]pt{{vx + side*0.5, l.horizon}, {vx + side*0.9, l.horizon}, {vx + side*rh*0.97, H + 1}, {vx + side*rh*0.92, H + 1}}, false)
	}
	p.paint(RGB{0.88, 0.88, 0.85})
	// Asphalt grain, so the road is not a flat plane a detector can key on.
	for y := max(hz, 0); y < h; y++ {
		_, half := at((float64(y) - l.horizon) / (H - l.horizon))
		x0, x1 := max(int(vx-half), 0), min(int(vx+half)+1, w)
		for x := x0; x < x1; x++ {
			i := y*w + x
			k := 0.9 + 0.2*sc.field[(y*7%h)*w+(x*5%w)]
			cv[i], cv[n+i], cv[2*n+i] = cv[i]*k, cv[n+i]*k, cv[2*n+i]*k
		}
	}

	// Trees on both verges, far ones smaller.
	for range 2 + r.IntN(5) {
		t := uniform(r, 0.02, 0.5)
		y, half := at(t)
		side := 1.0
		if r.Float64() < 0.5 {
			side = -1
		}
		x := vx + side*(half*1.4+uniform(r, 0.05, 0.6)*float64(w)*t)
		size := (y-l.horizon)*uniform(r, 1.5, 3) + 6
		p.bar(x, y, x, y-size*0.6, math.Max(size*0.06, 1))
		p.paint(RGB{0.3, 0.22, 0.15})
		dark := RGB{float32(uniform(r, 0.05, 0.15)), float32(uniform(r, 0.2, 0.35)), float32(uniform(r, 0.05, 0.12))}
		for range 7 {
			p.circle(x+uniform(r, -0.3, 0.3)*size, y-size*uniform(r, 0.6, 1), size*uniform(r, 0.18, 0.32), false)
		}
		p.paint(dark)
		for range 4 {
			p.circle(x+uniform(r, -0.25, 0.25)*size, y-size*uniform(r, 0.65, 1.05), size*uniform(r, 0.1, 0.2), false)
		}
		p.paint(RGB{dark.R + 0.15, dark.G + 0.2, dark.B + 0.08})
	}

	// Clutter, more of it at higher difficulty.
	for range r.IntN(3) + int(4*d+0.5) {
		t := uniform(r, 0.05, 0.9)
		y, half := at(t)
		side := 1.0
		if r.Float64() < 0.5 {
			side = -1
		}
		s := (y - l.horizon) // pixels per metre, roughly
		col := lerpRGB(RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())}, RGB{0.5, 0.5, 0.5}, 0.3)
		switch kind := r.IntN(4); kind {
		case 0: // a parked car at the road's edge
			x := vx + side*half*uniform(r, 0.7, 0.95)
			cw, ch := s*uniform(r, 0.9, 1.3), s*0.45
			p.roundRect(x-cw/2, y-ch, x+cw/2, y-ch*0.15, ch*0.2)
			p.paint(col)
			p.roundRect(x-cw*0.35, y-ch*1.5, x+cw*0.35, y-ch*0.9, ch*0.15)
			p.paint(col)
			p.rect(x-cw*0.3, y-ch*1.42, x+cw*0.3, y-ch*0.98)
			p.paint(RGB{0.2, 0.25, 0.3})
			p.circle(x-cw*0.3, y-ch*0.15, ch*0.2, false)
			p.circle(x+cw*0.3, y-ch*0.15, ch*0.2, false)
			p.paint(RGB{0.08, 0.08, 0.08})
			p.circle(x-cw*0.42, y-ch*0.6, ch*0.08, false)
			p.circle(x+cw*0.42, y-ch*0.6, ch*0.08, false)
			p.paint(RGB{0.8, 0.1, 0.1}) // tail lights
		case 1: // a lamp post
			x := vx + side*(half*1.2+s*uniform(r, 0.2, 1))
			p.bar(x, y, x, y-s*3.5, math.Max(s*0.05, 0.8))
			p.bar(x, y-s*3.5, x-side*s*0.5, y-s*3.6, math.Max(s*0.04, 0.8))
			p.paint(RGB{0.3, 0.32, 0.33})
		case 2: // a board with a round logo
			x := vx + side*(half*1.3+s*uniform(r, 0.3, 1.5))
			bw, bh := s*uniform(r, 0.8, 1.6), s*uniform(r, 0.5, 1)
			p.bar(x, y, x, y-s*1.2, math.Max(s*0.04, 0.8))
			p.paint(RGB{0.35, 0.35, 0.35})
			p.rect(x-bw/2, y-s*1.2-bh, x+bw/2, y-s*1.2)
			p.paint(col)
			logo := [3]RGB{{0.8, 0.12, 0.12}, {0.1, 0.3, 0.7}, {0.95, 0.8, 0.1}}[r.IntN(3)]
			p.circle(x+bw*uniform(r, -0.25, 0.25), y-s*1.2-bh/2, bh*0.3, false)
			p.paint(logo)
		default: // a bin
			x := vx + side*(half*1.15+s*uniform(r, 0, 0.5))
			p.roundRect(x-s*0.25, y-s*0.8, x+s*0.25, y, s*0.05)
			p.paint(col)
		}
	}
}

// fillRect paints the integer rectangle [x0,x1)×[y0,y1), clipped.
func fillRect(cv []float32, w, h, x0, y0, x1, y1 int, c RGB) {
	n := w * h
	x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			i := y*w + x
			cv[i], cv[n+i], cv[2*n+i] = c.R, c.G, c.B
		}
	}
}
