package metrics

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// cocoValue reads one number of a COCO result by name: a Stats name, or
// "AP[c]", "AP50[c]", "AP75[c]", "AR100[c]" for class c.
func cocoValue(t *testing.T, r *COCOResult, name string) float64 {
	t.Helper()
	if base, arg, ok := strings.Cut(name, "["); ok {
		class, err := strconv.Atoi(strings.TrimSuffix(arg, "]"))
		if err != nil {
			t.Fatalf("bad name %q", name)
		}
		c, ok := r.Class(class)
		if !ok {
			t.Fatalf("no class %d in the result", class)
		}
		return map[string]float64{"AP": c.AP, "AP50": c.AP50, "AP75": c.AP75, "AR100": c.AR100}[base]
	}
	names := []string{"AP", "AP50", "AP75", "APSmall", "APMedium", "APLarge", "AR1", "AR10", "AR100", "ARSmall", "ARMedium", "ARLarge"}
	for i, n := range names {
		if n == name {
			return r.Stats()[i]
		}
	}
	t.Fatalf("bad name %q", name)
	return 0
}

// Hand-built COCO cases. Arithmetic conventions in the comments:
//   - a class's AP at one IoU threshold is the mean over the 101 recall
//     levels 0, .01, …, 1 of the precision envelope at the first ranked
//     detection whose recall reaches the level (0 past the last one);
//   - AP is the mean of that over the 10 thresholds .50:.05:.95;
//   - "1" is 1−2⁻⁵² (pycocotools' ε), hence the 1e-12 tolerance.
//
// The shared boxes: big is 100×100 (area 10,000: "large"); sub-boxes of it
// share its top-left corner, so IoU(big, 100×h) = h/100 exactly.
var big = xywh(0, 0, 100, 100)

