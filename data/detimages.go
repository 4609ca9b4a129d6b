package data

import "slices"

// DetectionImages is a detection set seen as a classification set of its
// images: each image is labelled by the rarest class it shows (rarest over
// the whole set, the class KShotDetection fills first), images without
// boxes by class 0. It is what the code that samples, groups, splits into
// folds and records splits needs, so that a comparison of detectors uses
// the same splitting as one of classifiers; DetectionOf turns any subset of
// it back into the detection images it holds.
type DetectionImages struct {
	Det    DetectionDataset
	labels []int
}

// ImagesOf labels a detection set's images by their rarest class.
func ImagesOf(ds DetectionDataset) *DetectionImages {
	nc := len(ds.Classes())
	counts, _ := DetectionClassCounts(ds)
	labels := make([]int, ds.Len())
	for i := range labels {
		best := -1
		for _, c := range imageClasses(ds.Boxes(i), nc) {
			if best < 0 || counts[c] < counts[best] {
				best = c
			}
		}
		labels[i] = max(best, 0)
	}
	return &DetectionImages{Det: ds, labels: labels}
}

func (d *DetectionImages) Len() int                    { return d.Det.Len() }
func (d *DetectionImages) Classes() []string           { return d.Det.Classes() }
func (d *DetectionImages) Label(i int) int             { return d.labels[i] }
func (d *DetectionImages) Image(i int) (*Image, error) { return d.Det.Image(i) }
func (d *DetectionImages) Source(i int) string         { return d.Det.Source(i) }

// DetectionOf returns the detection images ds holds when ds is a
// DetectionImages or a subset (of subsets) of one; ok is false otherwise.
func DetectionOf(ds Dataset) (det DetectionDataset, ok bool) {
	switch d := ds.(type) {
	case *DetectionImages:
		return d.Det, true
	case *Subset:
		inner, ok := DetectionOf(d.Base)
		if !ok {
			return nil, false
		}
		idx := slices.Clone(d.Indices)
		if s, isSub := inner.(*DetectionSubset); isSub {
			for i, j := range idx {
				idx[i] = s.Indices[j]
			}
			inner = s.Base
		}
		return &DetectionSubset{Base: inner, Indices: idx}, true
	}
	return nil, false
}
