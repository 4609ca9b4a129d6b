package synth

import (
	"math"
	"math/rand/v2"
)

// scene holds every random choice of one sample. All of them are drawn, in
// a fixed order, whatever the difficulty, and only their magnitudes are
// scaled by it: the same seed at a higher difficulty shows the same scene,
// harder. That keeps the Difficulty knob smooth.
type scene struct {
	useCountry bool

	bgKind   int // 0 sky, 1 foliage, 2 wall, 3 asphalt
	bgMix    float64
	bgA, bgB RGB
	clutter  int
	tilt     float64 // horizon/brick slant

	scale, offX, offY     float64
	roll, yaw, pitch      float64
	pole                  bool
	fade                  float64
	occlude               bool
	occKind               int
	occX, occY, occR      float64
	light, contrast, grad float64
	gradAngle             float64
	cast                  [3]float64
	shadow                bool
	shadowAngle, shadowAt float64
	defocus               float64 // sigma in output pixels
	motion                float64 // length in output pixels
	motionAngle           float64
	noise                 float64
	jpeg                  bool
	quality               int
}

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

func drawScene(r *rand.Rand, shift, d float64, size int) scene {
	var s scene
	s.useCountry = r.Float64() < shift
	px := float64(size) / 32 // blur lengths scale with the image

	s.bgKind = r.IntN(4)
	s.bgMix = min(1, 2*d)
	s.bgA = RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())}
	s.bgB = RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())}
	s.clutter = r.IntN(4)
	if r.Float64() >= d {
		s.clutter = 0
	}
	s.tilt = d * uniform(r, -0.3, 0.3)

	s.scale = 0.88 - d*uniform(r, -0.06, 0.4)
	s.offX = d * uniform(r, -0.2, 0.2)
	s.offY = d * uniform(r, -0.2, 0.2)
	s.roll = d * math.Max(-25, math.Min(25, r.NormFloat64()*10))
	s.yaw = d * uniform(r, -45, 45)
	s.pitch = d * uniform(r, -25, 25)
	s.pole = r.Float64() < 1.6*d

	s.fade = d * math.Pow(r.Float64(), 2) * 0.65
	s.occlude = r.Float64() < 0.45*d
	s.occKind = r.IntN(3)
	s.occX, s.occY = uniform(r, -1, 1), uniform(r, -1, 1)
	s.occR = d * uniform(r, 0.25, 0.5)

	s.light = 1 + d*uniform(r, -0.45, 0.3)
	s.contrast = 1 - d*uniform(r, 0, 0.45)
	s.grad = d * uniform(r, 0, 0.5)
	s.gradAngle = uniform(r, 0, 2*math.Pi)
	for i := range s.cast {
		s.cast[i] = 1 + d*uniform(r, -0.12, 0.12)
	}
	s.shadow = r.Float64() < 0.3*d
	s.shadowAngle, s.shadowAt = uniform(r, 0, 2*math.Pi), uniform(r, -0.5, 0.5)

	s.defocus = d * uniform(r, 0, 1.1) * px
	s.motion = 0
	if r.Float64() < 0.5*d {
		s.motion = d * uniform(r, 1, 3.5) * px
	}
	s.motionAngle = uniform(r, 0, math.Pi)
	s.noise = d * uniform(r, 0, 0.06)
	s.jpeg = r.Float64() < 0.8*d
	s.quality = int(90 - d*uniform(r, 0, 65))
	return s
}

// flatBackground is what a clean (difficulty 0) sample sits on.
var flatBackground = RGB{0.62, 0.67, 0.72}

