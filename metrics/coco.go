package metrics

import (
	"slices"
)

// COCO's parameters, as pycocotools' Params.setDetParams builds them. The
// thresholds are numpy's linspace values, not the decimals they print as
// (the IoU threshold "0.9" is 0.8999999999999999, the recall threshold
// "0.35" is 0.35000000000000003), because which side of a threshold a value
// falls on is part of the definition.
var (
	cocoIoU    = linspace(0.5, 0.95, 10)
	cocoRecall = linspace(0, 1, 101)
	cocoArea   = [...][2]float64{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}}
	cocoDets   = [...]int{1, 10, 100}
)

// Indices into cocoArea and cocoDets.
const (
	areaAll = iota
	areaSmall
	areaMedium
	areaLarge
	numAreas
)

const (
	numIoU    = 10
	numRecall = 101
	maxDets   = 100
	// eps is np.spacing(1), which pycocotools adds to precision's denominator.
	eps = 2.220446049250313e-16
)

// COCOIoUThresholds are the ten IoU thresholds .50:.05:.95 that index
// COCOClass.Precision's rows.
func COCOIoUThresholds() []float64 { return slices.Clone(cocoIoU) }

// COCORecallThresholds are the 101 recall levels 0:.01:1 that index
// COCOClass.Precision's columns.
func COCORecallThresholds() []float64 { return slices.Clone(cocoRecall) }

// linspace is numpy.linspace(start, stop, num) to the last bit.
func linspace(start, stop float64, num int) []float64 {
	step := (stop - start) / float64(num-1)
	out := make([]float64, num)
	for i := range out {
		// The conversion forbids a fused multiply-add, which numpy doesn't do.
		out[i] = float64(float64(i)*step) + start
	}
	out[num-1] = stop
	return out
}

// COCOResult is a bounding-box evaluation by COCO's rules. Every number is
// in [0, 1], or -1 where nothing could be evaluated: no class had a ground
// truth in that area range, as pycocotools reports it.
type COCOResult struct {
	// The twelve numbers of pycocotools' COCOeval.summarize, in its order
	// (Stats gives them as an array). AP is mAP@[.5:.95] over area "all" at
	// 100 detections per image; AR1, AR10 and AR100 are recall averaged over
	// the IoU thresholds at 1, 10 and 100 detections per image.
	AP, AP50, AP75             float64
	APSmall, APMedium, APLarge float64
	AR1, AR10, AR100           float64
	ARSmall, ARMedium, ARLarge float64

	// Classes has every class that has a ground truth or a detection, by
	// ascending id.
	Classes []COCOClass
}

// Stats are the twelve summary numbers in pycocotools' order (its
// COCOeval.stats).
func (r *COCOResult) Stats() [12]float64 {
	return [12]float64{r.AP, r.AP50, r.AP75, r.APSmall, r.APMedium, r.APLarge,
		r.AR1, r.AR10, r.AR100, r.ARSmall, r.ARMedium, r.ARLarge}
}

// Class returns one class's results; ok is false when the class had neither
// ground truth nor detections.
func (r *COCOResult) Class(class int) (c COCOClass, ok bool) {
	i, ok := slices.BinarySearchFunc(r.Classes, class, func(c COCOClass, class int) int { return c.Class - class })
	if !ok {
		return COCOClass{}, false
	}
	return r.Classes[i], true
}

// COCOClass is one class's part of a COCO evaluation, over area "all" at 100
// detections per image. A class without ground truth has -1 for every
// number and no Precision: COCO leaves it out of the means.
type COCOClass struct {
	Class        int
	GroundTruths int
	// Detections counts those evaluated: at most 100 per image.
	Detections     int
	AP, AP50, AP75 float64
	AR100          float64
	// Precision[t][r] is the interpolated precision at IoU threshold
	// COCOIoUThresholds()[t] and recall COCORecallThresholds()[r]: the
	// precision–recall curve COCO averages, ready to plot.
	Precision [][]float64
}

// EvaluateCOCO scores detections against ground truth exactly as
// pycocotools' COCOeval does for iouType "bbox" with its default parameters,
// for crowd-free ground truth. The one difference is where COCO has no box
// information: a ground truth's area, which decides its area range, is its
// box area (COCO uses the annotation's segmentation area).
//
// Per image and class, the 100 highest-scoring detections are matched
// greedily, highest score first, each to the not yet matched ground truth of
// highest IoU at or above the threshold (on equal IoU the later ground truth
// in input order, as pycocotools' loop does). Ground truths outside the area
// range are ignored, and so are the detections matched to them and the
// unmatched detections outside the range. Precision is made monotone from
// the right and read at 101 recall levels (numpy's searchsorted, side
// "left"); AP is its mean over the levels, the ten IoU thresholds and the
// classes with ground truth.
//
// Ties in score rank by ascending image id, then by input order within the
// image, as pycocotools' stable sorts do; so results do not depend on how
// the input interleaves images, only (for tied scores) on the order of one
// image's detections.
//
// An invalid box (not finite, x2 < x1 or y2 < y1) or a NaN score is an
// error wrapping ErrInvalidInput that names the ground truth's or
// detection's index.
func EvaluateCOCO(gts []GroundTruth, dets []Detection) (*COCOResult, error) {
	classes, err := group(gts, dets)
	if err != nil {
		return nil, err
	}
	ev := cocoEvaluator{gts: gts, dets: dets}
	per := make([]cocoClassEval, len(classes))
	for k, c := range classes {
		per[k] = ev.class(c)
	}
	return summarizeCOCO(classes, per), nil
}

