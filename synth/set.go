package synth

import (
	"fmt"
	"image"

	"github.com/graftml/graft/data"
)

// Config describes a synthetic data set. Zero values take the defaults
// noted, except Shift and Difficulty, whose zero is meaningful.
type Config struct {
	Country  string   // country code; default Base ("be")
	Classes  []string // class names or IDs; nil or {"all"} for every class
	PerClass int      // samples per class; default 100
	// Offset is the index of the first sample within each class. Sets whose
	// [Offset, Offset+PerClass) ranges do not overlap share no sample; Split
	// relies on it.
	Offset int
	Size   int    // width and height in pixels; default 32
	Seed   uint64 // data set seed
	// Shift moves the style from the base country (0) to Country's own (1).
	// Colours and proportions are interpolated; fonts and pictogram variants
	// are taken from the country with probability Shift per sample.
	Shift float64
	// Difficulty scales every nuisance from 0 (a clean, centred sign on a
	// plain background) to 1 (strong perspective, clutter, occlusion, blur,
	// noise, compression and faded paint).
	Difficulty float64
}

func (c Config) withDefaults() Config {
	if c.Country == "" {
		c.Country = Base
	}
	if c.PerClass == 0 {
		c.PerClass = 100
	}
	if c.Size == 0 {
		c.Size = 32
	}
	return c
}

// Validate reports the first problem with c after defaults are applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if _, err := LookupCountry(c.Country); err != nil {
		return err
	}
	if c.PerClass < 0 {
		return fmt.Errorf("per-class count %d is negative: use 1 or more", c.PerClass)
	}
	if c.Offset < 0 {
		return fmt.Errorf("offset %d is negative", c.Offset)
	}
	return checkKnobs(c.Size, c.Shift, c.Difficulty)
}

// Set is an in-memory synthetic data set. Samples are rendered on demand
// from (Seed, class, index), so a Set holds no pixels, any Image call is
// reproducible, and concurrent calls are safe. Samples are interleaved by
// class: sample i has label i mod the class count.
type Set struct {
	cfg     Config
	country Country
	defs    []classDef
	classes []Class
}

var _ data.Dataset = (*Set)(nil)

// New validates cfg and returns the data set it describes.
func New(cfg Config) (*Set, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("synth config: %w", err)
	}
	c, err := LookupCountry(cfg.Country)
	if err != nil {
		return nil, err
	}
	all := catalogue(c)
	ids, err := selectClasses(classesOf(c, all), cfg.Classes)
	if err != nil {
		return nil, fmt.Errorf("synth config for %q: %w", c.Code, err)
	}
	s := &Set{cfg: cfg, country: c}
	cat := classesOf(c, all)
	for _, id := range ids {
		s.defs = append(s.defs, all[id])
		s.classes = append(s.classes, cat[id])
	}
	return s, nil
}

// Split returns two disjoint sets drawn from one configuration: train is
// cfg itself and test holds testPerClass further samples per class, taken
// from the indices after train's.
func Split(cfg Config, testPerClass int) (train, test *Set, err error) {
	train, err = New(cfg)
	if err != nil {
		return nil, nil, err
	}
	if testPerClass < 1 {
		return nil, nil, fmt.Errorf("test size %d per class: use 1 or more", testPerClass)
	}
	tc := train.cfg
	tc.Offset += tc.PerClass
	tc.PerClass = testPerClass
	test, err = New(tc)
	if err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// Config returns the configuration with defaults filled in.
func (s *Set) Config() Config { return s.cfg }

// Country returns the country the set is drawn in.
func (s *Set) Country() Country { return s.country }

// ClassInfo describes the selected classes; label i is ClassInfo()[i], whose
// ID is its catalogue number (equal to i only when every class is selected).
func (s *Set) ClassInfo() []Class { return append([]Class(nil), s.classes...) }

// Len is the number of samples.
func (s *Set) Len() int { return len(s.defs) * s.cfg.PerClass }

// Classes names the selected classes.
func (s *Set) Classes() []string {
	out := make([]string, len(s.classes))
	for i, c := range s.classes {
		out[i] = c.Name
	}
	return out
}

// Label is the class index of sample i.
func (s *Set) Label(i int) int {
	if len(s.defs) == 0 {
		return 0
	}
	return i % len(s.defs)
}

func (s *Set) locate(i int) (k, j int, err error) {
	if i < 0 || i >= s.Len() {
		return 0, 0, &data.ErrSample{Source: fmt.Sprintf("synth:%s#%d", s.country.Code, i), Err: fmt.Errorf("index out of range [0,%d)", s.Len())}
	}
	k = i % len(s.defs)
	return k, s.cfg.Offset + i/len(s.defs), nil
}

// Source describes sample i as synth:COUNTRY/ID-NAME#INDEX.
func (s *Set) Source(i int) string {
	k, j, err := s.locate(i)
	if err != nil {
		return fmt.Sprintf("synth:%s#%d", s.country.Code, i)
	}
	return fmt.Sprintf("synth:%s/%s-%s#%d", s.country.Code, s.classes[k].Dir(), s.classes[k].Name, j)
}

func (s *Set) job(k, j int) job {
	return job{country: &s.country, def: &s.defs[k], size: s.cfg.Size, seed: s.cfg.Seed, j: j, shift: s.cfg.Shift, difficulty: s.cfg.Difficulty}
}

// Image renders sample i as CHW float32 in [0,1].
func (s *Set) Image(i int) (*data.Image, error) {
	k, j, err := s.locate(i)
	if err != nil {
		return nil, err
	}
	im := data.NewImage(3, s.cfg.Size, s.cfg.Size)
	render(im.Pix, s.job(k, j))
	return im, nil
}

// NRGBA renders sample i as an 8-bit image (for writing PNGs).
func (s *Set) NRGBA(i int) (*image.NRGBA, error) {
	im, err := s.Image(i)
	if err != nil {
		return nil, err
	}
	return toNRGBA(im.Pix, s.cfg.Size, s.cfg.Size), nil
}

// SampleIndex is the index of sample i within its class (Offset included),
// used for file names.
func (s *Set) SampleIndex(i int) int { return s.cfg.Offset + i/max(len(s.defs), 1) }
