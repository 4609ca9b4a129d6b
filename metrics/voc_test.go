package metrics

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Hand-built VOC cases. Arithmetic conventions in the comments:
//   - AP07 = Σ over the levels 0, .1, …, 1 of (the highest precision at a
//     recall ≥ the level, or 0) / 11, the levels being numpy's
//     arange(0, 1.1, 0.1): .30000000000000004, .6000000000000001 and
//     .7000000000000001 sit just above their decimals;
//   - AP = Σ over recall steps of (step width) · (highest precision at
//     or after the step), the curve framed by (0, 0) and (1, 0).
//
// A detection needs IoU > .5 with its best-overlapping object.
func TestVOCHandBuilt(t *testing.T) {
	cases := []struct {
		name     string
		gts      []GroundTruth
		dets     []Detection
		ap07, ap float64            // the mean over classes
		class    map[int][2]float64 // per class: {AP07, AP}
	}{
		{
			name: "perfect",
			gts:  []GroundTruth{gt(1, 1, big), gt(2, 1, big), gt(2, 2, xywh(200, 0, 10, 10))},
			dets: []Detection{det(1, 1, big, .9), det(2, 1, big, .8), det(2, 2, xywh(200, 0, 10, 10), .1)},
			ap07: 1, ap: 1, class: map[int][2]float64{1: {1, 1}, 2: {1, 1}},
		},
		{
			// IoU 2/3 > .5: found, AP 1 (COCO: .4).
			name: "shifted, IoU 2/3",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(20, 0, 100, 100), .9)},
			ap07: 1, ap: 1,
		},
		{
			// Shifted by 40: IoU 60/140 = 3/7 ≤ .5: a false positive and a
			// missed object, AP 0.
			name: "shifted, IoU 3/7",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(40, 0, 100, 100), .9)},
			ap07: 0, ap: 0,
		},
		{
			// IoU exactly .5 does not exceed .5 (voc_eval's ">", the VOC
			// paper's "exceed"): AP 0. COCO's .50 threshold counts it.
			name: "IoU exactly one half",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, xywh(0, 0, 100, 50), .9)},
			ap07: 0, ap: 0,
		},
		{
			// d1 finds g1, its duplicate d2 is a false positive, d3 finds
			// g2: recall [.5, .5, 1], precision [1, .5, 2/3].
			// AP07: levels 0 … .5 (6) reach precision 1 at d1; .6 … 1 (5)
			//   only d3, 2/3: (6 + 5·2/3)/11 = 28/33.
			// AP: envelope 1 up to recall .5, 2/3 after:
			//   .5·1 + .5·2/3 = 5/6.
			name: "duplicate between two matches",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8), det(1, 1, xywh(200, 0, 100, 100), .7)},
			ap07: 28.0 / 33, ap: 5.0 / 6,
		},
		{
			// A lower-scored duplicate after every match costs nothing:
			// recall [1, 1], precision [1, .5]: AP 1.
			name: "duplicate after the match",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8)},
			ap07: 1, ap: 1,
		},
		{
			// Two objects, one found: recall .5, precision 1.
			// AP07: levels 0 … .5 (6): 6/11. AP: .5·1 = .5.
			name: "missed object",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100))},
			dets: []Detection{det(1, 1, big, .9)},
			ap07: 6.0 / 11, ap: .5,
		},
		{
			// Ten objects, three found: recall .1, .2, .3 at precision 1.
			// AP07: levels 0, .1, .2 (3) — recall 3/10 falls short of
			// numpy's .30000000000000004 — so 3/11, not 4/11. AP: .3.
			name: "three of ten",
			gts:  tenObjects(),
			dets: []Detection{det(1, 1, xywh(0, 0, 10, 10), .9), det(1, 1, xywh(20, 0, 10, 10), .8), det(1, 1, xywh(40, 0, 10, 10), .7)},
			ap07: 3.0 / 11, ap: .3,
		},
		{
			// g2 overlaps g1 with IoU .6. d2, a copy of g1, overlaps g1 best
			// (1 > .6); g1 is taken by d1, so d2 is a false positive even
			// though it overlaps the free g2 by more than .5 (COCO matches
			// it to g2 at .50 … .60). Recall [.5, .5], precision [1, .5]:
			// AP07 6/11, AP .5.
			name: "best overlap already matched",
			gts:  []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(0, 0, 100, 60))},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, big, .8)},
			ap07: 6.0 / 11, ap: .5,
		},
		{
			// A difficult object is neither required nor penalised: its
			// detection (score .9) drops out, the other object is found.
			// One object counts, found at precision 1: AP 1. Class 2 has
			// only a difficult object: -1, left out of the mean.
			name: "difficult",
			gts: []GroundTruth{{Image: 1, Class: 1, Box: big, Difficult: true}, gt(1, 1, xywh(200, 0, 100, 100)),
				{Image: 1, Class: 2, Box: big, Difficult: true}},
			dets: []Detection{det(1, 1, big, .9), det(1, 1, xywh(200, 0, 100, 100), .8), det(1, 2, big, .9)},
			ap07: 1, ap: 1, class: map[int][2]float64{1: {1, 1}, 2: {-1, -1}},
		},
		{
			// Class 2 has detections but no object: -1, out of the mean.
			name: "class without ground truth",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .9), det(1, 2, big, .95)},
			ap07: 1, ap: 1, class: map[int][2]float64{1: {1, 1}, 2: {-1, -1}},
		},
		{
			name: "detections only",
			dets: []Detection{det(1, 1, big, .9)},
			ap07: -1, ap: -1, class: map[int][2]float64{1: {-1, -1}},
		},
		{
			// Image 2 has no objects; its false positive (.9) ranks first:
			// recall [0, 1], precision [0, .5].
			// AP07: every level reaches recall 1 at precision .5: .5.
			// AP: one step of width 1 at .5: .5.
			name: "false positive on an image without objects",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: []Detection{det(1, 1, big, .5), det(2, 1, big, .9)},
			ap07: .5, ap: .5,
		},
		{
			// Equal scores across images rank by image id, as in COCO:
			// image 1's false positive first, AP .5 as above.
			name: "score tie across images",
			gts:  []GroundTruth{gt(2, 1, big)},
			dets: []Detection{det(2, 1, big, .5), det(1, 1, big, .5)},
			ap07: .5, ap: .5,
		},
		{
			// VOC has no per-image limit: the true positive ranked 101st
			// still counts. Recall reaches 1 at precision 1/101:
			// AP07 = 11·(1/101)/11, AP = 1·1/101. (COCO cuts it: 0.)
			name: "no detection limit",
			gts:  []GroundTruth{gt(1, 1, big)},
			dets: append(falsePositives(1, 1, 100, .5), det(1, 1, big, .1)),
			ap07: 1.0 / 101, ap: 1.0 / 101,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := EvaluateVOC(tc.gts, tc.dets)
			if err != nil {
				t.Fatal(err)
			}
			if !near(r.MAP07, tc.ap07) || !near(r.MAP, tc.ap) {
				t.Errorf("mAP07, mAP = %.17g, %.17g; want %.17g, %.17g", r.MAP07, r.MAP, tc.ap07, tc.ap)
			}
			for class, want := range tc.class {
				c, ok := r.Class(class)
				if !ok {
					t.Fatalf("no class %d", class)
				}
				if !near(c.AP07, want[0]) || !near(c.AP, want[1]) {
					t.Errorf("class %d: AP07, AP = %v, %v; want %v, %v", class, c.AP07, c.AP, want[0], want[1])
				}
			}
		})
	}
}