// cocoClassEval is what accumulate keeps of one class: for each area range,
// the number of ground truths in it (npig), the interpolated precision
// [t][r] at 100 detections and the recall [m][t] at each detection limit.
type cocoClassEval struct {
	gts, dets int
	npig      [numAreas]int
	precision [numAreas][numIoU][numRecall]float64
	recall    [numAreas][len(cocoDets)][numIoU]float64
}

// cocoEvaluator holds the input and the scratch space reused across images.
type cocoEvaluator struct {
	gts  []GroundTruth
	dets []Detection

	iou     []float64 // [d*G+g]
	ignore  []bool    // per ground truth, for the area range being matched
	outside []bool    // per detection, for the area range being matched
	order   []int     // ground truths, non-ignored first
	matched []bool
	scored  []cocoDet // the class's detections, image by image
	keys    []rankKey // their ranking
	ranked  []cocoDet // scored in ranked order
	rc, pr  []float64
}

// cocoDet is one detection's outcome at every IoU threshold and area range:
// bit t of tp is set when it is a true positive at threshold t, bit t of ig
// when it is ignored there; neither means false positive. rank is its
// position among its image's detections, for the detection limits.
type cocoDet struct {
	rank   int32
	tp, ig [numAreas]uint16
}

func (e *cocoEvaluator) class(c classGroups) cocoClassEval {
	var out cocoClassEval
	e.scored, e.keys = e.scored[:0], e.keys[:0]
	for _, im := range c.images {
		out.gts += len(im.gts)
		dets := im.dets[:min(len(im.dets), maxDets)]
		out.dets += len(dets)
		e.matchImage(im.gts, dets, &out.npig)
	}
	sortRanked(e.keys)
	e.ranked = slices.Grow(e.ranked[:0], len(e.keys))
	for _, k := range e.keys {
		e.ranked = append(e.ranked, e.scored[k.pos])
	}

	for a := range numAreas {
		if out.npig[a] == 0 {
			continue // pycocotools: no ground truth in range, class left at -1
		}
		npig := float64(out.npig[a])
		for t := range numIoU {
			bit := uint16(1) << t
			e.rc, e.pr = e.rc[:0], e.pr[:0]
			var tp, fp float64
			var tpAt [len(cocoDets)]float64
			for _, d := range e.ranked {
				if d.ig[a]&bit != 0 {
					continue
				}
				if d.tp[a]&bit != 0 {
					tp++
					for m, limit := range cocoDets {
						if int(d.rank) < limit {
							tpAt[m]++
						}
					}
				} else {
					fp++
				}
				e.rc = append(e.rc, tp/npig)
				e.pr = append(e.pr, tp/(fp+tp+eps))
			}
			for m := range cocoDets {
				out.recall[a][m][t] = tpAt[m] / npig
			}
			interpolate(&out.precision[a][t], e.rc, e.pr)
		}
	}
	return out
}

// interpolate reads precision at COCO's recall levels as accumulate does:
// precision made non-increasing from the right, then at each level the first
// point whose recall reaches it (searchsorted, side "left"), 0 past the end.
func interpolate(q *[numRecall]float64, rc, pr []float64) {
	for i := len(pr) - 1; i > 0; i-- {
		if pr[i] > pr[i-1] {
			pr[i-1] = pr[i]
		}
	}
	i := 0
	for r, thr := range cocoRecall {
		for i < len(rc) && rc[i] < thr {
			i++
		}
		if i == len(rc) {
			break // the rest stay 0
		}
		q[r] = pr[i]
	}
}

