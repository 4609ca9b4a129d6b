package synth

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/graftml/graft/data"
)

// SceneConfig describes a set of synthetic street scenes for detection:
// procedural streets with several signs on poles each, and a box per sign.
// Zero values take the defaults noted, except Shift and Difficulty.
type SceneConfig struct {
	Country string   // country code; default Base ("be")
	Classes []string // class names or IDs; nil or {"all"} for every class
	Images  int      // number of images; default 200
	Width   int      // image width in pixels; default 320
	Height  int      // image height in pixels; default 240
	// MinSign and MaxSign bound a sign's nominal diameter in pixels;
	// sizes are drawn log-uniformly between them, so small, far signs are
	// as common as each octave of larger ones. Defaults 12 and 120, with
	// MaxSign lowered to 60 % of the shorter side when the image is small.
	MinSign, MaxSign int
	MaxSigns         int // signs per image are 1..MaxSigns (fewer where they would overlap); default 4
	Seed             uint64
	Shift            float64 // style from the base country (0) to Country's own (1), as in Config
	// Difficulty scales the nuisances from 0 (signs facing the camera,
	// unoccluded and sharp, in a tidy street) to 1 (turned and tilted
	// signs, faded paint, occluders, defocus and motion blur, more
	// clutter, exposure changes and sensor noise).
	Difficulty float64
}

func (c SceneConfig) withDefaults() SceneConfig {
	if c.Country == "" {
		c.Country = Base
	}
	if c.Images == 0 {
		c.Images = 200
	}
	if c.Width == 0 {
		c.Width = 320
	}
	if c.Height == 0 {
		c.Height = 240
	}
	if c.MinSign == 0 {
		c.MinSign = 12
	}
	if c.MaxSign == 0 {
		c.MaxSign = min(120, 6*min(c.Width, c.Height)/10)
	}
	if c.MaxSigns == 0 {
		c.MaxSigns = 4
	}
	return c
}

// Validate reports the first problem with c after defaults are applied.
func (c SceneConfig) Validate() error {
	c = c.withDefaults()
	if _, err := LookupCountry(c.Country); err != nil {
		return err
	}
	switch {
	case c.Images < 0:
		return fmt.Errorf("image count %d is negative: use 1 or more", c.Images)
	case c.Width < 64 || c.Width > 4096 || c.Height < 64 || c.Height > 4096:
		return fmt.Errorf("scene size %dx%d is out of range: use 64 to 4096 pixels a side", c.Width, c.Height)
	case c.MinSign < 8 || c.MaxSign < c.MinSign:
		return fmt.Errorf("sign sizes %d..%d px: want 8 <= min <= max", c.MinSign, c.MaxSign)
	case 10*c.MaxSign > 6*min(c.Width, c.Height):
		return fmt.Errorf("largest sign %d px does not fit a %dx%d scene: use at most %d px (60 %% of the shorter side) or a larger scene",
			c.MaxSign, c.Width, c.Height, 6*min(c.Width, c.Height)/10)
	case c.MaxSigns < 1 || c.MaxSigns > 32:
		return fmt.Errorf("signs per image %d: use 1 to 32", c.MaxSigns)
	}
	return checkKnobs(32, c.Shift, c.Difficulty)
}

// Scenes is a synthetic detection data set of street scenes. Like Set it
// holds no pixels: image i is drawn on demand from (Seed, i), so any Image
// call is reproducible and concurrent calls are safe. Boxes come from the
// scene's layout alone and cost no drawing.
type Scenes struct {
	cfg     SceneConfig
	country Country
	defs    []classDef
	classes []Class
}

var _ data.DetectionDataset = (*Scenes)(nil)

// NewScenes validates cfg and returns the scenes it describes.
func NewScenes(cfg SceneConfig) (*Scenes, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synth scenes: %w", err)
	}
	c, err := LookupCountry(cfg.Country)
	if err != nil {
		return nil, err
	}
	all := catalogue(c)
	cat := classesOf(c, all)
	ids, err := selectClasses(cat, cfg.Classes)
	if err != nil {
		return nil, fmt.Errorf("synth scenes for %q: %w", c.Code, err)
	}
	s := &Scenes{cfg: cfg, country: c}
	for _, id := range ids {
		s.defs = append(s.defs, all[id])
		s.classes = append(s.classes, cat[id])
	}
	return s, nil
}