func TestVOCCurve(t *testing.T) {
	// The duplicate case with a difficult object's detection added at .85:
	// it is left out of the curve.
	gts := []GroundTruth{gt(1, 1, big), gt(1, 1, xywh(200, 0, 100, 100)), {Image: 1, Class: 1, Box: xywh(400, 0, 50, 50), Difficult: true}}
	dets := []Detection{det(1, 1, big, .9), det(1, 1, big, .8), det(1, 1, xywh(200, 0, 100, 100), .7), det(1, 1, xywh(400, 0, 50, 50), .85)}
	r, err := EvaluateVOC(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Class(1)
	want := PRCurve{Recall: []float64{.5, .5, 1}, Precision: []float64{1, .5, 2.0 / 3}, Score: []float64{.9, .8, .7}}
	if !slices.Equal(c.Curve.Recall, want.Recall) || !slices.Equal(c.Curve.Precision, want.Precision) || !slices.Equal(c.Curve.Score, want.Score) {
		t.Errorf("curve %+v, want %+v", c.Curve, want)
	}
	if c.GroundTruths != 2 || c.Detections != 4 {
		t.Errorf("%d objects, %d detections; want 2 (the difficult one left out), 4", c.GroundTruths, c.Detections)
	}
}

// TestVOC07Levels pins the 11 recall levels to numpy's arange(0., 1.1, 0.1).
func TestVOC07Levels(t *testing.T) {
	want := "0 0.1 0.2 0.30000000000000004 0.4 0.5 0.6000000000000001 0.7000000000000001 0.8 0.9 1"
	var got []string
	for _, v := range voc07Recall {
		got = append(got, strconv.FormatFloat(v, 'g', -1, 64))
	}
	if g := strings.Join(got, " "); g != want {
		t.Errorf("levels\n%s\nwant\n%s", g, want)
	}
}