// matchImage is evaluateImg for one image and class over every area range
// and threshold; it adds the image's detections to e.scored and e.keys and
// its in-range ground truths to npig.
func (e *cocoEvaluator) matchImage(gts, dets []int32, npig *[numAreas]int) {
	G, D := len(gts), len(dets)
	e.iou = slices.Grow(e.iou[:0], D*G)[:D*G]
	maxIoU := 0.0 // no threshold above it can match anything
	for d, di := range dets {
		for g, gi := range gts {
			v := e.dets[di].Box.IoU(e.gts[gi].Box)
			e.iou[d*G+g] = v
			maxIoU = max(maxIoU, v)
		}
	}
	start := len(e.scored)
	for d, di := range dets {
		e.keys = append(e.keys, rankKey{key: scoreKey(e.dets[di].Score), pos: int32(len(e.scored))})
		e.scored = append(e.scored, cocoDet{rank: int32(d)})
	}
	out := e.scored[start:]

	e.ignore = slices.Grow(e.ignore[:0], G)[:G]
	e.outside = slices.Grow(e.outside[:0], D)[:D]
	e.matched = slices.Grow(e.matched[:0], G)[:G]
	for a, rng := range cocoArea {
		outside := func(area float64) bool { return area < rng[0] || area > rng[1] }
		e.order = e.order[:0]
		for g, gi := range gts {
			e.ignore[g] = outside(e.gts[gi].Box.Area())
			if !e.ignore[g] {
				e.order = append(e.order, g)
				npig[a]++
			}
		}
		for g := range gts {
			if e.ignore[g] {
				e.order = append(e.order, g)
			}
		}
		for d, di := range dets {
			e.outside[d] = outside(e.dets[di].Box.Area())
		}
		for t, thr := range cocoIoU {
			bit := uint16(1) << t
			if thr > maxIoU {
				// Nothing matches: ignore the detections outside the range.
				for d := range dets {
					if e.outside[d] {
						out[d].ig[a] |= bit
					}
				}
				continue
			}
			clear(e.matched)
			for d := range dets {
				best, m := thr, -1
				for _, g := range e.order {
					if e.matched[g] {
						continue
					}
					if m > -1 && !e.ignore[m] && e.ignore[g] {
						break // matched a counted ground truth; ignored ones can't win
					}
					if v := e.iou[d*G+g]; v >= best {
						best, m = v, g
					}
				}
				switch {
				case m == -1:
					if e.outside[d] {
						out[d].ig[a] |= bit
					}
				case e.ignore[m]:
					e.matched[m] = true
					out[d].ig[a] |= bit
				default:
					e.matched[m] = true
					out[d].tp[a] |= bit
				}
			}
		}
	}
}

// summarizeCOCO averages as pycocotools' summarize does: over every entry of
// the precision (or recall) array that isn't -1, flattened in its [T, R, K]
// (or [T, K]) order, so that the sum runs in numpy's order too.
func summarizeCOCO(classes []classGroups, per []cocoClassEval) *COCOResult {
	var flat []float64
	ap := func(a int, thrs []int) float64 {
		flat = flat[:0]
		for _, t := range thrs {
			for r := range numRecall {
				for k := range per {
					if per[k].npig[a] > 0 {
						flat = append(flat, per[k].precision[a][t][r])
					}
				}
			}
		}
		return numpyMean(flat)
	}
	ar := func(a, m int) float64 {
		flat = flat[:0]
		for t := range numIoU {
			for k := range per {
				if per[k].npig[a] > 0 {
					flat = append(flat, per[k].recall[a][m][t])
				}
			}
		}
		return numpyMean(flat)
	}
	all := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	const m100 = 2
	res := &COCOResult{
		AP:       ap(areaAll, all),
		AP50:     ap(areaAll, []int{0}),
		AP75:     ap(areaAll, []int{5}),
		APSmall:  ap(areaSmall, all),
		APMedium: ap(areaMedium, all),
		APLarge:  ap(areaLarge, all),
		AR1:      ar(areaAll, 0),
		AR10:     ar(areaAll, 1),
		AR100:    ar(areaAll, m100),
		ARSmall:  ar(areaSmall, m100),
		ARMedium: ar(areaMedium, m100),
		ARLarge:  ar(areaLarge, m100),
	}

	for k, c := range classes {
		p := &per[k]
		cc := COCOClass{Class: c.class, GroundTruths: p.gts, Detections: p.dets, AP: -1, AP50: -1, AP75: -1, AR100: -1}
		if p.npig[areaAll] > 0 {
			// Per-class AP as detectron2's COCOEvaluator takes it from
			// pycocotools' precision array: the mean over [T, R].
			cc.Precision = make([][]float64, numIoU)
			flat = flat[:0]
			for t := range numIoU {
				cc.Precision[t] = slices.Clone(p.precision[areaAll][t][:])
				flat = append(flat, cc.Precision[t]...)
			}
			cc.AP = numpyMean(flat)
			cc.AP50 = numpyMean(cc.Precision[0])
			cc.AP75 = numpyMean(cc.Precision[5])
			cc.AR100 = numpyMean(p.recall[areaAll][m100][:])
		}
		res.Classes = append(res.Classes, cc)
	}
	return res
}