// background fills the canvas with a generated texture: sky gradient,
// foliage-like value noise, a brick or plaster wall, or asphalt; then adds
// random clutter (poles, boards, wires). Textures are computed at output
// resolution and replicated over each ss x ss block: the box downscale
// would average that detail away anyway, and it quarters the cost.
func background(sc *scratch, s *scene, ss int) {
	p := &sc.p
	w, h := p.w, p.h
	n := w * h
	cv := p.cv
	f := flatBackground
	if s.bgMix == 0 {
		fillPlanes(cv, n, f)
		return
	}
	r := sc.trng
	tw, th := w/ss, h/ss
	// Two octaves of value noise: coarse blotches and fine grain.
	coarse := sc.noiseField(r, tw, th, 5)
	fine := sc.noiseField2(r, tw, th, 14)
	mix := float32(s.bgMix)
	a, b := s.bgA, s.bgB
	top := RGB{0.30 + 0.2*a.R, 0.50 + 0.2*a.G, 0.80 + 0.15*a.B}
	haze := RGB{0.82, 0.86, 0.9}
	dark := RGB{0.08 + 0.1*a.R, 0.22 + 0.15*a.G, 0.06 + 0.08*a.B}
	lite := RGB{0.35 + 0.2*b.R, 0.55 + 0.2*b.G, 0.18 + 0.1*b.B}
	wall := RGB{0.45 + 0.4*a.R, 0.35 + 0.35*a.G, 0.3 + 0.3*a.B}
	bh := max(th/6, 3)
	tilt := float32(s.tilt)
	for y := range th {
		fy := float32(y) / float32(th)
		for x := range tw {
			i := y*tw + x
			c, g := coarse[i], fine[i]
			var col RGB
			switch s.bgKind {
			case 0: // sky: blue overhead fading to haze, soft clouds
				col = mixRGB(top, haze, clamp01(fy+tilt*(float32(x)/float32(tw)-0.5)))
				if cl := clamp01((c - 0.55) * 3); cl > 0 {
					col = mixRGB(col, RGB{0.95, 0.95, 0.96}, cl*0.8)
				}
			case 1: // foliage: dark and light greens, sky through gaps
				col = mixRGB(dark, lite, clamp01(0.6*c+0.7*g-0.15))
				if c > 0.82 {
					col = mixRGB(col, RGB{0.8, 0.86, 0.92}, clamp01((c-0.82)*8))
				}
			case 2: // wall: plaster or bricks with mortar lines
				yy := y + int(float32(x)*tilt)
				xo := x + ((yy/bh)%2)*bh
				k := 0.85 + 0.3*g
				col = RGB{wall.R * k, wall.G * k, wall.B * k}
				if a.R > 0.4 && (yy%bh == 0 || xo%(2*bh) == 0) {
					col = RGB{0.75, 0.74, 0.7}
				}
			default: // asphalt and kerb: grey grain
				v := 0.3 + 0.25*a.R + 0.15*(g-0.5) + 0.1*(c-0.5)
				col = RGB{v, v, v * 1.02}
			}
			col = mixRGB(f, col, mix)
			for dy := range ss {
				row := (y*ss+dy)*w + x*ss
				for dx := range ss {
					j := row + dx
					cv[j], cv[n+j], cv[2*n+j] = col.R, col.G, col.B
				}
			}
		}
	}
	// Clutter in pixel space: boards, posts and wires behind the sign.
	saved := p.pose
	p.pose = pixelPose
	p.loc = identity
	for range s.clutter {
		// Muted colours: clutter should distract, not look like paint.
		col := lerpRGB(RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())}, RGB{0.5, 0.5, 0.5}, 0.45)
		x0, y0 := r.Float64()*float64(w), r.Float64()*float64(h)
		switch r.IntN(3) {
		case 0:
			p.rect(x0, y0, x0+uniform(r, 0.2, 0.7)*float64(w), y0+uniform(r, 0.1, 0.5)*float64(h))
		case 1:
			p.bar(x0, -1, x0+uniform(r, -0.2, 0.2)*float64(w), float64(h+1), uniform(r, 0.03, 0.1)*float64(w))
		default:
			p.bar(-1, y0, float64(w+1), y0+uniform(r, -0.3, 0.3)*float64(h), 0.012*float64(w)+0.5)
			col = RGB{0.1, 0.1, 0.1}
		}
		p.paintAlpha(col, mix)
	}
	p.pose = saved
}

var pixelPose = pose{r00: 1, r11: 1, dist: 4, scale: 1}

// mixRGB is lerpRGB in float32, for per-pixel loops.
func mixRGB(a, b RGB, t float32) RGB {
	u := 1 - t
	return RGB{a.R*u + b.R*t, a.G*u + b.G*t, a.B*u + b.B*t}
}