func TestCOCOHandBuilt(t *testing.T) {
	cases := []struct {
		name string
		gts  []GroundTruth
		dets []Detection
		want map[string]float64
	}{
		{
			// Every ground truth found exactly: precision 1 at every recall
			// level and threshold. 50×50 boxes (area 2,500) are "medium", so
			// small and large have no ground truth: -1.
			name: "perfect",
			gts:  []GroundTruth{gt(1, 1, xywh(10, 10, 50, 50)), gt(1, 2, xywh(70, 70, 50, 50)), gt(2, 1, xywh(0, 0, 50, 50))},
			dets: []Detection{det(1, 1, xywh(10, 10, 50, 50), .9), det(1, 2, xywh(70, 70, 50, 50), .8), det(2, 1, xywh(0, 0, 50, 50), .7)},
			want: map[string]float64{"AP": 1, "AP50": 1, "AP75": 1, "APSmall": -1, "APMedium": 1, "APLarge": -1,
				"AR1": 1, "AR10": 1, "AR100": 1, "ARSmall": -1, "ARMedium": 1, "ARLarge": -1, "AP[1]": 1, "AP[2]": 1},
		},
		{
			// Shifted right by 20: IoU = 80·100/(2·10,000 − 8,000) = 2/3,
			// at or above .50 .55 .60 .65, below .70 … .95. A threshold it
			// passes gives AP 1; one it fails leaves a lone false positive,
			// AP 0. AP = 4/10; AR100 = 4/10 likewise.
			name: "shifted IoU 2/3",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(20, 0, 100, 100), .9)},
			want: map[string]float64{"AP": .4, "AP50": 1, "AP75": 0, "AR100": .4, "APLarge": .4},
		},
		{
			// Shifted by 10: IoU = 90/110 = 0.818…: passes .50 … .80, 7 of
			// 10. AP = .7.
			name: "shifted IoU 9/11",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(10, 0, 100, 100), .9)},
			want: map[string]float64{"AP": .7, "AP50": 1, "AP75": 1, "AR100": .7},
		},
		{
			// IoU exactly .75 (75×100 inside 100×100) passes .75: a match
			// needs IoU ≥ threshold. 6 thresholds of 10.
			name: "IoU exactly at a threshold",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(0, 0, 100, 75), .9)},
			want: map[string]float64{"AP": .6, "AP75": 1},
		},
		{
			// IoU 0.9 passes the threshold numpy's linspace makes
			// 0.8999999999999999, as in pycocotools: 9 of 10.
			name: "IoU 0.9 and the float threshold",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(0, 0, 100, 90), .9)},
			want: map[string]float64{"AP": .9},
		},
		{
			// A duplicate with a lower score is a false positive after the
			// true positive: recall [1, 1], precision [1, .5]; the envelope
			// is 1 at every level. AP stays 1.
			name: "duplicate after the match",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8)},
			want: map[string]float64{"AP": 1, "AR100": 1},
		},
		{
			// The worse box scores higher: A (IoU .65, score .9), B (IoU 1,
			// score .8). At .50 … .65 A takes the object and B is a false
			// positive after it: AP 1. At .70 … .95 A matches nothing and
			// ranks first: recall [0, 1], precision [0, .5], envelope .5
			// everywhere: AP .5. AP = (4·1 + 6·.5)/10 = .7; AP75 = .5.
			name: "duplicate before the better box",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(0, 0, 100, 65), .9), det(1, 1, big, .8)},
			want: map[string]float64{"AP": .7, "AP50": 1, "AP75": .5},
		},
		{
			// Two objects; d1 finds g1, a duplicate of d1 ranks second, d3
			// finds g2 (IoU 1 each, so every threshold is alike). Recall
			// [.5, .5, 1], precision [1, .5, 2/3], envelope [1, 2/3, 2/3].
			// Levels 0 … .50 (51 of them) reach recall .5 at d1: 1; levels
			// .51 … 1 (50) reach it at d3: 2/3.
			// AP = (51 + 50·2/3)/101 = 253/303.
			name: "duplicate between two matches",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8), det(1, 1, xywh(200, 0, 100, 100), .7)},
			want: map[string]float64{"AP": 253.0 / 303, "AR100": 1, "AR1": .5},
		},
		{
			// Two objects, one found: recall .5 with precision 1. Levels 0 …
			// .50 (51 of 101) get 1, the rest 0: AP = 51/101; AR = .5.
			name: "missed object",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: []Detection{det(1, 1, big, .9)},
			want: map[string]float64{"AP": 51.0 / 101, "AR100": .5},
		},
		{
			// Ten objects, three found: recall .1, .2, .3. Levels 0 … .30
			// (31) get 1: AP = 31/101.
			name: "three of ten",
			gts:  tenObjects(),
			dets: []Detection{det(1, 1, xywh(0, 0, 10, 10), .9), det(1, 1, xywh(20, 0, 10, 10), .8), det(1, 1, xywh(40, 0, 10, 10), .7)},
			want: map[string]float64{"AP": 31.0 / 101, "AR100": .3},
		},
		{
			// Class 2 has detections but no ground truth: its AP is -1 and
			// the mean leaves it out, as COCO does. mAP = class 1's = 1.
			name: "class without ground truth",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .9), det(1, 2, big, .95), det(2, 2, big, .5)},
			want: map[string]float64{"AP": 1, "AP[1]": 1, "AP[2]": -1, "AR100[2]": -1, "AR100": 1},
		},
		{
			// Nothing to evaluate at all: every number -1.
			name: "detections only",
			dets: []Detection{det(1, 1, big, .9)},
			want: map[string]float64{"AP": -1, "AP50": -1, "AR1": -1, "AR100": -1, "AP[1]": -1},
		},
		{
			// Image 2 has no objects; its detection (score .9) is a false
			// positive ranked before image 1's true positive (.5): recall
			// [0, 1], precision [0, .5], envelope .5 everywhere: AP .5.
			name: "false positive on an image without objects",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .5), det(2, 1, big, .9)},
			want: map[string]float64{"AP": .5, "AR100": 1},
		},
		{
			// Equal scores across images rank by ascending image id: image
			// 1's false positive before image 2's true positive, AP .5 as
			// above (the input order is the reverse).
			name: "score tie across images, false positive first",
			gts:  []GroundTruth{gt(2, 1, big)},
			dets: []Detection{det(2, 1, big, .5), det(1, 1, big, .5)},
			want: map[string]float64{"AP": .5},
		},
		{
			// The same with the image ids swapped: the true positive ranks
			// first, recall [1, 1], precision [1, .5]: AP 1.
			name: "score tie across images, true positive first",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(2, 1, big, .5), det(1, 1, big, .5)},
			want: map[string]float64{"AP": 1},
		},
		{
			// Within one image, equal scores keep input order (pycocotools'
			// stable sort): the false positive comes first, AP .5.
			name: "score tie in one image keeps input order",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(300, 0, 10, 10), .5), det(1, 1, big, .5)},
			want: map[string]float64{"AP": .5},
		},
		{
			// One object per area range: small 20×20 (400), medium 50×50
			// (2,500), large 100×100 (10,000); the small and large ones found
			// (scores .9, .8).
			// all: recall [1/3, 2/3], precision 1: levels 0 … .66 (67) get 1:
			//   AP = 67/101, AR = 2/3.
			// small: only the small object counts; the large detection
			//   matches an ignored object and is ignored: AP 1.
			// medium: the medium object is missed; both detections match
			//   ignored objects and are ignored: AP 0, AR 0.
			// large: AP 1.
			name: "area ranges",
			gts:  []GroundTruth{gt(1, 1, xywh(0, 0, 20, 20)), gt(1, 1, xywh(100, 0, 50, 50)), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: []Detection{det(1, 1, xywh(0, 0, 20, 20), .9), det(1, 1, xywh(200, 0, 100, 100), .8)},
			want: map[string]float64{"AP": 67.0 / 101, "AR100": 2.0 / 3, "APSmall": 1, "APMedium": 0, "APLarge": 1,
				"ARSmall": 1, "ARMedium": 0, "ARLarge": 1},
		},
		{
			// A small object found (score .5) and a large false positive
			// elsewhere (score .9). all: false positive first, AP .5.
			// small: the unmatched large detection lies outside the range
			// and is ignored, AP 1. large: no object, -1.
			name: "unmatched detection outside the range is ignored",
			gts:  []GroundTruth{gt(1, 1, xywh(0, 0, 20, 20))},
			dets: []Detection{det(1, 1, xywh(0, 0, 20, 20), .5), det(1, 1, xywh(200, 0, 100, 100), .9)},
			want: map[string]float64{"AP": .5, "APSmall": 1, "APMedium": -1, "APLarge": -1},
		},
		{
			// Range bounds are inclusive at both ends, as in pycocotools: a
			// 32×32 object (1,024 = 32²) is small and medium, a 96×96 one
			// (9,216 = 96²) medium and large.
			name: "area range bounds",
			gts:  []GroundTruth{gt(1, 1, xywh(0, 0, 32, 32)), gt(2, 1, xywh(0, 0, 96, 96))},
			dets: []Detection{det(1, 1, xywh(0, 0, 32, 32), .9), det(2, 1, xywh(0, 0, 96, 96), .9)},
			want: map[string]float64{"APSmall": 1, "APMedium": 1, "APLarge": 1, "ARSmall": 1, "ARMedium": 1, "ARLarge": 1},
		},
		{
			// Two objects in one image; g1 found by the top detection, then
			// 9 false positives, then g2 found at rank 11.
			// AR1 and AR10 see only g1: .5. AR100 sees both: 1.
			// AP: recall .5 (ranks 1–10), 1 (rank 11); precision 1, 1/2, …,
			// 1/10, 2/11; envelope 1 at rank 1, 2/11 from rank 6 on. Levels 0
			// … .50 (51) get 1, .51 … 1 (50) get 2/11:
			// AP = (51 + 50·2/11)/101 = 661/1111.
			name: "detection limits",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: append(falsePositives(1, 1, 9, .5), det(1, 1, big, 1), det(1, 1, xywh(200, 0, 100, 100), .1)),
			want: map[string]float64{"AR1": .5, "AR10": .5, "AR100": 1, "AP": 661.0 / 1111},
		},
		{
			// 100 false positives outrank the only true positive, which
			// ranks 101st in its image and class and is cut: AP 0, AR 0.
			// (Uncut it would give precision 1/101 at recall 1.)
			name: "only 100 detections per image and class",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: append(falsePositives(1, 1, 100, .5), det(1, 1, big, .1)),
			want: map[string]float64{"AP": 0, "AR100": 0},
		},
		{
			// The limit is per class: class 2's 100 detections don't push
			// class 1's match out. AP[1] = 1; class 2 has no objects.
			name: "the limit is per class",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: append(falsePositives(1, 2, 100, .5), det(1, 1, big, .1)),
			want: map[string]float64{"AP": 1, "AP[1]": 1, "AP[2]": -1},
		},
		{
			// d1 (100×100) overlaps g1 (top 100×80) and g2 (bottom 100×80)
			// with the same IoU .8; pycocotools keeps the later of equal
			// IoUs, so d1 takes g2 and leaves g1 to d2 (top 100×60: IoU .75
			// with g1, .4 with g2). (Taking the first, d2 would find nothing.)
			// .50 … .75 (6 thresholds): both match, AP 1.
			// .80: d1 matches, d2 doesn't: recall [.5, .5], precision
			//   [1, .5]: AP 51/101.
			// .85 … .95 (3): neither: AP 0.
			// AP = (6 + 51/101)/10 = 657/1010.
			name: "equal IoU goes to the later object",
			gts:  []GroundTruth{gt(1, 1, xywh(0, 0, 100, 80)), gt(1, 1, xywh(0, 20, 100, 80))},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, xywh(0, 0, 100, 60), .8)},
			want: map[string]float64{"AP": 657.0 / 1010, "AP50": 1, "AP75": 1},
		},
		{
			// Two identical objects: the detection's IoU ties, and the later
			// one takes it (pycocotools keeps the last of equal IoUs); the
			// second detection then takes the first. Both matched: AP 1.
			name: "identical objects",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8)},
			want: map[string]float64{"AP": 1, "AR1": .5, "AR10": 1},
		},
		{
			// g2 (100×60 at the corner) overlaps g1 with IoU .6. d1 finds g1;
			// d2, a copy of g1, then has IoU .6 with the free g2 and matches
			// it at .50, .55 and .60: AP 1 there. At the other 7, recall
			// [.5, .5], precision [1, .5]: AP 51/101.
			// AP = (3 + 7·51/101)/10 = 66/101. (VOC calls d2 a false
			// positive: its best overlap is the matched g1. See
			// TestVOCHandBuilt.)
			name: "second-best object",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(0, 0, 100, 60))},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8)},
			want: map[string]float64{"AP": 66.0 / 101, "AP50": 1},
		},
		{
			// IoU exactly .5 matches at the .50 threshold (COCO: ≥; VOC: >,
			// see TestVOCHandBuilt): AP = 1/10, AP50 = 1.
			name: "IoU exactly one half",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(0, 0, 100, 50), .9)},
			want: map[string]float64{"AP": .1, "AP50": 1, "AP75": 0},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := EvaluateCOCO(tc.gts, tc.dets)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := cocoValue(t, r, name); !near(got, want) {
					t.Errorf("%s = %.17g, want %.17g", name, got, want)
				}
			}
		})
	}
}

