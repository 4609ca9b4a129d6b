package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// apCase is a detection evaluation to compare RecordsAP50 with EvaluateCOCO on.
type apCase struct {
	name string
	gts  []GroundTruth
	dets []Detection
}

// apCases are the package's scenes for AP at IoU 0.5: pycocotools'
// reference scenes, cases at the edges of what the records keep, and
// random scenes with and without tied scores.
func apCases(t *testing.T) []apCase {
	t.Helper()
	ref := readReference(t).COCO
	refCase := apCase{name: "pycocotools reference"}
	for _, r := range ref.GT {
		refCase.gts = append(refCase.gts, gt(int(r[0]), int(r[1]), BoxXYWH(r[2], r[3], r[4], r[5])))
	}
	for _, r := range ref.Dets {
		refCase.dets = append(refCase.dets, det(int(r[0]), int(r[1]), BoxXYWH(r[2], r[3], r[4], r[5]), r[6]))
	}
	cases := []apCase{
		refCase,
		{name: "nothing"},
		{name: "detections only", dets: []Detection{det(0, 1, big, .9)}},
		{name: "missed", gts: []GroundTruth{gt(0, 1, big)}, dets: []Detection{det(0, 1, xywh(500, 500, 10, 10), .9)}},
		{
			// A ground truth of area above 1e10 is outside COCO's area
			// range "all": ignored, as is the detection matched to it.
			name: "huge ground truth",
			gts:  []GroundTruth{gt(0, 1, xywh(0, 0, 2e5, 2e5)), gt(0, 1, big), gt(1, 2, xywh(0, 0, 2e5, 2e5))},
			dets: []Detection{det(0, 1, xywh(0, 0, 2e5, 2e5), .95), det(0, 1, big, .5), det(1, 2, xywh(0, 0, 2e5, 2e5), .9)},
		},
		{
			// 120 detections in one image: COCO evaluates the 100 best, so
			// the true positive at rank 101 does not count.
			name: "over 100 in an image",
			gts:  []GroundTruth{gt(0, 1, big), gt(1, 1, big)},
			dets: append(falsePositives(0, 1, 100, .9), det(0, 1, big, .1), det(1, 1, big, .05)),
		},
		{
			name: "trailing false positives",
			gts:  tenObjects(),
			dets: append([]Detection{det(1, 1, xywh(0, 0, 10, 10), .99), det(1, 1, xywh(20, 0, 10, 10), .98)}, falsePositives(1, 1, 30, .5)...),
		},
	}
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		tied := seed%2 == 1
		gts, dets := randomScene(rng, 1+rng.IntN(40), 1+rng.IntN(6), 15, tied)
		cases = append(cases, apCase{fmt.Sprintf("random %d (tied %v)", seed, tied), gts, dets})
	}
	return cases
}

// TestMeanAPIsAP50: every image counted once, the records give
// EvaluateCOCO's AP50 to the bit, and each class's PRCurve its precision
// row at IoU 0.5.
func TestMeanAPIsAP50(t *testing.T) {
	for _, tc := range apCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			want, err := EvaluateCOCO(tc.gts, tc.dets)
			if err != nil {
				t.Fatal(err)
			}
			r, err := RecordsAP50(tc.gts, tc.dets)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(); err != nil {
				t.Fatal(err)
			}
			if got := r.MeanAP(nil); got != want.AP50 {
				t.Errorf("MeanAP(nil) = %.17g, EvaluateCOCO's AP50 %.17g", got, want.AP50)
			}
			ones := slices.Repeat([]float64{1}, r.Images)
			if got := r.MeanAP(ones); got != want.AP50 {
				t.Errorf("MeanAP(ones) = %.17g, EvaluateCOCO's AP50 %.17g", got, want.AP50)
			}
			withGT := 0
			for _, c := range want.Classes {
				rec, prec := r.PRCurve(c.Class)
				if c.Precision == nil {
					if prec != nil {
						t.Errorf("class %d has no ground truth but a PR curve", c.Class)
					}
					continue
				}
				withGT++
				if !slices.Equal(rec, COCORecallThresholds()) || !slices.Equal(prec, c.Precision[0]) {
					t.Errorf("class %d: PRCurve differs from EvaluateCOCO's precision at IoU .5:\n got %v\nwant %v", c.Class, prec, c.Precision[0])
				}
			}
			if len(r.Classes) != withGT {
				t.Errorf("%d classes recorded, %d have ground truth", len(r.Classes), withGT)
			}
			_, mean := r.MeanPRCurve()
			if withGT > 0 && math.Abs(numpyMean(mean)-want.AP50) > 1e-12 {
				t.Errorf("mean of MeanPRCurve = %v, AP50 %v", numpyMean(mean), want.AP50)
			}
		})
	}
}

