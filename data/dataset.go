package data

import "fmt"

// Image is a decoded picture in channel-major (CHW) float32 layout. Pixel
// values are in [0,1] until a Normalize transform maps them elsewhere. Keeping
// one plain layout end to end lets the loader hand a batch to the engine with
// a single copy.
type Image struct {
	C, H, W int
	Pix     []float32 // len C*H*W, index (c*H+y)*W+x
}

// NewImage allocates a zeroed image.
func NewImage(c, h, w int) *Image {
	return &Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// At returns the value of channel c at (y, x).
func (im *Image) At(c, y, x int) float32 { return im.Pix[(c*im.H+y)*im.W+x] }

// Set stores v in channel c at (y, x).
func (im *Image) Set(c, y, x int, v float32) { im.Pix[(c*im.H+y)*im.W+x] = v }

// Clone returns a deep copy.
func (im *Image) Clone() *Image {
	out := &Image{C: im.C, H: im.H, W: im.W, Pix: make([]float32, len(im.Pix))}
	copy(out.Pix, im.Pix)
	return out
}

// Dataset is a random-access labelled image collection. Implementations must
// be safe for concurrent Image calls: the loader decodes in parallel.
type Dataset interface {
	// Len is the number of samples.
	Len() int
	// Classes names the classes; label i is Classes()[i].
	Classes() []string
	// Label is the class index of sample i, without decoding it.
	Label(i int) int
	// Image decodes sample i. Errors name the file (or record) and the problem.
	Image(i int) (*Image, error)
	// Source describes sample i for error messages and reports (a path, or
	// "train-images-idx3-ubyte.gz#123").
	Source(i int) string
}

// Subset is a view of a Dataset restricted to some indices, used for splits
// and k-shot samples so the underlying files are never copied.
type Subset struct {
	Base    Dataset
	Indices []int
}

func (s *Subset) Len() int                    { return len(s.Indices) }
func (s *Subset) Classes() []string           { return s.Base.Classes() }
func (s *Subset) Label(i int) int             { return s.Base.Label(s.Indices[i]) }
func (s *Subset) Image(i int) (*Image, error) { return s.Base.Image(s.Indices[i]) }
func (s *Subset) Source(i int) string         { return s.Base.Source(s.Indices[i]) }

// ErrSample wraps a failure to read one sample with where it came from.
type ErrSample struct {
	Source string
	Err    error
}

func (e *ErrSample) Error() string { return fmt.Sprintf("%s: %v", e.Source, e.Err) }
func (e *ErrSample) Unwrap() error { return e.Err }
