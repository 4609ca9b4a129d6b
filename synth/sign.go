package synth

import "math"

// Sign outlines and frames, in sign units: every sign fits [-1,1] on both
// axes with y down. Content is drawn on top by the class's draw function.

func (p *painter) roundRect(x0, y0, x1, y1, r float64) {
	p.poly(rounded([]pt{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}}, r), false)
}

func (p *painter) bar(x0, y0, x1, y1, w float64) {
	p.stroke([]pt{{x0, y0}, {x1, y1}}, w, false)
}

// triangle returns the outline of a warning (up) or yield (inverted)
// triangle, width 2 and height 2*TriHeight, centred on the origin.
func triangle(st *Style, inverted bool) []pt {
	h := st.TriHeight
	if inverted {
		return []pt{{-1, -h}, {1, -h}, {0, h}}
	}
	return []pt{{0, -h}, {1, h}, {-1, h}}
}

// frame paints outline in border colour and its inset by width in fill.
func frame(p *painter, outline []pt, corner, width float64, border, fill RGB) {
	p.loc = identity
	p.poly(rounded(outline, corner), false)
	p.paint(border)
	in := inset(outline, width)
	p.poly(rounded(in, max(corner-width, 0)), false)
	p.paint(fill)
}

func discFrame(p *painter, st *Style) float64 {
	p.loc = identity
	p.circle(0, 0, 1, false)
	p.paint(st.Red)
	ri := 1 - st.RingWidth
	p.circle(0, 0, ri, false)
	p.paint(st.DiscFill)
	return ri
}

// warning draws a red-bordered triangle and a black pictogram placed on the
// triangle's incircle, where real signs put it.
func warning(picto func(p *painter, st *Style)) func(p *painter, st *Style) {
	return func(p *painter, st *Style) {
		tri := triangle(st, false)
		frame(p, tri, st.TriCorner, st.TriBorder, st.Red, st.WarnFill)
		h := st.TriHeight
		rin := 2 * h / (1 + math.Hypot(1, 2*h)) // incircle of the outer triangle
		s := (rin - st.TriBorder) * 1.22 * st.PictoScale
		// Pictograms stand on the inner bottom edge, leaving a margin.
		p.loc = place(0, h-st.TriBorder-0.08-0.95*s, s)
		picto(p, st)
		p.loc = identity
	}
}

// mandatory draws a blue disc with a white pictogram.
func mandatory(picto func(p *painter, st *Style)) func(p *painter, st *Style) {
	return func(p *painter, st *Style) {
		p.loc = identity
		if st.BlueRim > 0.005 {
			p.circle(0, 0, 1, false)
			p.paint(st.White)
		}
		r := 1 - st.BlueRim
		p.circle(0, 0, r, false)
		p.paint(st.Blue)
		p.loc = place(0, 0, r*0.78)
		picto(p, st)
		p.loc = identity
	}
}

// blueSquare paints an information sign of half-width hw and height ratio
// ratio and returns its inner half extents.
func blueSquare(p *painter, st *Style, hw, ratio float64) (float64, float64) {
	p.loc = identity
	hh := hw * ratio
	rim := max(st.BlueRim, 0.03)
	p.roundRect(-hw, -hh, hw, hh, 0.1)
	p.paint(st.White)
	p.roundRect(-hw+rim, -hh+rim, hw-rim, hh-rim, max(0.1-rim, 0.02))
	p.paint(st.Blue)
	return hw - rim, hh - rim
}

