package metrics

import (
	"math"
	"slices"
)

// vocIoU is the overlap a VOC detection must exceed: voc_eval's
// "ovmax > ovthresh" and the VOC paper's "must exceed 50%". (The MATLAB
// devkit's VOCevaldet uses ≥; the two differ only at an IoU of exactly 0.5.)
const vocIoU = 0.5

// voc07Recall are the recall levels of VOC2007's 11-point AP as voc_ap
// builds them, np.arange(0., 1.1, 0.1): numpy's values, not the decimals, so
// a recall of exactly 3/10, 6/10 or 7/10 falls short of "0.3", "0.6" and
// "0.7" (0.30000000000000004, …) there and here alike.
var voc07Recall = func() [11]float64 {
	var out [11]float64
	for i := range out {
		out[i] = float64(i) * 0.1
	}
	return out
}()

// VOCResult is a Pascal VOC evaluation at IoU 0.5, in both interpolations.
// Numbers are in [0, 1], or -1 where no class had a ground truth.
type VOCResult struct {
	// MAP07 is the mean over classes of VOC2007's 11-point AP.
	MAP07 float64
	// MAP is the mean over classes of the all-point AP of VOC2010 and later.
	MAP float64
	// Classes has every class that has a ground truth or a detection, by
	// ascending id; those without a (non-difficult) ground truth have AP -1
	// and are left out of the means.
	Classes []VOCClass
}

// Class returns one class's results; ok is false when the class had neither
// ground truth nor detections.
func (r *VOCResult) Class(class int) (c VOCClass, ok bool) {
	i, ok := slices.BinarySearchFunc(r.Classes, class, func(c VOCClass, class int) int { return c.Class - class })
	if !ok {
		return VOCClass{}, false
	}
	return r.Classes[i], true
}

// VOCClass is one class's part of a VOC evaluation.
type VOCClass struct {
	Class int
	// GroundTruths counts the non-difficult ground truths (voc_eval's npos).
	GroundTruths int
	Detections   int
	AP07, AP     float64
	Curve        PRCurve
}

// PRCurve is a precision–recall curve with one point per ranked detection
// that counts (true or false positive; detections of difficult objects are
// left out), highest score first: plot Precision against Recall, label
// points with Score. It is the raw curve, before any interpolation.
type PRCurve struct {
	Recall, Precision, Score []float64
}

// EvaluateVOC scores detections as the Pascal VOC devkit's Python port does
// (voc_eval with voc_ap, use_07_metric true for AP07 and false for AP), on
// Box's one convention (see BoxVOC for the devkit's "+1" pixels).
//
// Detections of a class are ranked by score across images; each is
// assigned to the ground truth of its image with the highest IoU (on equal
// IoU the first in input order). Above 0.5 it is a true positive if that
// ground truth is not yet matched, a false positive if it is, and neither if
// it is difficult; at or below 0.5 it is a false positive. There is no limit
// on detections per image. Ties in score rank as in EvaluateCOCO: by
// ascending image id, then by input order. A class whose ground truths are
// all difficult or absent gets AP -1 (voc_eval would divide by zero). AP
// is at most 1: voc_ap's eleven elevenths sum to 1+2⁻⁵², reported here as 1.
//
// An invalid box or a NaN score is an error wrapping ErrInvalidInput that
// names the ground truth's or detection's index.
func EvaluateVOC(gts []GroundTruth, dets []Detection) (*VOCResult, error) {
	classes, err := group(gts, dets)
	if err != nil {
		return nil, err
	}
	res := &VOCResult{}
	var ap07, ap []float64
	var scored []vocDet
	var keys []rankKey
	var matched []bool
	for _, c := range classes {
		vc := VOCClass{Class: c.class, AP07: -1, AP: -1}
		scored, keys = scored[:0], keys[:0]
		for _, im := range c.images {
			for _, gi := range im.gts {
				if !gts[gi].Difficult {
					vc.GroundTruths++
				}
			}
			vc.Detections += len(im.dets)
			matched = slices.Grow(matched[:0], len(im.gts))[:len(im.gts)]
			clear(matched)
			for _, di := range im.dets {
				d := vocDet{score: dets[di].Score}
				keys = append(keys, rankKey{key: scoreKey(d.score), pos: int32(len(scored))})
				ovmax, jmax := math.Inf(-1), -1
				for j, gi := range im.gts {
					if ov := dets[di].Box.IoU(gts[gi].Box); ov > ovmax {
						ovmax, jmax = ov, j
					}
				}
				switch {
				case !(ovmax > vocIoU):
					// false positive
				case gts[im.gts[jmax]].Difficult:
					d.ignored = true
				case !matched[jmax]:
					matched[jmax] = true
					d.tp = true
				}
				scored = append(scored, d)
			}
		}
		sortRanked(keys)

		if vc.GroundTruths == 0 {
			// Recall would be 0/0: no curve, and no AP to average.
			res.Classes = append(res.Classes, vc)
			continue
		}
		var tp, fp float64
		for _, k := range keys {
			d := scored[k.pos]
			if d.ignored {
				continue
			}
			if d.tp {
				tp++
			} else {
				fp++
			}
			vc.Curve.Recall = append(vc.Curve.Recall, tp/float64(vc.GroundTruths))
			vc.Curve.Precision = append(vc.Curve.Precision, tp/math.Max(tp+fp, eps))
			vc.Curve.Score = append(vc.Curve.Score, d.score)
		}
		vc.AP07 = vocAP07(vc.Curve.Recall, vc.Curve.Precision)
		vc.AP = vocAP(vc.Curve.Recall, vc.Curve.Precision)
		ap07 = append(ap07, vc.AP07)
		ap = append(ap, vc.AP)
		res.Classes = append(res.Classes, vc)
	}
	res.MAP07 = numpyMean(ap07)
	res.MAP = numpyMean(ap)
	return res, nil
}

// vocDet is one detection's outcome: true positive, ignored (matched a
// difficult object) or, neither, false positive.
type vocDet struct {
	score       float64
	tp, ignored bool
}

// vocAP07 is voc_ap with use_07_metric: the mean, over recall levels 0,
// 0.1, …, 1, of the highest precision at a recall at or above the level (0
// if none), summed as voc_ap sums it.
func vocAP07(rec, prec []float64) float64 {
	ap := 0.0
	for _, t := range voc07Recall {
		p := 0.0
		for i, r := range rec {
			if r >= t && prec[i] > p {
				p = prec[i]
			}
		}
		ap += p / 11
	}
	// Eleven elevenths sum to 1+2⁻⁵²; voc_ap reports that, a number
	// above 1. This clamp is the one place graft departs from it.
	return min(ap, 1)
}

// vocAP is voc_ap's all-point form: precision made non-increasing from the
// right over the curve framed by (0, 0) and (1, 0), then summed over the
// recall steps, with numpy's summation order.
func vocAP(rec, prec []float64) float64 {
	mrec := make([]float64, 0, len(rec)+2)
	mrec = append(append(append(mrec, 0), rec...), 1)
	mpre := make([]float64, 0, len(prec)+2)
	mpre = append(append(append(mpre, 0), prec...), 0)
	for i := len(mpre) - 1; i > 0; i-- {
		mpre[i-1] = math.Max(mpre[i-1], mpre[i])
	}
	var terms []float64
	for i := 0; i+1 < len(mrec); i++ {
		if mrec[i+1] != mrec[i] {
			terms = append(terms, (mrec[i+1]-mrec[i])*mpre[i+1])
		}
	}
	// Rounded recall steps can add up past 1 by an ulp: clamp, as AP07.
	return min(numpySum(terms), 1)
}