func fillPlanes(cv []float32, n int, c RGB) {
	for i := range n {
		cv[i], cv[n+i], cv[2*n+i] = c.R, c.G, c.B
	}
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// noiseField fills a w*h field with smooth value noise of about cells
// lattice cells across, values in [0,1].
func (sc *scratch) noiseField(r *rand.Rand, w, h, cells int) []float32 {
	sc.field1 = valueNoise(sc.field1, &sc.lat, r, w, h, cells)
	return sc.field1
}

func (sc *scratch) noiseField2(r *rand.Rand, w, h, cells int) []float32 {
	sc.field2 = valueNoise(sc.field2, &sc.lat, r, w, h, cells)
	return sc.field2
}

func valueNoise(dst []float32, lat *[]float32, r *rand.Rand, w, h, cells int) []float32 {
	g := cells + 1
	if cap(*lat) < g*g {
		*lat = make([]float32, g*g)
	}
	l := (*lat)[:g*g]
	for i := range l {
		l[i] = r.Float32()
	}
	if cap(dst) < w*h {
		dst = make([]float32, w*h)
	}
	dst = dst[:w*h]
	// Smoothstep weights per column are the same on every row.
	var ixs [256]int32
	var txs [256]float32
	if w > len(ixs) {
		return valueNoiseSlow(dst, l, g, w, h, cells)
	}
	sx := float32(cells) / float32(w)
	for x := range w {
		fx := float32(x) * sx
		ix := int(fx)
		tx := fx - float32(ix)
		ixs[x], txs[x] = int32(ix), tx*tx*(3-2*tx)
	}
	sy := float32(cells) / float32(h)
	for y := range h {
		fy := float32(y) * sy
		iy := int(fy)
		ty := fy - float32(iy)
		ty = ty * ty * (3 - 2*ty)
		r0, r1 := l[iy*g:(iy+1)*g], l[(iy+1)*g:(iy+2)*g]
		row := dst[y*w : (y+1)*w]
		for x := range row {
			ix, tx := ixs[x], txs[x]
			a := r0[ix] + (r0[ix+1]-r0[ix])*tx
			b := r1[ix] + (r1[ix+1]-r1[ix])*tx
			row[x] = a + (b-a)*ty
		}
	}
	return dst
}

// valueNoiseSlow serves textures wider than the column table (outputs over
// 256 px), which are rare enough not to need the fast path.
func valueNoiseSlow(dst, l []float32, g, w, h, cells int) []float32 {
	sx := float32(cells) / float32(w)
	sy := float32(cells) / float32(h)
	for y := range h {
		fy := float32(y) * sy
		iy := int(fy)
		ty := fy - float32(iy)
		ty = ty * ty * (3 - 2*ty)
		r0, r1 := l[iy*g:], l[(iy+1)*g:]
		for x := range w {
			fx := float32(x) * sx
			ix := int(fx)
			tx := fx - float32(ix)
			tx = tx * tx * (3 - 2*tx)
			a := r0[ix] + (r0[ix+1]-r0[ix])*tx
			b := r1[ix] + (r1[ix+1]-r1[ix])*tx
			dst[y*w+x] = a + (b-a)*ty
		}
	}
	return dst
}

// occluder paints something in front of the sign: a clump of leaves, a post
// or the edge of a board, sized by the scene.
func occluder(sc *scratch, s *scene) {
	p := &sc.p
	r := sc.rng
	p.loc = identity
	// Occluders sit near the sign's rim so they hide part of it, not all.
	ang := math.Atan2(s.occY, s.occX)
	cx, cy := math.Cos(ang)*0.95, math.Sin(ang)*0.95
	switch s.occKind {
	case 0:
		for range 7 {
			p.circle(cx+uniform(r, -0.35, 0.35)*s.occR*2, cy+uniform(r, -0.35, 0.35)*s.occR*2, s.occR*uniform(r, 0.4, 0.8), false)
		}
		p.paint(RGB{0.1, 0.25 + float32(r.Float64())*0.15, 0.08})
		for range 4 {
			p.circle(cx+uniform(r, -0.3, 0.3)*s.occR*2, cy+uniform(r, -0.3, 0.3)*s.occR*2, s.occR*uniform(r, 0.2, 0.45), false)
		}
		p.paint(RGB{0.3, 0.5, 0.15})
	case 1:
		x := s.occX * 0.8
		p.bar(x, -3, x+uniform(r, -0.6, 0.6), 3, 0.15+s.occR*0.4)
		v := float32(0.25 + 0.4*r.Float64())
		p.paint(RGB{v, v * 0.95, v * 0.85})
	default:
		d := 1.3 - s.occR
		nx, ny := math.Cos(ang), math.Sin(ang)
		tx, ty := -ny, nx
		p.poly([]pt{
			{nx*d + tx*3, ny*d + ty*3}, {nx*d - tx*3, ny*d - ty*3},
			{nx*5 - tx*3, ny*5 - ty*3}, {nx*5 + tx*3, ny*5 + ty*3},
		}, false)
		p.paint(RGB{float32(r.Float64()), float32(r.Float64()), float32(r.Float64())})
	}
}

// faded returns st with its paint washed out by sunlight: colours pale and
// lose saturation.
func faded(st Style, f float64) Style {
	if f <= 0 {
		return st
	}
	wash := func(c RGB) RGB {
		l := 0.3*c.R + 0.59*c.G + 0.11*c.B
		g := RGB{l, l, l}
		c = lerpRGB(c, g, f*0.7)
		return lerpRGB(c, RGB{0.92, 0.91, 0.88}, f*0.45)
	}
	st.Red, st.Blue, st.Yellow = wash(st.Red), wash(st.Blue), wash(st.Yellow)
	st.Black, st.Amber, st.Green = wash(st.Black), wash(st.Amber), wash(st.Green)
	st.WarnFill, st.DiscFill = wash(st.WarnFill), wash(st.DiscFill)
	return st
}