// text strokes s centred at (cx, cy) with glyph height h, squeezed
// horizontally when it would be wider than maxW (as three-digit limits are).
func (p *painter) text(s string, st *Style, cx, cy, h, maxW float64, col RGB) {
	f := fonts[st.Font]
	gap := 0.14 + st.DigitWeight
	wscale := st.DigitWidth
	tw := f.textWidth(s, wscale, gap) * h
	sx := 1.0
	if full := tw + st.DigitWeight*h; full > maxW {
		sx = maxW / full
	}
	x := cx - tw*sx/2
	y0 := cy - h/2
	sw := st.DigitWeight * h * (0.6 + 0.4*sx)
	for _, ch := range s {
		if ch >= 128 || f.glyphs[ch].adv == 0 {
			continue
		}
		g := f.glyphs[ch]
		for _, stroke := range g.strokes {
			p.tmp = p.tmp[:0]
			for _, q := range stroke {
				gx := q.x*wscale + st.DigitSlant*(0.5-q.y)
				p.tmp = append(p.tmp, pt{x + gx*h*sx, y0 + q.y*h})
			}
			// stroke reuses tmp2 only, so tmp is safe to pass.
			p.stroke(p.tmp, sw, true)
		}
		x += (g.adv*wscale + gap) * h * sx
	}
	p.paint(col)
}

// stripes paints n parallel diagonal stripes (bottom-left to top-right)
// clipped to the convex polygon clip; one stripe is drawn as a broad band.
func stripes(p *painter, clip []pt, n int, col RGB) {
	if n < 1 {
		return
	}
	w, gap := 0.075, 0.15
	if n == 1 {
		w = 0.3
	}
	inner := inset(clip, w*0.5)
	const k = math.Sqrt2 / 2
	for i := range n {
		off := (float64(i) - float64(n-1)/2) * gap
		cx, cy := off*k, off*k
		a := pt{cx - 2*k, cy + 2*k}
		b := pt{cx + 2*k, cy - 2*k}
		if a, b, ok := clipToConvex(a, b, inner); ok {
			p.bar(a.x, a.y, b.x, b.y, w)
		}
	}
	p.paint(col)
}

func speedLimit(p *painter, st *Style, v string) {
	ri := discFrame(p, st)
	p.text(v, st, 0, 0, st.DigitHeight*2*ri, 2*ri*0.8, st.Black)
}

func drawStop(p *painter, st *Style) {
	oct := regular(8, 1/math.Cos(math.Pi/8), 22.5)
	frame(p, oct, 0.04, st.StopRim, st.White, st.Red)
	p.text("STOP", st, 0, 0, 0.6, 1.62, st.White)
}

func drawYield(p *painter, st *Style) {
	frame(p, triangle(st, true), st.TriCorner, st.TriBorder*1.15, st.Red, st.WarnFill)
}

func drawNoEntry(p *painter, st *Style) {
	p.loc = identity
	p.circle(0, 0, 1, false)
	p.paint(st.Red)
	p.rect(-0.66, -0.16, 0.66, 0.16)
	p.paint(st.White)
}

func drawNoOvertaking(p *painter, st *Style) {
	ri := discFrame(p, st)
	p.loc = place(-0.34*ri, 0.02, 0.3*ri)
	pictoCar(p, st, st.Red, st.DiscFill)
	p.loc = place(0.34*ri, 0.02, 0.3*ri)
	pictoCar(p, st, st.Black, st.DiscFill)
	p.loc = identity
}

var diamond = []pt{{0, -1}, {1, 0}, {0, 1}, {-1, 0}}

func priorityDiamond(p *painter, st *Style) []pt {
	p.loc = identity
	out := diamond
	if st.DiamondEdge > 0.005 {
		p.poly(rounded(out, 0.05), false)
		p.paint(st.Black)
		out = inset(out, st.DiamondEdge)
	}
	p.poly(rounded(out, 0.04), false)
	p.paint(st.White)
	in := inset(out, st.DiamondRim)
	p.poly(rounded(in, 0.03), false)
	p.paint(st.Yellow)
	return in
}

func drawPriorityRoad(p *painter, st *Style) { priorityDiamond(p, st) }

func drawEndPriorityRoad(p *painter, st *Style) {
	in := priorityDiamond(p, st)
	stripes(p, in, st.EndStripes, st.Black)
}

func drawNoVehicles(p *painter, st *Style) { discFrame(p, st) }

func noStoppingFrame(p *painter, st *Style) float64 {
	p.loc = identity
	p.circle(0, 0, 1, false)
	p.paint(st.Red)
	ri := 1 - st.RingWidth
	p.circle(0, 0, ri, false)
	p.paint(st.Blue)
	return ri
}

