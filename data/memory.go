package data

import (
	"fmt"
	"strconv"
)

// InMemory is a Dataset of images held in memory: the synthetic generator's
// output, a materialised small set, or a test fixture.
type InMemory struct {
	// Name prefixes Source ("synth#12"); empty means "memory".
	Name    string
	images  []*Image
	labels  []int
	classes []string
	sources []string // per sample, when materialised from files
}

// NewInMemory checks that images and labels correspond and that every label
// names one of classes. The slices are kept, not copied; Image returns
// copies, so callers may modify what they get.
func NewInMemory(images []*Image, labels []int, classes []string) (*InMemory, error) {
	if len(images) != len(labels) {
		return nil, fmt.Errorf("in-memory data set: %d images but %d labels; pass one label per image", len(images), len(labels))
	}
	if len(classes) == 0 {
		return nil, fmt.Errorf("in-memory data set: no class names; pass one name per class")
	}
	for i, im := range images {
		if im == nil || im.C <= 0 || im.H <= 0 || im.W <= 0 || len(im.Pix) != im.C*im.H*im.W {
			return nil, fmt.Errorf("in-memory data set: image %d is nil or its pixel count does not match its shape", i)
		}
		if labels[i] < 0 || labels[i] >= len(classes) {
			return nil, fmt.Errorf("in-memory data set: label %d of image %d is outside the %d classes", labels[i], i, len(classes))
		}
	}
	return &InMemory{images: images, labels: labels, classes: classes}, nil
}

func (m *InMemory) Len() int                    { return len(m.images) }
func (m *InMemory) Classes() []string           { return m.classes }
func (m *InMemory) Label(i int) int             { return m.labels[i] }
func (m *InMemory) Image(i int) (*Image, error) { return m.images[i].Clone(), nil }
func (m *InMemory) Source(i int) string {
	if m.sources != nil {
		return m.sources[i]
	}
	name := m.Name
	if name == "" {
		name = "memory"
	}
	return name + "#" + strconv.Itoa(i)
}

// Materialize decodes every sample of ds with the given number of parallel
// workers (≤0 means GOMAXPROCS) and returns them as an InMemory, so small
// sets stored as many files are read from disk once. The first decode error,
// by index, is returned.
func Materialize(ds Dataset, workers int) (*InMemory, error) {
	n := ds.Len()
	images := make([]*Image, n)
	labels := make([]int, n)
	sources := make([]string, n)
	err := forEach(n, workers, func(i int) error {
		im, err := ds.Image(i)
		if err != nil {
			return err
		}
		images[i], labels[i], sources[i] = im, ds.Label(i), ds.Source(i)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m, err := NewInMemory(images, labels, ds.Classes())
	if err != nil {
		return nil, err
	}
	m.sources = sources
	return m, nil
}