// TestMeanAPWeights: counting image i weights[i] times is evaluating the
// test set with image i repeated weights[i] times under new ids, to the
// bit, for scores without ties (ties across images rank by image id, which
// the repeats renumber).
func TestMeanAPWeights(t *testing.T) {
	for seed := range uint64(60) {
		rng := rand.New(rand.NewPCG(seed, 11))
		images := 1 + rng.IntN(30)
		gts, dets := randomScene(rng, images, 1+rng.IntN(5), 12, false)
		r, err := RecordsAP50(gts, dets)
		if err != nil {
			t.Fatal(err)
		}
		weights := make([]float64, r.Images)
		for i := range weights {
			weights[i] = float64(rng.IntN(4)) // 0 (dropped) to 3
		}
		var rgts []GroundTruth
		var rdets []Detection
		for copy := range 3 {
			id := func(im int) int { return im + copy*r.Images }
			for _, g := range gts {
				if float64(copy) < weights[g.Image] {
					g.Image = id(g.Image)
					rgts = append(rgts, g)
				}
			}
			for _, d := range dets {
				if float64(copy) < weights[d.Image] {
					d.Image = id(d.Image)
					rdets = append(rdets, d)
				}
			}
		}
		want, err := EvaluateCOCO(rgts, rdets)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.MeanAP(weights); got != want.AP50 {
			t.Errorf("seed %d: MeanAP(%v) = %.17g, EvaluateCOCO on the repeated images %.17g", seed, weights, got, want.AP50)
		}
	}
}

// TestRecordsSmall: records keep only what AP can use, so a detector's many
// low-scoring false positives cost nothing.
func TestRecordsSmall(t *testing.T) {
	gts := tenObjects()
	dets := append([]Detection{det(1, 1, xywh(0, 0, 10, 10), .99)}, falsePositives(1, 1, 50, .5)...)
	r, err := RecordsAP50(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Classes[0].Detections); n != 1 {
		t.Errorf("%d detections recorded, want 1 (the false positives below the last true positive add nothing)", n)
	}
	if len(r.Classes[0].GroundTruths) != 10 {
		t.Errorf("%d ground truths recorded, want 10", len(r.Classes[0].GroundTruths))
	}
}

func TestRecordsJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gts, dets := randomScene(rng, 20, 3, 10, false)
	r, err := RecordsAP50(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back APRecords
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if err := back.Check(); err != nil {
		t.Fatal(err)
	}
	if got, want := back.MeanAP(nil), r.MeanAP(nil); got != want {
		t.Errorf("read back: MeanAP %v, before %v", got, want)
	}
}

func TestRecordsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		gts  []GroundTruth
		dets []Detection
	}{
		{"negative image id", []GroundTruth{gt(-1, 0, big)}, nil},
		{"image id too large", nil, []Detection{det(math.MaxInt32, 0, big, .5)}},
		{"invalid box", []GroundTruth{gt(0, 0, Box{0, 0, -1, 1})}, nil},
		{"NaN score", nil, []Detection{det(0, 0, big, math.NaN())}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RecordsAP50(tc.gts, tc.dets); !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %v, want one wrapping ErrInvalidInput", err)
			}
		})
	}
}

func TestRecordsCheck(t *testing.T) {
	good := func() *APRecords {
		return &APRecords{Images: 3, Classes: []APClassRecords{{Class: 0, GroundTruths: []int32{0, 2}, Detections: []int32{1, 2}, TP: []byte{2}}}}
	}
	for _, tc := range []struct {
		name   string
		change func(*APRecords)
		ok     bool
	}{
		{"good", func(*APRecords) {}, true},
		{"negative images", func(r *APRecords) { r.Images = -1 }, false},
		{"ground truth beyond images", func(r *APRecords) { r.Classes[0].GroundTruths[1] = 3 }, false},
		{"negative detection image", func(r *APRecords) { r.Classes[0].Detections[0] = -1 }, false},
		{"missing tp bits", func(r *APRecords) { r.Classes[0].TP = nil }, false},
		{"extra tp bits", func(r *APRecords) { r.Classes[0].TP = []byte{2, 0} }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.change(r)
			err := r.Check()
			if (err == nil) != tc.ok {
				t.Errorf("Check() = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalidInput) {
				t.Errorf("error %v does not wrap ErrInvalidInput", err)
			}
		})
	}
	if v := good().MeanAP([]float64{1}); !math.IsNaN(v) {
		t.Errorf("MeanAP with 1 weight for 3 images = %v, want NaN", v)
	}
	if v, want := good().MeanAP([]float64{1, 1, 1, 0}), good().MeanAP(nil); v != want {
		t.Errorf("MeanAP with a weight past the last image = %v, want %v as without it", v, want)
	}
}

// BenchmarkMeanAP: a bootstrap calls MeanAP 2,000 times per strategy and
// seed, on records of a 500-image test set with 100 detections per image.
func BenchmarkMeanAP(b *testing.B) {
	gts, dets := benchScene(500)
	r, err := RecordsAP50(gts, dets)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	weights := make([]float64, r.Images)
	for i := range weights {
		weights[i] = float64(rng.IntN(3))
	}
	b.Run("images=500/dets=100", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			r.MeanAP(weights)
		}
	})
}
