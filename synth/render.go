package synth

import (
	"fmt"
	"image"
	"math/rand/v2"
	"strings"
	"sync"
)

// scratch is the per-render working memory, pooled so concurrent Image calls
// neither share state nor allocate canvases.
type scratch struct {
	p                 painter
	pcg, tpcg, npcg   rand.PCG
	rng, trng, nrng   *rand.Rand // scene choices, textures, pixel noise
	lat, field1, tmpF []float32
	field2            []float32
}

var scratchPool = sync.Pool{New: func() any {
	s := &scratch{}
	s.rng, s.trng, s.nrng = rand.New(&s.pcg), rand.New(&s.tpcg), rand.New(&s.npcg)
	return s
}}

// supersample is the canvas oversampling factor. Vector coverage already
// anti-aliases edges; the 2x canvas mostly keeps thin strokes and fine
// textures from aliasing at 32 px. Large outputs need none.
func supersample(size int) int {
	if size > 128 {
		return 1
	}
	return 2
}

// sampleSeed derives the PCG stream of one sample from the data set seed,
// the class name and the sample's index within its class. Countries are left
// out on purpose: the same seed gives the same scenes in every country, so
// two countries' data sets differ only in sign style.
func sampleSeed(seed uint64, class string, j int) (uint64, uint64) {
	h := uint64(14695981039346656037)
	for i := 0; i < len(class); i++ {
		h ^= uint64(class[i])
		h *= 1099511628211
	}
	return seed, h ^ (uint64(j)+1)*0x9E3779B97F4A7C15
}

// job is everything one render needs.
type job struct {
	country    *Country
	def        *classDef
	size       int
	seed       uint64
	j          int
	shift      float64
	difficulty float64
}

// render draws one sample into out, a 3*size*size CHW plane set in [0,1].
func render(out []float32, jb job) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	a, b := sampleSeed(jb.seed, jb.def.name, jb.j)
	sc.pcg.Seed(a, b)
	sc.tpcg.Seed(a^0x5851F42D4C957F2D, b)
	sc.npcg.Seed(a^0x14057B7EF767814F, b)

	size := jb.size
	s := drawScene(sc.rng, jb.shift, jb.difficulty, size)
	st := Blend(baseStyle, jb.country.style, jb.shift, s.useCountry)
	st = faded(st, s.fade)

	ss := supersample(size)
	w := size * ss
	p := &sc.p
	p.resize(w, w)
	background(sc, &s, ss)

	half := float64(w) / 2
	p.pose = newPose(half+s.offX*float64(w), half+s.offY*float64(w), half*s.scale, s.roll, s.yaw, s.pitch)
	p.loc = identity
	if s.pole {
		p.rect(-0.07, 0.5, 0.07, 8)
		p.paint(RGB{0.45, 0.46, 0.48})
	}
	jb.def.draw(p, &st)
	p.loc = identity
	if s.occlude {
		occluder(sc, &s)
	}

	downscale(out, p.cv, size, ss)
	if jb.difficulty > 0 {
		n := size * size
		if cap(sc.tmpF) < 3*n {
			sc.tmpF = make([]float32, 3*n)
		}
		tmp := sc.tmpF[:3*n]
		lighting(out, size, &s)
		motionBlur(out, tmp, size, s.motion, s.motionAngle)
		defocus(out, tmp, size, s.defocus)
		sensorNoise(out, size*size, s.noise, sc.nrng)
		if s.jpeg {
			clampAll(out) // an encoder sees 8-bit values
			jpegArtefacts(out, tmp, size, s.quality)
		}
	}
	clampAll(out)
}

// Sample identifies one rendered sign: which country, class and variant, and
// how it is drawn. The zero Shift draws the base style; most callers want 1.
type Sample struct {
	Country    string  // country code; "" means the base country
	Class      string  // class name or numeric ID in that country
	Index      int     // variant number within the class
	Seed       uint64  // data set seed
	Size       int     // output width and height in pixels; 0 means 64
	Shift      float64 // 0 base style .. 1 the country's own style
	Difficulty float64 // 0 clean and centred .. 1 hard
}

// Render draws one sign as an 8-bit image, for writers and previews. It is
// pixel-identical to the corresponding Set sample.
func Render(s Sample) (*image.NRGBA, error) {
	c, err := LookupCountry(s.Country)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(s.Class, "all") {
		return nil, fmt.Errorf("render one class at a time: class \"all\" names many")
	}
	defs := catalogue(c)
	ids, err := selectClasses(classesOf(c, defs), []string{s.Class})
	if err != nil {
		return nil, err
	}
	if s.Size == 0 {
		s.Size = 64
	}
	if err := checkKnobs(s.Size, s.Shift, s.Difficulty); err != nil {
		return nil, err
	}
	if s.Index < 0 {
		return nil, fmt.Errorf("sample index %d is negative", s.Index)
	}
	out := make([]float32, 3*s.Size*s.Size)
	render(out, job{country: &c, def: &defs[ids[0]], size: s.Size, seed: s.Seed, j: s.Index, shift: s.Shift, difficulty: s.Difficulty})
	return toNRGBA(out, s.Size, s.Size), nil
}

func checkKnobs(size int, shift, difficulty float64) error {
	if size < 8 || size > 1024 {
		return fmt.Errorf("size %d px is out of range: use 8 to 1024", size)
	}
	if !(shift >= 0 && shift <= 1) {
		return fmt.Errorf("shift %v is out of range: use 0 (base style) to 1 (country style)", shift)
	}
	if !(difficulty >= 0 && difficulty <= 1) {
		return fmt.Errorf("difficulty %v is out of range: use 0 (clean) to 1 (hard)", difficulty)
	}
	return nil
}

// toNRGBA quantises CHW planes in [0,1] to an opaque 8-bit w×h image.
func toNRGBA(pl []float32, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	n := w * h
	for i := range n {
		img.Pix[4*i] = quant(pl[i])
		img.Pix[4*i+1] = quant(pl[n+i])
		img.Pix[4*i+2] = quant(pl[2*n+i])
		img.Pix[4*i+3] = 255
	}
	return img
}

func quant(v float32) uint8 { return uint8(clamp01(v)*255 + 0.5) }