// Config returns the configuration with defaults filled in.
func (s *Scenes) Config() SceneConfig { return s.cfg }

// Country returns the country the signs are drawn in.
func (s *Scenes) Country() Country { return s.country }

// ClassInfo describes the selected classes; Box.Class i is ClassInfo()[i].
func (s *Scenes) ClassInfo() []Class { return slices.Clone(s.classes) }

// Len is the number of images.
func (s *Scenes) Len() int { return s.cfg.Images }

// Classes names the selected classes.
func (s *Scenes) Classes() []string {
	out := make([]string, len(s.classes))
	for i, c := range s.classes {
		out[i] = c.Name
	}
	return out
}

// Source describes image i as synth-scenes:COUNTRY#INDEX.
func (s *Scenes) Source(i int) string { return fmt.Sprintf("synth-scenes:%s#%d", s.country.Code, i) }

// Boxes are the signs of image i, far (small) ones first. A box is the
// whole sign face as projected, including any part an occluder hides, as
// sign benchmarks annotate it; the pole is not part of it.
func (s *Scenes) Boxes(i int) []data.Box {
	if i < 0 || i >= s.Len() {
		return nil
	}
	l := s.layout(i)
	out := make([]data.Box, len(l.signs))
	for k, sg := range l.signs {
		out[k] = sg.box
	}
	return out
}

// Image draws image i as CHW float32 in [0,1].
func (s *Scenes) Image(i int) (*data.Image, error) {
	if i < 0 || i >= s.Len() {
		return nil, &data.ErrSample{Source: s.Source(i), Err: fmt.Errorf("index out of range [0,%d)", s.Len())}
	}
	im := data.NewImage(3, s.cfg.Height, s.cfg.Width)
	s.render(im.Pix, i)
	return im, nil
}

// NRGBA draws image i as an 8-bit image (for writing PNGs).
func (s *Scenes) NRGBA(i int) (*image.NRGBA, error) {
	im, err := s.Image(i)
	if err != nil {
		return nil, err
	}
	return toNRGBA(im.Pix, im.W, im.H), nil
}

// streetSign is one placed sign and every random choice about it.
type streetSign struct {
	def              int     // index into Scenes.defs: the class label
	cx, cy, size     float64 // centre and nominal diameter, output pixels
	footX, footY     float64 // where the pole meets the ground
	roll, yaw, pitch float64
	useCountry       bool
	fade             float64
	occlude          bool
	occKind          int
	occX, occY, occR float64
	defocus, motion  float64 // blur sigma and length, output pixels
	motionAngle      float64
	box              data.Box
}

// streetLayout is what a scene's boxes depend on: the road's perspective
// and the signs. Textures, buildings and clutter are drawn from another
// stream at render time, so Boxes never draws them.
type streetLayout struct {
	horizon, vanishX, roadHalf float64 // road half-width at the bottom row
	signs                      []streetSign
}

// sceneSeed derives image i's streams from the data set seed. It differs
// from sampleSeed's mixing so a scene never repeats a classification
// sample's choices.
func sceneSeed(seed uint64, i int) (uint64, uint64) {
	return seed ^ 0x7F4A7C159E3779B9, (uint64(i)+1)*0xBF58476D1CE4E5B9 ^ 0x94D049BB133111EB
}

