package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// GroundTruth is one annotated object. Crowd regions (COCO's iscrowd=1) are
// not supported: every ground truth is a single object that one detection
// can match, which is what COCO does for iscrowd=0.
type GroundTruth struct {
	Image int
	Class int
	Box   Box
	// Difficult marks a VOC object that VOC evaluation neither requires nor
	// penalises. COCO has no such flag and counts difficult objects as
	// ordinary ones.
	Difficult bool
}

// Detection is one predicted box with its confidence.
type Detection struct {
	Image int
	Class int
	Box   Box
	Score float64
}

// imageGroup holds one image's ground truths and detections of one class,
// as indices into the caller's slices: gts in input order, dets by score,
// highest first, ties in input order (numpy's stable argsort of −score,
// which pycocotools uses).
type imageGroup struct {
	image int
	gts   []int32
	dets  []int32
}

// classGroups is one class's images, by ascending image id: the order in
// which pycocotools concatenates images before ranking, so ties in score
// across images rank the lower image id first.
type classGroups struct {
	class  int
	images []imageGroup
}

// group validates the input and sorts it into classes and images; classes
// ascend by id. It does a constant number of passes plus one sort per image,
// so 500,000 detections group in tens of milliseconds.
func group(gts []GroundTruth, dets []Detection) ([]classGroups, error) {
	for i, g := range gts {
		if err := g.Box.check(); err != nil {
			return nil, fmt.Errorf("ground truth %d (image %d, class %d): %w: %w", i, g.Image, g.Class, ErrInvalidInput, err)
		}
	}
	for i, d := range dets {
		if err := d.Box.check(); err != nil {
			return nil, fmt.Errorf("detection %d (image %d, class %d): %w: %w", i, d.Image, d.Class, ErrInvalidInput, err)
		}
		if math.IsNaN(d.Score) {
			return nil, fmt.Errorf("detection %d (image %d, class %d): %w: score is NaN; a detector's scores must be numbers to be ranked", i, d.Image, d.Class, ErrInvalidInput)
		}
	}
	if len(gts) > math.MaxInt32 || len(dets) > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d ground truths and %d detections; evaluate at most %d of each at once", ErrInvalidInput, len(gts), len(dets), math.MaxInt32)
	}

	// Number the (class, image) pairs, count each one's members, then lay
	// them out in one flat array per kind: fewer allocations than a slice
	// per pair, and input order survives within a pair.
	type key struct{ class, image int }
	ids := map[key]int32{}
	var keys []key
	id := func(k key) int32 {
		if i, ok := ids[k]; ok {
			return i
		}
		i := int32(len(keys))
		ids[k] = i
		keys = append(keys, k)
		return i
	}
	gtOf := make([]int32, len(gts))
	for i, g := range gts {
		gtOf[i] = id(key{g.Class, g.Image})
	}
	detOf := make([]int32, len(dets))
	detKey := make([]uint64, len(dets))
	for i, d := range dets {
		detOf[i] = id(key{d.Class, d.Image})
		detKey[i] = scoreKey(d.Score)
	}
	gtStart, gtFlat := layout(len(keys), gtOf)
	detStart, detFlat := layout(len(keys), detOf)

	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		if c := cmp.Compare(keys[a].class, keys[b].class); c != 0 {
			return c
		}
		return cmp.Compare(keys[a].image, keys[b].image)
	})

	var out []classGroups
	for _, k := range order {
		if len(out) == 0 || out[len(out)-1].class != keys[k].class {
			out = append(out, classGroups{class: keys[k].class})
		}
		ds := detFlat[detStart[k]:detStart[k+1]]
		slices.SortStableFunc(ds, func(a, b int32) int {
			return cmp.Compare(detKey[a], detKey[b])
		})
		c := &out[len(out)-1]
		c.images = append(c.images, imageGroup{
			image: keys[k].image,
			gts:   gtFlat[gtStart[k]:gtStart[k+1]],
			dets:  ds,
		})
	}
	return out, nil
}

// layout turns each member's group number into per-group runs of member
// indices: members of group k are flat[start[k]:start[k+1]], in input order.
func layout(groups int, of []int32) (start, flat []int32) {
	start = make([]int32, groups+1)
	for _, g := range of {
		start[g+1]++
	}
	for k := 1; k <= groups; k++ {
		start[k] += start[k-1]
	}
	next := slices.Clone(start[:groups])
	flat = make([]int32, len(of))
	for i, g := range of {
		flat[next[g]] = int32(i)
		next[g]++
	}
	return start, flat
}

// rankKey orders one class's detections across its images. Detections are
// gathered image by image (ascending id), each image's in its own ranked
// order; pos is that gathering position, so sorting by (key, pos) is the
// stable sort by score, highest first, of the images' ranked lists
// concatenated by ascending image id — pycocotools' accumulate.
type rankKey struct {
	key uint64 // scoreKey
	pos int32
}

// scoreKey maps a score to a number whose ascending order is the scores'
// descending order, so ranking compares integers. -0 and +0 compare equal
// as floats and so get one key.
func scoreKey(score float64) uint64 {
	if score == 0 {
		score = 0
	}
	b := math.Float64bits(score)
	if b>>63 != 0 {
		b = ^b
	} else {
		b |= 1 << 63
	}
	return ^b
}

func sortRanked(ks []rankKey) {
	slices.SortFunc(ks, func(a, b rankKey) int {
		if a.key != b.key {
			return cmp.Compare(a.key, b.key)
		}
		return cmp.Compare(a.pos, b.pos)
	})
}

// numpyMean is np.mean of a float64 vector to the last bit, or -1 for an
// empty one (pycocotools' "nothing to average"). The reference evaluators
// average with numpy, so matching its summation order makes graft's numbers
// equal to theirs rather than merely close.
func numpyMean(a []float64) float64 {
	if len(a) == 0 {
		return -1
	}
	return numpySum(a) / float64(len(a))
}

// numpySum is np.sum of a contiguous float64 vector: the reduction runs over
// buffers of 8,192 elements (numpy's default bufsize), each summed pairwise
// and added to the running total.
func numpySum(a []float64) float64 {
	const bufsize = 8192
	sum := 0.0
	for len(a) > 0 {
		n := min(len(a), bufsize)
		sum += pairwiseSum(a[:n])
		a = a[n:]
	}
	return sum
}

// pairwiseSum is numpy's pairwise_sum_DOUBLE (numpy/core/src/umath/loops_utils.h.src).
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, v := range a {
			res += v
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := range r {
				r[j] += a[i+j]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}