// tenObjects are ten 10×10 objects in a row, 20 pixels apart.
func tenObjects() []GroundTruth {
	var out []GroundTruth
	for i := range 10 {
		out = append(out, gt(1, 1, xywh(float64(20*i), 0, 10, 10)))
	}
	return out
}

// falsePositives are n detections far from any object used in the tests,
// with scores just below top.
func falsePositives(image, class, n int, top float64) []Detection {
	var out []Detection
	for i := range n {
		out = append(out, det(image, class, xywh(1000+float64(20*i), 1000, 10, 10), top-float64(i)*1e-4))
	}
	return out
}

func TestCOCOPrecisionCurve(t *testing.T) {
	// The missed-object case: the curve at every threshold is 1 up to
	// recall .50 and 0 after it.
	r, err := EvaluateCOCO(
		[]GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
		[]Detection{det(1, 1, big, .9)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Class(1)
	if len(c.Precision) != 10 || c.GroundTruths != 2 || c.Detections != 1 {
		t.Fatalf("class 1: %d curves, %d objects, %d detections; want 10, 2, 1", len(c.Precision), c.GroundTruths, c.Detections)
	}
	recall := COCORecallThresholds()
	for ti, curve := range c.Precision {
		for ri, p := range curve {
			want := 0.0
			if recall[ri] <= .5 {
				want = 1
			}
			if !near(p, want) {
				t.Fatalf("precision[%d][%d] (recall %v) = %v, want %v", ti, ri, recall[ri], p, want)
			}
		}
	}
}

// TestCOCOThresholds pins the thresholds to the values numpy 1.24's
// linspace gives, as printed by Python's repr.
func TestCOCOThresholds(t *testing.T) {
	iou := "0.5 0.55 0.6 0.65 0.7 0.75 0.8 0.85 0.8999999999999999 0.95"
	var got []string
	for _, v := range COCOIoUThresholds() {
		got = append(got, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if g := strings.Join(got, " "); g != iou {
		t.Errorf("IoU thresholds\n%s\nwant\n%s", g, iou)
	}
	// Recall levels printed off by a bit from their decimal.
	odd := map[int]string{35: "0.35000000000000003", 41: "0.41000000000000003", 47: "0.47000000000000003",
		57: "0.5700000000000001", 69: "0.6900000000000001", 70: "0.7000000000000001", 82: "0.8200000000000001",
		83: "0.8300000000000001", 94: "0.9400000000000001", 95: "0.9500000000000001"}
	for i, v := range COCORecallThresholds() {
		want, ok := odd[i]
		if !ok {
			want = strconv.FormatFloat(float64(i)/100, 'g', -1, 64)
		}
		if got := strconv.FormatFloat(v, 'g', -1, 64); got != want {
			t.Errorf("recall level %d = %s, want %s", i, got, want)
		}
	}
}

func TestDetectionInputErrors(t *testing.T) {
	cases := []struct {
		name string
		gts  []GroundTruth
		dets []Detection
		want string // in the error
	}{
		{"NaN in a ground truth", []GroundTruth{gt(1, 1, big), gt(1, 1, big), gt(4, 2, Box{0, 0, nanF(), 1})}, nil, "ground truth 2 (image 4, class 2)"},
		{"Inf in a detection", []GroundTruth{gt(1, 1, big)}, []Detection{det(1, 1, big, .5), det(3, 1, Box{infF(), 0, 1, 1}, .5)}, "detection 1 (image 3, class 1)"},
		{"x2 < x1", nil, []Detection{det(1, 1, Box{10, 0, 5, 5}, .5)}, "detection 0 (image 1, class 1): invalid detection metrics input: box {10 0 5 5} has x2 < x1"},
		{"y2 < y1", []GroundTruth{gt(1, 1, Box{0, 10, 5, 5})}, nil, "ground truth 0"},
		{"NaN score", nil, []Detection{det(1, 1, big, nanF())}, "detection 0 (image 1, class 1): invalid detection metrics input: score is NaN"},
		{"area overflows", []GroundTruth{gt(1, 1, Box{-1e308, -1e308, 1e308, 1e308})}, nil, "ground truth 0 (image 1, class 1): invalid detection metrics input: box"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for name, eval := range map[string]func() error{
				"COCO": func() error { _, err := EvaluateCOCO(tc.gts, tc.dets); return err },
				"VOC":  func() error { _, err := EvaluateVOC(tc.gts, tc.dets); return err },
			} {
				err := eval()
				if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalidInput) {
					t.Errorf("%s: error %v, want one wrapping ErrInvalidInput and containing %q", name, err, tc.want)
				}
			}
		})
	}
}
