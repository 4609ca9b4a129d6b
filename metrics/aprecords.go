package metrics

import (
	"fmt"
	"math"
	"slices"
)

// iou50 is the index of IoU 0.5 in cocoIoU (and the bit of cocoDet.tp and
// .ig for it).
const iou50 = 0

// APRecords is what COCO's AP at IoU 0.5 (EvaluateCOCO's AP50) needs to be
// recomputed for any reweighting of the test images, kept small enough to
// be stored with every run in results.json.
//
// mAP is not a sum over images, but at one IoU threshold each detection's
// outcome — true positive, false positive or ignored — depends only on its
// own image: matching is greedy within an image, in score order. So drawing
// the test images again (a bootstrap) changes only how often each image
// counts, and MeanAP replays the ranked detections with those counts: no
// box needs to be matched again.
//
// Images are indexed by their id in the GroundTruth and Detection values;
// records of two detectors on the same test images line up image by image,
// which is what a paired comparison resamples.
type APRecords struct {
	// Images is one more than the largest image id recorded: the least
	// length of MeanAP's weights.
	Images int `json:"images"`
	// Classes are the classes with at least one ground truth, by ascending
	// id; a class without any takes part in no mean.
	Classes []APClassRecords `json:"classes"`
}

// APClassRecords is one class's part of APRecords.
type APClassRecords struct {
	Class int `json:"class"`
	// GroundTruths is the image id of each ground truth that COCO counts
	// (area range "all"), ascending.
	GroundTruths []int32 `json:"ground_truths"`
	// Detections is the image id of each detection that counts at IoU 0.5,
	// in COCO's rank order (score descending, ties by image id, then by
	// the image's own order): each image's 100 best, less those COCO
	// ignores (matched to an ignored ground truth, or unmatched and outside
	// the area range), less the false positives ranked below the class's
	// last true positive, which no weighting can bring into AP.
	Detections []int32 `json:"detections"`
	// TP is a bitset over Detections (bit i is bit i%8, least significant
	// first, of byte i/8), set where the detection is a true positive at
	// IoU 0.5. Base64 in JSON.
	TP []byte `json:"tp"`
}

// RecordsAP50 evaluates detections against ground truth by COCO's rules at
// IoU 0.5 (those of EvaluateCOCO, with its matching code) and keeps each
// counted detection's image and outcome. Image ids must be in [0, 2³¹):
// the records index images by id.
//
// Errors are EvaluateCOCO's, and an out-of-range image id wrapping
// ErrInvalidInput.
func RecordsAP50(gts []GroundTruth, dets []Detection) (*APRecords, error) {
	classes, err := group(gts, dets)
	if err != nil {
		return nil, err
	}
	r := &APRecords{}
	checkID := func(kind string, i, image int) error {
		if image < 0 || image >= math.MaxInt32 {
			return fmt.Errorf("%s %d: %w: image id %d; AP records index images by id, so ids must be in [0, %d): number the test images from 0", kind, i, ErrInvalidInput, image, math.MaxInt32)
		}
		r.Images = max(r.Images, image+1)
		return nil
	}
	for i, g := range gts {
		if err := checkID("ground truth", i, g.Image); err != nil {
			return nil, err
		}
	}
	for i, d := range dets {
		if err := checkID("detection", i, d.Image); err != nil {
			return nil, err
		}
	}

	ev := cocoEvaluator{gts: gts, dets: dets}
	var imageOf []int32 // per position in ev.scored
	for _, c := range classes {
		// As cocoEvaluator.class gathers a class, image by image, keeping
		// what it sums: which image each ground truth and detection is in.
		ev.scored, ev.keys, imageOf = ev.scored[:0], ev.keys[:0], imageOf[:0]
		rec := APClassRecords{Class: c.class}
		for _, im := range c.images {
			var npig [numAreas]int
			ev.matchImage(im.gts, im.dets[:min(len(im.dets), maxDets)], &npig)
			for range npig[areaAll] {
				rec.GroundTruths = append(rec.GroundTruths, int32(im.image))
			}
			for len(imageOf) < len(ev.scored) {
				imageOf = append(imageOf, int32(im.image))
			}
		}
		if len(rec.GroundTruths) == 0 {
			continue
		}
		sortRanked(ev.keys)
		const bit = 1 << iou50
		last := -1
		for i, k := range ev.keys {
			if ev.scored[k.pos].tp[areaAll]&bit != 0 {
				last = i
			}
		}
		for _, k := range ev.keys[:last+1] {
			d := ev.scored[k.pos]
			if d.ig[areaAll]&bit != 0 {
				continue
			}
			i := len(rec.Detections)
			rec.Detections = append(rec.Detections, imageOf[k.pos])
			if i%8 == 0 {
				rec.TP = append(rec.TP, 0)
			}
			if d.tp[areaAll]&bit != 0 {
				rec.TP[i/8] |= 1 << (i % 8)
			}
		}
		r.Classes = append(r.Classes, rec)
	}
	return r, nil
}

// Check reports whether r is consistent — image ids within Images, a TP
// bit for every detection — as records read back from a file must be
// before MeanAP or PRCurve use them. Records from RecordsAP50 are.
func (r *APRecords) Check() error {
	if r.Images < 0 {
		return fmt.Errorf("AP records: %w: %d images", ErrInvalidInput, r.Images)
	}
	inRange := func(ids []int32) bool {
		for _, id := range ids {
			if id < 0 || int(id) >= r.Images {
				return false
			}
		}
		return true
	}
	for _, c := range r.Classes {
		if !inRange(c.GroundTruths) || !inRange(c.Detections) {
			return fmt.Errorf("AP records of class %d: %w: an image id outside [0, %d)", c.Class, ErrInvalidInput, r.Images)
		}
		if len(c.TP) != (len(c.Detections)+7)/8 {
			return fmt.Errorf("AP records of class %d: %w: %d bytes of true-positive bits for %d detections, want %d",
				c.Class, ErrInvalidInput, len(c.TP), len(c.Detections), (len(c.Detections)+7)/8)
		}
	}
	return nil
}

