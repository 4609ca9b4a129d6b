package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"strings"

	"golang.org/x/image/bmp"
)

// Box is one annotated object in continuous pixel coordinates: (0,0) is the
// top-left corner of the first pixel and (W,H) the bottom-right corner of
// the last, so a box covering the whole image is (0,0)-(W,H) and its width
// is X2-X1. Every reader converts its format's convention to this one.
type Box struct {
	X1, Y1, X2, Y2 float64
	Class          int  // index into the data set's Classes
	Difficult      bool // Pascal VOC's difficult flag; VOC's evaluation ignores these objects
	Crowd          bool // COCO's iscrowd; COCO's evaluation ignores matches to these
}

// W is the box's width in pixels.
func (b Box) W() float64 { return b.X2 - b.X1 }

// H is the box's height in pixels.
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// DetectionDataset is a random-access collection of images with boxes,
// shaped like Dataset: Boxes replaces Label and, like it, costs no decoding.
// An image may have no boxes (a street with no sign is a useful negative).
// Implementations must be safe for concurrent Image calls.
type DetectionDataset interface {
	// Len is the number of images.
	Len() int
	// Classes names the object classes; Box.Class i is Classes()[i].
	Classes() []string
	// Boxes are image i's objects, possibly none. The slice is shared:
	// callers must not modify it.
	Boxes(i int) []Box
	// Image decodes image i. Errors name the file and the problem.
	Image(i int) (*Image, error)
	// Source describes image i for error messages and reports (a path).
	Source(i int) string
}

// Detection is a detection data set read from annotation files (OpenCOCO,
// OpenVOC, OpenGTSDB). It holds paths and boxes; images are decoded on each
// Image call, so opening a large set is cheap.
type Detection struct {
	name    string // what was opened, for messages: "coco:ann.json"
	classes []string
	items   []detItem
	skipped Skipped
}

type detItem struct {
	path  string
	w, h  int // size the annotations describe; Image checks the decoded one
	boxes []Box
}

var _ DetectionDataset = (*Detection)(nil)

func (d *Detection) Len() int            { return len(d.items) }
func (d *Detection) Classes() []string   { return d.classes }
func (d *Detection) Boxes(i int) []Box   { return d.items[i].boxes }
func (d *Detection) Source(i int) string { return d.items[i].path }

// Size is the width and height of image i as its annotation states them.
func (d *Detection) Size(i int) (w, h int) { return d.items[i].w, d.items[i].h }

// Skipped counts what DetectionOptions.Skip dropped while opening.
func (d *Detection) Skipped() Skipped { return d.skipped }

// Image decodes image i and checks that its size is the one its boxes were
// annotated on: a mismatch would silently misplace every box.
func (d *Detection) Image(i int) (*Image, error) {
	it := d.items[i]
	im, err := readImage(it.path)
	if err != nil {
		return nil, &ErrSample{Source: it.path, Err: err}
	}
	if im.W != it.w || im.H != it.h {
		return nil, &ErrSample{Source: it.path, Err: fmt.Errorf("image is %dx%d but %s annotates it as %dx%d; fix the size in the annotations or replace the image",
			im.W, im.H, d.name, it.w, it.h)}
	}
	return im, nil
}

// DetectionOptions adjust how annotation files are read. The zero value is
// strict: the first bad annotation is an error.
type DetectionOptions struct {
	// Skip drops bad annotations instead of failing: a bad box loses that
	// box, a missing or unreadable image loses the image, a malformed line
	// or annotation loses that line. Detection.Skipped counts what went, by
	// kind. A file that cannot be parsed at all is an error either way.
	Skip bool
	// Classes fixes the class list of VOC and GTSDB sets (a box whose class
	// is not in it is an UnknownClass problem); COCO sets take theirs from
	// the file's categories. See OpenVOC and OpenGTSDB for the defaults.
	Classes []string
	// ImageSet names a list in a VOC set's ImageSets/Main ("train", "val",
	// "trainval", "test"); only the images it lists are read. Empty reads
	// every file in Annotations.
	ImageSet string
}

// Problem is a kind of bad annotation.
type Problem int

