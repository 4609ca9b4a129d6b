package synth

// Stroke fonts: glyphs are centre-line polylines in a box of height 1 (y down)
// and font-specific width, stroked at render time. The three fonts share one
// set of glyph outlines; they differ in width, in how arcs are sampled
// (superellipse exponent and segments per quarter turn: round bowls, squared
// DIN-like bowls, or chamfered corners) and in a few glyph forms (flat-topped
// 3, open 4, barred 7, footed 1). That is enough for digits to look
// recognisably different between countries without a font file.

const (
	fontRound = iota
	fontDIN
	fontAngular
)

type strokeFont struct {
	name        string
	width       float64 // digit box width over height
	exp         float64 // superellipse exponent of bowls
	steps       int     // arc segments per quarter turn
	flatTop3    bool
	openFour    bool
	barredSeven bool
	footOne     bool
	glyphs      [128]glyph
}

type glyph struct {
	adv     float64 // advance width over height; 0 means the rune is absent
	strokes [][]pt
}

// fonts is built once from the glyph outlines below; it is read-only after.
var fonts = []*strokeFont{
	buildFont(strokeFont{name: "round", width: 0.6, exp: 2, steps: 6}),
	buildFont(strokeFont{name: "din", width: 0.5, exp: 3, steps: 6, openFour: true, footOne: false}),
	buildFont(strokeFont{name: "angular", width: 0.56, exp: 6, steps: 2, flatTop3: true, barredSeven: true, footOne: true}),
}

type pen struct {
	f       *strokeFont
	strokes [][]pt
	cur     []pt
}

func (g *pen) flush() {
	if len(g.cur) > 1 {
		g.strokes = append(g.strokes, g.cur)
	}
	g.cur = nil
}

func (g *pen) M(x, y float64) { g.flush(); g.cur = []pt{{x, y}} }
func (g *pen) L(x, y float64) { g.cur = append(g.cur, pt{x, y}) }
func (g *pen) A(cx, cy, rx, ry, a0, a1 float64) {
	g.cur = superArc(g.cur, cx, cy, rx, ry, a0, a1, g.f.exp, g.f.steps)
}

func buildFont(f strokeFont) *strokeFont {
	w := f.width
	cx, r := w/2, w/2
	def := func(ch rune, adv float64, draw func(g *pen)) {
		g := &pen{f: &f}
		draw(g)
		g.flush()
		f.glyphs[ch] = glyph{adv: adv, strokes: g.strokes}
	}
	def('0', w, func(g *pen) { g.A(cx, 0.5, r, 0.5, 0, 360) })
	def('1', 0.7*w, func(g *pen) {
		g.M(0.02*w, 0.24)
		g.L(0.5*w, 0)
		g.L(0.5*w, 1)
		if f.footOne {
			g.M(0.1*w, 1)
			g.L(0.9*w, 1)
		}
	})
	def('2', w, func(g *pen) {
		g.A(cx, 0.27, r, 0.27, 190, 375)
		g.L(0, 1)
		g.L(w, 1)
	})
	def('3', w, func(g *pen) {
		if f.flatTop3 {
			g.M(0.05*w, 0)
			g.L(0.95*w, 0)
			g.L(0.4*w, 0.42)
			g.A(cx, 0.7, r, 0.3, 245, 520)
			return
		}
		g.A(cx, 0.25, 0.92*r, 0.25, 200, 450)
		g.A(cx, 0.75, r, 0.25, 270, 520)
	})
	def('4', w, func(g *pen) {
		if f.openFour {
			g.M(0.48*w, 0)
			g.L(0, 0.68)
			g.L(w, 0.68)
			g.M(0.72*w, 0.36)
			g.L(0.72*w, 1)
			return
		}
		g.M(0.72*w, 1)
		g.L(0.72*w, 0)
		g.L(0, 0.68)
		g.L(w, 0.68)
	})
	def('5', w, func(g *pen) {
		g.M(0.92*w, 0)
		g.L(0.12*w, 0)
		g.L(0.08*w, 0.46)
		g.A(cx, 0.67, r, 0.33, 222, 510)
	})
	six := func(g *pen) {
		g.A(0.56*w, 0.66, 0.56*w, 0.66, 288, 180)
		g.A(cx, 0.66, r, 0.34, 180, 540)
	}
	def('6', w, six)
	def('7', w, func(g *pen) {
		g.M(0, 0)
		g.L(w, 0)
		g.L(0.3*w, 1)
		if f.barredSeven {
			g.M(0.3*w, 0.52)
			g.L(0.86*w, 0.52)
		}
	})
	def('8', w, func(g *pen) {
		g.A(cx, 0.26, 0.86*r, 0.26, 90, 450)
		g.flush()
		g.A(cx, 0.75, r, 0.25, 270, 630)
	})
	def('9', w, func(g *pen) {
		// A 9 is a 6 turned half a turn.
		h := &pen{f: &f}
		six(h)
		h.flush()
		for _, s := range h.strokes {
			t := make([]pt, len(s))
			for i, q := range s {
				t[i] = pt{w - q.x, 1 - q.y}
			}
			g.strokes = append(g.strokes, t)
		}
	})
	// Letters for STOP, ZONE and P.
	def('S', w, func(g *pen) {
		g.A(cx, 0.25, 0.94*r, 0.25, 340, 90)
		g.A(cx, 0.75, r, 0.25, 270, 520)
	})
	def('T', w, func(g *pen) {
		g.M(0, 0)
		g.L(w, 0)
		g.M(cx, 0)
		g.L(cx, 1)
	})
	def('O', 1.15*w, func(g *pen) { g.A(1.15*cx, 0.5, 1.15*r, 0.5, 0, 360) })
	def('P', w, func(g *pen) {
		g.M(0, 1)
		g.L(0, 0)
		g.L(0.45*w, 0)
		g.A(0.45*w, 0.27, 0.55*w, 0.27, 270, 450)
		g.L(0, 0.54)
	})
	def('Z', w, func(g *pen) {
		g.M(0, 0)
		g.L(w, 0)
		g.L(0, 1)
		g.L(w, 1)
	})
	def('N', w, func(g *pen) {
		g.M(0, 1)
		g.L(0, 0)
		g.L(w, 1)
		g.L(w, 0)
	})
	def('E', 0.9*w, func(g *pen) {
		g.M(0.9*w, 0)
		g.L(0, 0)
		g.L(0, 1)
		g.L(0.9*w, 1)
		g.M(0, 0.5)
		g.L(0.75*w, 0.5)
	})
	def(' ', 0.5*w, func(g *pen) {})
	return &f
}

// textWidth is the width of s at height 1 with the given width scale and
// inter-glyph gap, not counting stroke overhang.
func (f *strokeFont) textWidth(s string, widthScale, gap float64) float64 {
	var w float64
	n := 0
	for _, ch := range s {
		if ch < 128 && f.glyphs[ch].adv > 0 {
			w += f.glyphs[ch].adv * widthScale
			n++
		}
	}
	if n > 1 {
		w += gap * float64(n-1)
	}
	return w
}
