package metrics

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// testdata/detection_reference.json holds random scenes (objects of every
// area range, duplicated objects, jittered and random detections, tied
// scores, empty images, ten COCO classes so that numpy sums in more than one
// buffer) with the numbers the reference implementations gave for them:
//   - coco: pycocotools' COCOeval (cocodataset/cocoapi 8c9bcc3, its Python
//     cocoeval.py with maskApi.c's bbIou transcribed to Python) on numpy
//     1.24.2: stats, and per class np.mean of precision[:, :, k, 0, -1]
//     over entries > -1. Rows are [image, class, x, y, w, h(, score)].
//   - voc: voc_eval's matching loop and voc_ap (py-faster-rcnn), with the
//     detections sorted by np.argsort(-score, kind="mergesort") after
//     ordering them by image, which is this package's tie rule. Rows are
//     [image, class, xmin, ymin, xmax, ymax, difficult] in VOC's 1-based
//     inclusive pixels (converted with BoxVOC), and [..., score] for
//     detections.
//
// The comparison is exact: same thresholds, same arithmetic, same
// summation order.
type reference struct {
	COCO struct {
		GT, Dets   [][]float64
		Stats      []float64
		PerClassAP map[string]float64
	}
	VOC struct {
		GT, Dets   [][]float64
		AP07, AP   map[string]float64
		MAP07, MAP float64
	}
}

func readReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/detection_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.COCO.GT) == 0 || len(ref.VOC.Dets) == 0 {
		t.Fatal("reference file has no scenes")
	}
	return ref
}

func TestCOCOMatchesPycocotools(t *testing.T) {
	ref := readReference(t).COCO
	var gts []GroundTruth
	for _, r := range ref.GT {
		gts = append(gts, gt(int(r[0]), int(r[1]), BoxXYWH(r[2], r[3], r[4], r[5])))
	}
	var dets []Detection
	for _, r := range ref.Dets {
		dets = append(dets, det(int(r[0]), int(r[1]), BoxXYWH(r[2], r[3], r[4], r[5]), r[6]))
	}
	res, err := EvaluateCOCO(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range res.Stats() {
		if got != ref.Stats[i] {
			t.Errorf("stats[%d] = %.17g, pycocotools %.17g", i, got, ref.Stats[i])
		}
	}
	if len(res.Classes) != len(ref.PerClassAP) {
		t.Errorf("%d classes, want %d", len(res.Classes), len(ref.PerClassAP))
	}
	for _, c := range res.Classes {
		if want, ok := ref.PerClassAP[strconv.Itoa(c.Class)]; !ok || c.AP != want {
			t.Errorf("class %d: AP %.17g, pycocotools %.17g (present: %v)", c.Class, c.AP, want, ok)
		}
	}
}

func TestVOCMatchesVocEval(t *testing.T) {
	ref := readReference(t).VOC
	var gts []GroundTruth
	for _, r := range ref.GT {
		gts = append(gts, GroundTruth{Image: int(r[0]), Class: int(r[1]), Box: BoxVOC(r[2], r[3], r[4], r[5]), Difficult: r[6] != 0})
	}
	var dets []Detection
	for _, r := range ref.Dets {
		dets = append(dets, det(int(r[0]), int(r[1]), BoxVOC(r[2], r[3], r[4], r[5]), r[6]))
	}
	res, err := EvaluateVOC(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	if res.MAP07 != ref.MAP07 || res.MAP != ref.MAP {
		t.Errorf("mAP07, mAP = %.17g, %.17g; voc_eval %.17g, %.17g", res.MAP07, res.MAP, ref.MAP07, ref.MAP)
	}
	for _, c := range res.Classes {
		key := strconv.Itoa(c.Class)
		want07, ok := ref.AP07[key]
		if !ok {
			want07 = -1 // voc_eval skipped it: no non-difficult object
		}
		want, ok := ref.AP[key]
		if !ok {
			want = -1
		}
		if c.AP07 != want07 || c.AP != want {
			t.Errorf("class %d: AP07, AP = %.17g, %.17g; voc_eval %.17g, %.17g", c.Class, c.AP07, c.AP, want07, want)
		}
	}
}