const (
	BoxOutside   Problem = iota // a box reaches past the image's edge
	EmptyBox                    // a box of zero or negative width or height
	UnknownClass                // a class the set does not have
	MissingImage                // an image file that is not there or has no readable header
	DuplicateID                 // an ID (or a whole line) given twice
	Malformed                   // a line, annotation or file that cannot be parsed
	numProblems
)

var problemNames = [numProblems]string{"box outside the image", "empty box", "unknown class", "missing image", "duplicate", "malformed"}

func (p Problem) String() string {
	if p < 0 || p >= numProblems {
		return fmt.Sprintf("problem(%d)", int(p))
	}
	return problemNames[p]
}

// AnnotationError is one bad annotation: the file, where in it, what kind
// of problem and a message that says what is wrong and how to fix it.
type AnnotationError struct {
	File    string // the annotation file (or the image, for an unreadable one)
	At      string // "line 12", "annotation id 7", "image id 3"; empty for the whole file
	Problem Problem
	Msg     string
}

func (e *AnnotationError) Error() string {
	if e.At == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s %s: %s", e.File, e.At, e.Msg)
}

// skipHint ends every skippable error, so the user learns the way out.
const skipHint = "or add ?skip to the data set (e.g. coco:annotations.json?skip) to drop it and count it"

// Skipped counts the annotations DetectionOptions.Skip dropped, by kind,
// and keeps the first of each kind to show where to look.
type Skipped struct {
	counts [numProblems]int
	first  [numProblems]*AnnotationError
}

// Count is how many annotations of kind p were dropped.
func (s Skipped) Count(p Problem) int {
	if p < 0 || p >= numProblems {
		return 0
	}
	return s.counts[p]
}

// First is the first dropped annotation of kind p, or nil.
func (s Skipped) First(p Problem) *AnnotationError {
	if p < 0 || p >= numProblems {
		return nil
	}
	return s.first[p]
}

// Total is the number of dropped annotations of every kind.
func (s Skipped) Total() int {
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// String lists the counts in Problem order with the first place of each:
// "skipped 2 box outside the image (first: gt.txt line 4), 1 unknown class
// (first: …)"; empty when nothing was skipped.
func (s Skipped) String() string {
	var parts []string
	for p, c := range s.counts {
		if c == 0 {
			continue
		}
		f := s.first[p]
		at := f.File
		if f.At != "" {
			at += " " + f.At
		}
		parts = append(parts, fmt.Sprintf("%d %s (first: %s)", c, Problem(p), at))
	}
	if parts == nil {
		return ""
	}
	return "skipped " + strings.Join(parts, ", ")
}

// problems applies the Skip policy while a reader works through a file.
type problems struct {
	skip    bool
	skipped Skipped
}

// bad records e: with Skip it is counted and nil returned (the caller drops
// the annotation and goes on); otherwise e is returned to fail the open.
func (ps *problems) bad(e *AnnotationError) error {
	if !ps.skip {
		e.Msg += "; " + skipHint
		return e
	}
	if ps.skipped.first[e.Problem] == nil {
		ps.skipped.first[e.Problem] = e
	}
	ps.skipped.counts[e.Problem]++
	return nil
}

// edgeSlack is how far past the image's edge a box may reach and still be
// clipped to it instead of being a BoxOutside problem: annotation tools
// round, and VOC exports disagree about 0- or 1-based pixels, so boxes one
// pixel over the edge are common and harmless.
const edgeSlack = 1.0

// checkBox validates b against a w×h image, clipping it to the image when
// it reaches past the edge by at most edgeSlack. The returned message says
// what is wrong and the fix; the caller adds file and place.
func checkBox(b Box, w, h int) (Box, Problem, string, bool) {
	if !(b.X2 > b.X1) || !(b.Y2 > b.Y1) { // the negation also catches NaN
		return b, EmptyBox, fmt.Sprintf("box (%g,%g)-(%g,%g) has zero or negative size (%gx%g); the second corner must lie right of and below the first, fix the coordinates",
			b.X1, b.Y1, b.X2, b.Y2, b.X2-b.X1, b.Y2-b.Y1), false
	}
	fw, fh := float64(w), float64(h)
	if b.X1 < -edgeSlack || b.Y1 < -edgeSlack || b.X2 > fw+edgeSlack || b.Y2 > fh+edgeSlack ||
		math.IsInf(b.X1, 0) || math.IsInf(b.Y2, 0) {
		return b, BoxOutside, fmt.Sprintf("box (%g,%g)-(%g,%g) reaches outside the %dx%d image; fix the coordinates or the image size",
			b.X1, b.Y1, b.X2, b.Y2, w, h), false
	}
	b.X1, b.Y1 = max(b.X1, 0), max(b.Y1, 0)
	b.X2, b.Y2 = min(b.X2, fw), min(b.Y2, fh)
	if !(b.X2 > b.X1) || !(b.Y2 > b.Y1) {
		return b, BoxOutside, fmt.Sprintf("box lies outside the %dx%d image; fix the coordinates or the image size", w, h), false
	}
	return b, 0, "", true
}

// imageSize reads only the header of an image file: enough to check boxes
// against the size without decoding thousands of pixels per image at open.
func imageSize(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return 0, 0, pe.Err
		}
		return 0, 0, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 4096)
	head, _ := r.Peek(4096)
	var decodeConfig func(io.Reader) (image.Config, error)
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		decodeConfig = png.DecodeConfig
	case bytes.HasPrefix(head, []byte{0xff, 0xd8}):
		decodeConfig = jpeg.DecodeConfig
	case bytes.HasPrefix(head, []byte("BM")):
		decodeConfig = bmp.DecodeConfig
	case len(head) >= 2 && head[0] == 'P' && head[1] >= '1' && head[1] <= '7':
		// A Netpbm header is text at the start; 4 KB holds any sane one.
		pr := &pnmReader{b: head, pos: 2}
		if w, err = pr.number("width"); err != nil {
			return 0, 0, err
		}
		if h, err = pr.number("height"); err != nil {
			return 0, 0, err
		}
		return checkSize(w, h)
	default:
		return 0, 0, errUnknownFormat
	}
	cfg, err := decodeConfig(r)
	if err != nil {
		return 0, 0, err
	}
	return checkSize(cfg.Width, cfg.Height)
}

