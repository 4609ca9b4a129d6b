package detect

// Match assigns ground-truth boxes to default boxes as SSD does: each
// default box takes the ground truth it overlaps most if that IoU reaches
// threshold (SSD: 0.5), and each ground truth also takes the default box
// it overlaps most, whatever the IoU, so that no object goes unmatched
// (the SSD paper's matching strategy; torchvision's SSDMatcher). The
// result has one entry per default box: the index of its ground truth, or
// -1 for background. Ties go to the first.
func Match(gts, defaults []Box, threshold float32) []int {
	out := make([]int, len(defaults))
	for i := range out {
		out[i] = -1
	}
	if len(gts) == 0 {
		return out
	}
	best := make([]int, len(gts)) // each ground truth's best default box
	bestIoU := make([]float32, len(gts))
	for j := range bestIoU {
		bestIoU[j] = -1
	}
	for i, d := range defaults {
		bi, bv := -1, float32(-1)
		for j, g := range gts {
			v := IoU(g, d)
			if v > bv {
				bi, bv = j, v
			}
			if v > bestIoU[j] {
				best[j], bestIoU[j] = i, v
			}
		}
		if bv >= threshold {
			out[i] = bi
		}
	}
	for j, i := range best {
		out[i] = j
	}
	return out
}
