package data

import (
	"slices"
	"testing"
)

// boxesOnly is a detection set of boxes without pictures.
type boxesOnly struct{ boxes [][]Box }

func (b boxesOnly) Len() int                  { return len(b.boxes) }
func (b boxesOnly) Classes() []string         { return []string{"stop", "yield", "limit"} }
func (b boxesOnly) Boxes(i int) []Box         { return b.boxes[i] }
func (b boxesOnly) Image(int) (*Image, error) { return nil, nil }
func (b boxesOnly) Source(i int) string       { return string(rune('a' + i)) }

func TestDetectionImages(t *testing.T) {
	// stop is on 3 images, yield on 2, limit on 1.
	ds := boxesOnly{boxes: [][]Box{
		{{Class: 0}},
		{{Class: 0}, {Class: 1}},
		{{Class: 0}, {Class: 1}, {Class: 2}},
		{},
	}}
	im := ImagesOf(ds)
	if got, want := []int{im.Label(0), im.Label(1), im.Label(2), im.Label(3)}, []int{0, 1, 2, 0}; !slices.Equal(got, want) {
		t.Errorf("labels %v, want %v (the rarest class shown; 0 without boxes)", got, want)
	}
	// A subset of a subset resolves to the base's images.
	sub := &Subset{Base: &Subset{Base: im, Indices: []int{3, 2, 1}}, Indices: []int{2, 1}}
	det, ok := DetectionOf(sub)
	if !ok {
		t.Fatal("a subset of detection images is not detection data")
	}
	if det.Len() != 2 || det.Source(0) != "b" || det.Source(1) != "c" || len(det.Boxes(1)) != 3 {
		t.Errorf("resolved to %d images, %q %q", det.Len(), det.Source(0), det.Source(1))
	}
	if _, ok := DetectionOf(&Subset{Base: nil}); ok {
		t.Error("a classification subset resolved as detection data")
	}
}