// layout draws image i's road and signs. Every choice is drawn in a fixed
// order whatever the difficulty, which only scales magnitudes, so a harder
// set shows the same streets with the same signs, harder.
func (s *Scenes) layout(i int) streetLayout {
	a, b := sceneSeed(s.cfg.Seed, i)
	r := rand.New(rand.NewPCG(a, b))
	W, H := float64(s.cfg.Width), float64(s.cfg.Height)
	d := s.cfg.Difficulty
	l := streetLayout{
		horizon:  H * uniform(r, 0.36, 0.5),
		vanishX:  W * uniform(r, 0.38, 0.62),
		roadHalf: W * uniform(r, 0.28, 0.5),
	}
	n := 1 + r.IntN(s.cfg.MaxSigns)
	lo, hi := math.Log(float64(s.cfg.MinSign)), math.Log(float64(s.cfg.MaxSign))
	for range n {
		sg := streetSign{def: r.IntN(len(s.defs))}
		sg.size = math.Exp(uniform(r, lo, hi))
		side := 1.0
		if r.Float64() < 0.5 {
			side = -1
		}
		sg.useCountry = r.Float64() < s.cfg.Shift
		// Signs turn towards the road they face; roll and pitch are a
		// leaning pole and a slope.
		sg.yaw = -side * d * uniform(r, 0, 40)
		sg.roll = d * math.Max(-10, math.Min(10, r.NormFloat64()*4))
		sg.pitch = d * uniform(r, -12, 12)
		sg.fade = d * math.Pow(r.Float64(), 2) * 0.6
		sg.occlude = r.Float64() < 0.5*d
		sg.occKind = r.IntN(3)
		sg.occX, sg.occY = uniform(r, -1, 1), uniform(r, -1, 1)
		sg.occR = d * uniform(r, 0.25, 0.5)
		sg.defocus = d * uniform(r, 0, 1.2)
		sg.motion = 0
		if r.Float64() < 0.4*d {
			sg.motion = d * uniform(r, 1, 4)
		}
		sg.motionAngle = uniform(r, -0.3, 0.3)
		st := s.signStyle(&sg)
		shape := signOutline(&s.defs[sg.def], &st)
		// A few tries at a spot beside the road that does not cover a sign
		// already placed; a sign that finds none is left out.
		for range 6 {
			u, v, w := r.Float64(), r.Float64(), r.Float64()
			sg.cy = l.horizon - sg.size*(1.1*u-0.2)
			sg.footY = sg.cy + sg.size*(1.5+1.5*v)
			roadAt := l.roadHalf * math.Max(sg.footY-l.horizon, 0) / (H - l.horizon)
			sg.cx = l.vanishX + side*(roadAt+sg.size*(0.3+1.2*w))
			box, ok := placeBox(shape, &sg, W, H)
			if !ok || overlapsAny(box, l.signs) {
				continue
			}
			sg.box = box
			sg.box.Class = sg.def
			l.signs = append(l.signs, sg)
			break
		}
	}
	// Far signs first: nearer ones are drawn over them.
	slices.SortStableFunc(l.signs, func(a, b streetSign) int { return cmpFloat(a.size, b.size) })
	return l
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// signStyle is the style sign sg is painted in.
func (s *Scenes) signStyle(sg *streetSign) Style {
	return faded(Blend(baseStyle, s.country.style, s.cfg.Shift, sg.useCountry), sg.fade)
}

func (sg *streetSign) pose(ox, oy, ss float64) pose {
	return newPose((sg.cx-ox)*ss, (sg.cy-oy)*ss, sg.size/2*ss, sg.roll, sg.yaw, sg.pitch)
}

// signOutline is a convex polygon around everything def draws, in sign
// units: the outlines the sign functions in sign.go paint first. The box is
// its projection, so it stays tight under perspective.
func signOutline(def *classDef, st *Style) []pt {
	box := func(hw, hh float64) []pt { return []pt{{-hw, -hh}, {hw, -hh}, {hw, hh}, {-hw, hh}} }
	switch def.shape(st) {
	case Triangle:
		return rounded(triangle(st, false), st.TriCorner)
	case InvertedTriangle:
		return rounded(triangle(st, true), st.TriCorner)
	case Octagon:
		return regular(8, 1/math.Cos(math.Pi/8), 22.5)
	case Diamond:
		return diamond
	case Square:
		return box(0.9, 0.9*st.SquareRatio)
	case Rectangle:
		if def.name == "zone30" {
			return box(0.72, 1)
		}
		return box(1, 0.5) // the wide one-way sign
	}
	return regular(64, 1, 0)
}

// placeBox projects outline at sg's pose, moves sg (and its pole) inside
// the image if the box pokes out, and rounds the box to 1/100 px as the
// COCO file stores it. It fails when the sign cannot fit.
func placeBox(outline []pt, sg *streetSign, W, H float64) (data.Box, bool) {
	p := sg.pose(0, 0, 1)
	b := data.Box{X1: math.Inf(1), Y1: math.Inf(1), X2: math.Inf(-1), Y2: math.Inf(-1)}
	for _, q := range outline {
		x, y := p.apply(q.x, q.y)
		b.X1, b.Y1, b.X2, b.Y2 = math.Min(b.X1, x), math.Min(b.Y1, y), math.Max(b.X2, x), math.Max(b.Y2, y)
	}
	const edge = 1 // keep a pixel clear so anti-aliased edges stay inside
	if b.W() > W-2*edge || b.H() > H-2*edge {
		return b, false
	}
	dx := math.Max(edge-b.X1, 0) - math.Max(b.X2-(W-edge), 0)
	dy := math.Max(edge-b.Y1, 0) - math.Max(b.Y2-(H-edge), 0)
	sg.cx, sg.cy, sg.footX, sg.footY = sg.cx+dx, sg.cy+dy, sg.cx+dx, sg.footY+dy
	b.X1, b.X2, b.Y1, b.Y2 = b.X1+dx, b.X2+dx, b.Y1+dy, b.Y2+dy
	round := func(v float64) float64 { return math.Round(v*100) / 100 }
	b.X1, b.Y1, b.X2, b.Y2 = round(b.X1), round(b.Y1), round(b.X2), round(b.Y2)
	return b, true
}

// overlapsAny reports whether b covers more than a tenth of a placed
// sign's box or a placed one covers that much of b: stacked signs make
// boxes that no detector could separate.
func overlapsAny(b data.Box, signs []streetSign) bool {
	for _, o := range signs {
		ix := math.Min(b.X2, o.box.X2) - math.Max(b.X1, o.box.X1)
		iy := math.Min(b.Y2, o.box.Y2) - math.Max(b.Y1, o.box.Y1)
		if ix <= 0 || iy <= 0 {
			continue
		}
		if inter := ix * iy; inter > 0.1*math.Min(b.W()*b.H(), o.box.W()*o.box.H()) {
			return true
		}
	}
	return false
}

// streetScratch is one scene render's working memory, pooled like scratch.
type streetScratch struct {
	p                 painter // the whole scene, at output resolution
	tpcg, npcg        rand.PCG
	trng, nrng        *rand.Rand // textures and clutter, pixel noise
	lat, field, patch []float32
	tmp               []float32
}

var streetPool = sync.Pool{New: func() any {
	s := &streetScratch{}
	s.trng, s.nrng = rand.New(&s.tpcg), rand.New(&s.npcg)
	return s
}}

// render draws image i into out, 3 planes of Width×Height.
func (s *Scenes) render(out []float32, i int) {
	sc := streetPool.Get().(*streetScratch)
	defer streetPool.Put(sc)
	a, b := sceneSeed(s.cfg.Seed, i)
	sc.tpcg.Seed(a^0x5851F42D4C957F2D, b)
	sc.npcg.Seed(a^0x14057B7EF767814F, b)
	l := s.layout(i)
	w, h := s.cfg.Width, s.cfg.Height
	d := s.cfg.Difficulty
	p := &sc.p
	p.resize(w, h)
	p.pose, p.loc = pixelPose, identity
	streetBackground(sc, &l, d)
	for k := range l.signs {
		s.drawSign(sc, &l.signs[k], a, b^uint64(k+1)*0x9E3779B97F4A7C15)
	}
	// Camera: exposure and colour cast, then sensor noise.
	r := sc.trng
	light := 1 + d*uniform(r, -0.35, 0.25)
	n := w * h
	for c := range 3 {
		k := float32(light * (1 + d*uniform(r, -0.08, 0.08)))
		pl := p.cv[c*n : (c+1)*n]
		for j := range pl {
			pl[j] *= k
		}
	}
	sensorNoise(p.cv, n, d*uniform(r, 0, 0.04), sc.nrng)
	copy(out, p.cv[:3*n])
	clampAll(out)
}

// signSS is the oversampling of sign patches: pictograms on 12 px signs
// need it, and a patch is small enough to afford it.
const signSS = 2

// drawSign paints sg and its pole into the scene. The pole goes straight
// onto the scene; the sign is drawn on a supersampled square patch cut
// from the scene around it (so the sign is painted over the real
// background), occluded and blurred there, and blended back with weights
// that fall to zero at the patch's rim, so a blurred patch leaves no seam.
func (s *Scenes) drawSign(sc *streetScratch, sg *streetSign, seedA, seedB uint64) {
	p := &sc.p
	pw := max(0.8, 0.07*sg.size)
	p.bar(sg.cx, sg.cy, sg.footX, math.Min(sg.footY, float64(p.h)+2), pw)
	p.paint(RGB{0.46, 0.47, 0.5})
	p.bar(sg.cx-pw*0.25, sg.cy, sg.footX-pw*0.25, math.Min(sg.footY, float64(p.h)+2), pw*0.3)
	p.paintAlpha(RGB{0.7, 0.71, 0.73}, 0.6) // a highlight makes it round

	blur := math.Max(2.5*sg.defocus, sg.motion)
	margin := int(math.Ceil(blur)) + 3
	side := int(math.Ceil(math.Max(sg.box.W(), sg.box.H()))) + 2*margin
	ox := int(math.Floor((sg.box.X1+sg.box.X2)/2)) - side/2
	oy := int(math.Floor((sg.box.Y1+sg.box.Y2)/2)) - side/2

	ps := scratchPool.Get().(*scratch)
	defer scratchPool.Put(ps)
	ps.pcg.Seed(seedA^0xD6E8FEB86659FD93, seedB)
	q := &ps.p
	cw := side * signSS
	q.resize(cw, cw)
	// Nearest upsampling and the box downscale below give back the exact
	// background wherever nothing is painted.
	W, H := p.w, p.h
	n, m := W*H, cw*cw
	for y := range cw {
		sy := clampInt(oy+y/signSS, H)
		for x := range cw {
			sx := clampInt(ox+x/signSS, W)
			for c := range 3 {
				q.cv[c*m+y*cw+x] = p.cv[c*n+sy*W+sx]
			}
		}
	}
	st := s.signStyle(sg)
	q.pose = sg.pose(float64(ox), float64(oy), signSS)
	q.loc = identity
	s.defs[sg.def].draw(q, &st)
	q.loc = identity
	if sg.occlude {
		occ := scene{occKind: sg.occKind, occX: sg.occX, occY: sg.occY, occR: sg.occR}
		occluder(ps, &occ)
	}
	pn := side * side
	if cap(sc.patch) < 3*pn {
		sc.patch = make([]float32, 3*pn)
		sc.tmp = make([]float32, 3*pn)
	}
	patch, tmp := sc.patch[:3*pn], sc.tmp[:3*pn]
	downscale(patch, q.cv, side, signSS)
	motionBlur(patch, tmp, side, sg.motion, sg.motionAngle)
	defocus(patch, tmp, side, sg.defocus)
	for y := range side {
		ty := oy + y
		if ty < 0 || ty >= H {
			continue
		}
		for x := range side {
			tx := ox + x
			if tx < 0 || tx >= W {
				continue
			}
			e := min(x, y, side-1-x, side-1-y)
			wgt := min(float32(e)/float32(margin-2), 1) // 1 over the whole box
			for c := range 3 {
				dst := &p.cv[c*n+ty*W+tx]
				*dst += (patch[c*pn+y*side+x] - *dst) * wgt
			}
		}
	}
}