func checkSize(w, h int) (int, int, error) {
	if w <= 0 || h <= 0 || w*h > maxPixels {
		return 0, 0, fmt.Errorf("image size %dx%d is empty or too large", w, h)
	}
	return w, h, nil
}

// DetectionSubset is a view of a DetectionDataset restricted to some
// images, as KShotDetection returns.
type DetectionSubset struct {
	Base    DetectionDataset
	Indices []int
}

func (s *DetectionSubset) Len() int                    { return len(s.Indices) }
func (s *DetectionSubset) Classes() []string           { return s.Base.Classes() }
func (s *DetectionSubset) Boxes(i int) []Box           { return s.Base.Boxes(s.Indices[i]) }
func (s *DetectionSubset) Image(i int) (*Image, error) { return s.Base.Image(s.Indices[i]) }
func (s *DetectionSubset) Source(i int) string         { return s.Base.Source(s.Indices[i]) }

// detectionSubsetOf is subsetOf for detection sets: views never chain.
func detectionSubsetOf(ds DetectionDataset, idx []int) *DetectionSubset {
	slices.Sort(idx)
	if s, ok := ds.(*DetectionSubset); ok {
		base := make([]int, len(idx))
		for i, j := range idx {
			base[i] = s.Indices[j]
		}
		return &DetectionSubset{Base: s.Base, Indices: base}
	}
	return &DetectionSubset{Base: ds, Indices: idx}
}

// finish checks what every reader must deliver: some images and some
// classes, and no box labelled outside the classes.
func finishDetection(d *Detection) (*Detection, error) {
	if len(d.classes) == 0 {
		return nil, fmt.Errorf("%s names no classes; a detector needs at least one class (for VOC and GTSDB, pass the class names in DetectionOptions.Classes)", d.name)
	}
	if len(d.items) == 0 {
		msg := fmt.Sprintf("%s has no images", d.name)
		if s := d.skipped.String(); s != "" {
			msg += " after skipping bad annotations (" + s + ")"
		}
		return nil, errors.New(msg + "; check that the annotations list the images and that the image files are there")
	}
	return d, nil
}