func drawNoStopping(p *painter, st *Style) {
	ri := noStoppingFrame(p, st)
	d := ri * 0.75
	p.bar(-d, -d, d, d, st.RingWidth)
	p.bar(-d, d, d, -d, st.RingWidth)
	p.paint(st.Red)
}

func drawNoParking(p *painter, st *Style) {
	ri := noStoppingFrame(p, st)
	d := ri * 0.75
	p.bar(-d, -d, d, d, st.RingWidth)
	p.paint(st.Red)
}

func drawNoUTurn(p *painter, st *Style) {
	ri := discFrame(p, st)
	p.loc = place(0, 0.05, ri*0.8)
	pictoUTurn(p, st)
	p.loc = identity
	d := ri * 0.72
	p.bar(-d, -d, d, d, st.RingWidth*0.85)
	p.paint(st.Red)
}

func drawEndRestrictions(p *painter, st *Style) {
	p.loc = identity
	p.circle(0, 0, 1, false)
	p.paint(st.Grey)
	ri := 0.96
	p.circle(0, 0, ri, false)
	p.paint(st.DiscFill)
	stripes(p, regular(48, ri, 0), st.EndStripes, st.Black)
}

func drawOneWay(p *painter, st *Style) {
	if st.OneWayWide {
		iw, ih := blueSquare(p, st, 1, 0.5)
		p.loc = place(0, 0, 1)
		arrow(p, []pt{{-iw * 0.85, 0}, {iw * 0.85, 0}}, ih*0.45, st.ArrowHead)
		p.paint(st.White)
		p.loc = identity
		return
	}
	_, ih := blueSquare(p, st, 0.9, st.SquareRatio)
	p.loc = identity
	arrow(p, []pt{{0, ih * 0.8}, {0, -ih * 0.8}}, st.ArrowWidth*1.1, st.ArrowHead)
	p.paint(st.White)
}

func drawDeadEnd(p *painter, st *Style) {
	_, ih := blueSquare(p, st, 0.9, st.SquareRatio)
	p.rect(-0.13, -0.2, 0.13, ih*0.85)
	p.paint(st.White)
	p.rect(-0.5, -ih*0.62, 0.5, -0.2)
	p.paint(st.Red)
}

func drawCrossing(p *painter, st *Style) {
	iw, ih := blueSquare(p, st, 0.9, st.SquareRatio)
	tri := []pt{{0, -ih * 0.88}, {iw * 0.92, ih * 0.8}, {-iw * 0.92, ih * 0.8}}
	p.poly(rounded(tri, 0.06), false)
	p.paint(st.White)
	for i := range 4 {
		x := -0.5 + 0.28*float64(i)
		p.rect(x, 0.5, x+0.16, 0.66)
	}
	p.paint(st.Black)
	p.loc = place(0, 0.1, 0.42)
	pictoWalker(p, st, st.Walker)
	p.paint(st.Black)
	p.loc = identity
}

func drawParking(p *painter, st *Style) {
	_, ih := blueSquare(p, st, 0.9, st.SquareRatio)
	weight := st.DigitWeight
	st2 := *st
	st2.DigitWeight = weight * 1.3
	p.text("P", &st2, 0, 0, ih*1.3, 1.4, st.White)
}

func drawZone30(p *painter, st *Style) {
	p.loc = identity
	p.roundRect(-0.72, -1, 0.72, 1, 0.08)
	p.paint(st.Black)
	p.roundRect(-0.68, -0.96, 0.68, 0.96, 0.05)
	p.paint(st.White)
	r := 0.56
	p.circle(0, -0.36, r, false)
	p.paint(st.Red)
	ri := r * (1 - st.RingWidth)
	p.circle(0, -0.36, ri, false)
	p.paint(st.DiscFill)
	p.text("30", st, 0, -0.36, st.DigitHeight*2*ri, 2*ri*0.8, st.Black)
	st2 := *st
	st2.DigitWeight = 0.13
	p.text("ZONE", &st2, 0, 0.62, 0.32, 1.2, st.Black)
}
