package data

import (
	"cmp"
	"fmt"
	"slices"
)

// DetectionClassCounts is, per class, the number of images with at least
// one box of that class and the number of boxes.
func DetectionClassCounts(ds DetectionDataset) (images, boxes []int) {
	nc := len(ds.Classes())
	images, boxes = make([]int, nc), make([]int, nc)
	for i := range ds.Len() {
		for _, c := range imageClasses(ds.Boxes(i), nc) {
			images[c]++
		}
		for _, b := range ds.Boxes(i) {
			if b.Class >= 0 && b.Class < nc {
				boxes[b.Class]++
			}
		}
	}
	return images, boxes
}

// imageClasses lists the distinct valid classes of boxes, ascending.
func imageClasses(boxes []Box, nc int) []int {
	var out []int
	for _, b := range boxes {
		if b.Class >= 0 && b.Class < nc && !slices.Contains(out, b.Class) {
			out = append(out, b.Class)
		}
	}
	slices.Sort(out)
	return out
}

// KShotDetection picks k annotated images per class. An image with boxes
// of several classes counts once for every class it shows, so a street
// with a stop sign and a speed limit serves both; images with no boxes are
// never picked.
//
// The rule is greedy, rarest class first, in rounds: classes are ordered by
// how many images show them (fewest first, ties by index), and in round r
// (1..k) each class that is shown by fewer than r of the picked images
// takes the next image of its own seeded order that is not yet picked.
// Rare classes choose first, so common classes are mostly filled by images
// picked for rare ones and the total stays near k per class rather than k
// times the classes per image. The choice depends only on seed, and the
// k-shot set is contained in the (k+1)-shot set with the same seed, as
// KShot's is: round r never looks past itself.
//
// A class shown by fewer than k images is an error unless AllowFewer is
// given, which takes all of them; classes no image shows are skipped.
// Because of images with several classes, a class can end up shown by
// more than k picked images.
func KShotDetection(ds DetectionDataset, k int, seed uint64, opts ...SampleOption) (*DetectionSubset, error) {
	var cfg sampleConfig
	for _, o := range opts {
		o(&cfg)
	}
	if k < 1 {
		return nil, fmt.Errorf("k-shot: k is %d; want at least 1 annotated image per class", k)
	}
	nc := len(ds.Classes())
	shows := make([][]int, ds.Len()) // classes per image
	byClass := make([][]int, nc)     // images per class
	for i := range ds.Len() {
		for _, b := range ds.Boxes(i) {
			if b.Class < 0 || b.Class >= nc {
				return nil, fmt.Errorf("k-shot: %s: box class %d is outside the %d classes", ds.Source(i), b.Class, nc)
			}
		}
		shows[i] = imageClasses(ds.Boxes(i), nc)
		for _, c := range shows[i] {
			byClass[c] = append(byClass[c], i)
		}
	}
	var order []int // classes with images, rarest first
	for c, imgs := range byClass {
		if len(imgs) == 0 {
			continue
		}
		if len(imgs) < k && !cfg.allowFewer {
			return nil, fmt.Errorf("k-shot: class %q is in only %d of the %d annotated images asked for; lower k or allow fewer", ds.Classes()[c], len(imgs), k)
		}
		order = append(order, c)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(byClass[a]), len(byClass[b])) })
	perm := make([][]int, nc)
	next := make([]int, nc) // position in perm[c] of the next candidate
	for _, c := range order {
		// Seeding by class alone, as KShot does, keeps a class's order
		// independent of the others.
		perm[c] = classOrder(byClass[c], seed^0x2545f4914f6cdd1d, c)
	}
	picked := make([]bool, ds.Len())
	have := make([]int, nc)
	var idx []int
	for r := 1; r <= k; r++ {
		for _, c := range order {
			if have[c] >= r {
				continue
			}
			for next[c] < len(perm[c]) && picked[perm[c][next[c]]] {
				next[c]++
			}
			if next[c] == len(perm[c]) {
				continue // AllowFewer: every image of c is picked already
			}
			i := perm[c][next[c]]
			picked[i] = true
			idx = append(idx, i)
			for _, s := range shows[i] {
				have[s]++
			}
		}
	}
	return detectionSubsetOf(ds, idx), nil
}