// MeanAP is COCO's mAP at IoU 0.5 with image i counted weights[i] times: a
// weight of 0 drops the image, 2 doubles its detections and its ground
// truth. With nil weights (every image once) it is EvaluateCOCO's AP50 to
// the bit; with integer weights it is EvaluateCOCO's AP50 on the test set
// with each image repeated that many times (as new images), to the bit
// when no two detections of different images tie in score — ties across
// images rank by image id, which repeats renumber. Classes without ground
// truth under the weights are left out of the mean, and -1 means no class
// had any, as in COCOResult.
//
// weights must be nil or have at least Images entries (NaN otherwise):
// records of several detectors on one test set can share weights, though
// their Images differ where one detector found nothing in the last images.
// r must be consistent (Check). One call allocates one scratch slice; it
// costs a pass over the records.
func (r *APRecords) MeanAP(weights []float64) float64 {
	if weights != nil && len(weights) < r.Images {
		return math.NaN()
	}
	k, longest := len(r.Classes), 0
	for _, c := range r.Classes {
		longest = max(longest, len(c.Detections))
	}
	scratch := make([]float64, k+k*numRecall+2*longest)
	npig, flat, curve := scratch[:k], scratch[k:k+k*numRecall], scratch[k+k*numRecall:]
	kept := 0
	for i := range r.Classes {
		if npig[i] = r.Classes[i].groundTruths(weights); npig[i] > 0 {
			kept++
		}
	}
	// pycocotools' summarize flattens precision[T, R, K] and drops the
	// classes at -1: recall level by recall level, the kept classes in
	// order. Summing in that order keeps nil weights equal to AP50.
	col := 0
	for i := range r.Classes {
		if npig[i] == 0 {
			continue
		}
		var q [numRecall]float64
		r.Classes[i].interpolated(&q, weights, npig[i], curve)
		for rec, p := range q {
			flat[rec*kept+col] = p
		}
		col++
	}
	return numpyMean(flat[:kept*numRecall])
}

// groundTruths is the class's weighted ground-truth count.
func (c *APClassRecords) groundTruths(weights []float64) float64 {
	if weights == nil {
		return float64(len(c.GroundTruths))
	}
	n := 0.0
	for _, im := range c.GroundTruths {
		n += weights[im]
	}
	return n
}

// interpolated fills q with the class's precision at COCO's 101 recall
// levels under the weights, as cocoEvaluator.class does with weight 1:
// scratch holds the precision–recall points (twice the detections).
//
// Only true positives add points, which is what makes a bootstrap cheap:
// the interpolation (precision made non-increasing from the right, then
// read at the first point reaching each recall level) never reads a false
// positive's point. It has the recall of the point before it and a lower
// precision, or, before the first true positive, precision 0.
//
// A detection of weight w stands for w copies, ranked together. A true
// positive adds one point, where the last copy would: the copies climb in
// precision, so the interpolation gives every copy the last one's value.
func (c *APClassRecords) interpolated(q *[numRecall]float64, weights []float64, npig float64, scratch []float64) {
	n := len(c.Detections)
	rc, pr := scratch[:0:n], scratch[n:n:2*n]
	var tp, fp float64
	for i, im := range c.Detections {
		w := 1.0
		if weights != nil {
			if w = weights[im]; w == 0 {
				continue
			}
		}
		if c.TP[i/8]&(1<<(i%8)) == 0 {
			fp += w
			continue
		}
		tp += w
		rc = append(rc, tp/npig)
		pr = append(pr, tp/(fp+tp+eps))
	}
	interpolate(q, rc, pr)
}

// PRCurve is one class's precision–recall curve at IoU 0.5 as COCO
// averages it: precision made non-increasing from the right (the
// interpolated curve, not the raw one), read at the 101 recall levels
// 0:.01:1 (COCORecallThresholds), every image counted once. Its mean is
// the class's AP50, and it equals that class's COCOClass.Precision[0].
// Both are nil for a class without ground truth.
func (r *APRecords) PRCurve(class int) (recall, precision []float64) {
	i := slices.IndexFunc(r.Classes, func(c APClassRecords) bool { return c.Class == class })
	if i < 0 || len(r.Classes[i].GroundTruths) == 0 {
		return nil, nil
	}
	c := &r.Classes[i]
	var q [numRecall]float64
	c.interpolated(&q, nil, float64(len(c.GroundTruths)), make([]float64, 2*len(c.Detections)))
	return COCORecallThresholds(), q[:]
}

// MeanPRCurve is the mean over the classes with ground truth of their
// PRCurve: the curve whose mean over recall levels is mAP@0.5. Both are nil
// when no class has ground truth.
func (r *APRecords) MeanPRCurve() (recall, precision []float64) {
	sum := make([]float64, numRecall)
	n := 0
	for _, c := range r.Classes {
		_, p := r.PRCurve(c.Class)
		if p == nil {
			continue
		}
		for i, v := range p {
			sum[i] += v
		}
		n++
	}
	if n == 0 {
		return nil, nil
	}
	for i := range sum {
		sum[i] /= float64(n)
	}
	return COCORecallThresholds(), sum
}
