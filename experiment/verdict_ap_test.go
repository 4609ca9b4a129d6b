package experiment

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/graftml/graft/metrics"
)

// detector simulates a detector's test run on images of one to three
// signs of three classes: it finds each sign with probability recall
// (slightly off, scored high) and adds falsePos random boxes per image
// (scored lower), giving the run's AP records.
func detector(t *testing.T, seed uint64, images int, recall float64, falsePos int) Run {
	t.Helper()
	scene := rand.New(rand.NewPCG(99, 1)) // the test set: the same for every detector
	rng := rand.New(rand.NewPCG(seed, 2))
	fp := rand.New(rand.NewPCG(seed, 3)) // apart, so that the false positives don't change what is found
	var gts []metrics.GroundTruth
	var dets []metrics.Detection
	for im := range images {
		for range 1 + scene.IntN(3) {
			s := 20 + 60*scene.Float64()
			b := metrics.BoxXYWH(400*scene.Float64(), 400*scene.Float64(), s, s)
			c := scene.IntN(3)
			gts = append(gts, metrics.GroundTruth{Image: im, Class: c, Box: b})
			if rng.Float64() < recall {
				d := metrics.BoxXYWH(b.X1+0.05*s*rng.NormFloat64(), b.Y1+0.05*s*rng.NormFloat64(), s, s)
				dets = append(dets, metrics.Detection{Image: im, Class: c, Box: d, Score: 0.4 + 0.6*rng.Float64()})
			}
		}
		for range falsePos {
			d := metrics.BoxXYWH(400*fp.Float64(), 400*fp.Float64(), 40, 40)
			dets = append(dets, metrics.Detection{Image: im, Class: fp.IntN(3), Box: d, Score: 0.7 * fp.Float64()})
		}
	}
	r, err := metrics.RecordsAP50(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	return Run{Strategy: "x", Seed: int(seed), Status: "ok", APRecords: r}
}

// detectorRuns are a strategy's runs over seeds 1…seeds.
func detectorRuns(t *testing.T, seeds, images int, recall float64, falsePos int) map[int]Run {
	runs := map[int]Run{}
	for s := 1; s <= seeds; s++ {
		runs[s] = detector(t, uint64(s), images, recall, falsePos)
	}
	return runs
}

func meanAP(runs map[int]Run) float64 {
	var tot float64
	for _, r := range runs {
		tot += r.APRecords.MeanAP(nil)
	}
	return tot / float64(len(runs))
}

func TestMeanIntervalAP(t *testing.T) {
	width := map[int]float64{}
	for _, images := range []int{40, 400} {
		runs := detectorRuns(t, 3, images, 0.7, 2)
		lo, hi, ok := meanIntervalAP(runs, rand.New(rand.NewPCG(1, 2)))
		if !ok {
			t.Fatalf("%d images: no interval", images)
		}
		if m := meanAP(runs); !(lo < m && m < hi) {
			t.Errorf("%d images: mean mAP %.4f outside its interval [%.4f, %.4f]", images, m, lo, hi)
		}
		width[images] = hi - lo
	}
	// Ten times the images: the image part of the width shrinks by about
	// √10; the seeds' part stays.
	if !(width[400] < 0.6*width[40]) {
		t.Errorf("interval width %.4f on 400 images, %.4f on 40: want it to shrink with more images", width[400], width[40])
	}

	t.Run("one annotated image", func(t *testing.T) {
		// A third of the resamples drop the one image with ground truth,
		// where mAP is undefined (-1): they are drawn again, not counted.
		one := &metrics.APRecords{Images: 2, Classes: []metrics.APClassRecords{{GroundTruths: []int32{0}, Detections: []int32{1, 0}, TP: []byte{0b10}}}}
		lo, hi, ok := meanIntervalAP(map[int]Run{1: {Status: "ok", APRecords: one}}, rand.New(rand.NewPCG(1, 2)))
		if !ok || !(0 < lo && lo < hi && hi <= 1) {
			t.Errorf("interval [%v, %v] (ok %v), want one inside (0, 1]", lo, hi, ok)
		}
	})
	t.Run("no usable records", func(t *testing.T) {
		runs := map[int]Run{
			1: {Status: "ok"},
			2: {Status: "ok", APRecords: &metrics.APRecords{Images: 2}}, // no ground truth
			3: {Status: "ok", APRecords: &metrics.APRecords{Images: 1, Classes: []metrics.APClassRecords{{GroundTruths: []int32{5}}}}},
		}
		if _, _, ok := meanIntervalAP(runs, rand.New(rand.NewPCG(1, 2))); ok {
			t.Error("an interval from runs without usable AP records")
		}
	})
}

func TestPairedDiffAP(t *testing.T) {
	good := detectorRuns(t, 3, 150, 0.9, 1)
	poor := detectorRuns(t, 3, 150, 0.6, 3)

	t.Run("itself", func(t *testing.T) {
		seeds := pairedRunsAP(good, good)
		d, lo, hi := pairedDiffAP(good, good, seeds, rand.New(rand.NewPCG(3, 4)))
		if d != 0 || lo != 0 || hi != 0 {
			t.Errorf("a detector against itself: diff %v [%v, %v], want exactly 0 [0, 0]", d, lo, hi)
		}
	})
	t.Run("clearly better", func(t *testing.T) {
		seeds := pairedRunsAP(good, poor)
		if !slices.Equal(seeds, []int{1, 2, 3}) {
			t.Fatalf("paired seeds %v, want [1 2 3]", seeds)
		}
		d, lo, hi := pairedDiffAP(good, poor, seeds, rand.New(rand.NewPCG(3, 4)))
		if want := meanAP(good) - meanAP(poor); math.Abs(d-want) > 1e-12 {
			t.Errorf("diff %v, want the difference of the means %v", d, want)
		}
		if !(0 < lo && lo < d && d < hi) {
			t.Errorf("better detector: diff %.4f [%.4f, %.4f], want an interval around it above 0", d, lo, hi)
		}
		d, lo, hi = pairedDiffAP(poor, good, seeds, rand.New(rand.NewPCG(3, 4)))
		if !(lo < d && d < hi && hi < 0) {
			t.Errorf("worse detector: diff %.4f [%.4f, %.4f], want an interval around it below 0", d, lo, hi)
		}
	})
	t.Run("pairing is narrower", func(t *testing.T) {
		// Two detectors that differ only in a few false positives share
		// their misses: pairing cancels the images' difficulty, so the
		// difference is known far better than either mean.
		a, b := detectorRuns(t, 3, 150, 0.7, 1), detectorRuns(t, 3, 150, 0.7, 2)
		_, lo, hi := pairedDiffAP(a, b, pairedRunsAP(a, b), rand.New(rand.NewPCG(5, 6)))
		mlo, mhi, _ := meanIntervalAP(a, rand.New(rand.NewPCG(5, 6)))
		if !(hi-lo < 0.6*(mhi-mlo)) {
			t.Errorf("paired interval width %.4f, a mean's %.4f: want the paired one well under it", hi-lo, mhi-mlo)
		}
	})
}

func TestPairedRunsAP(t *testing.T) {
	a := detectorRuns(t, 4, 20, 0.8, 1)
	b := detectorRuns(t, 4, 20, 0.8, 1)
	// changed is a copy of seed 1's records of a, changed.
	changed := func(change func(*metrics.APRecords)) Run {
		r := *a[1].APRecords
		r.Classes = slices.Clone(r.Classes)
		for i := range r.Classes {
			r.Classes[i].GroundTruths = slices.Clone(r.Classes[i].GroundTruths)
		}
		change(&r)
		return Run{Status: "ok", APRecords: &r}
	}
	b[2] = Run{Status: "ok", TestCorrect: []byte{1}} // a classifier's record
	b[3] = detector(t, 3, 21, 0.8, 1)                // other test images
	delete(b, 4)                                     // no run
	a[5], b[5] = detector(t, 5, 20, .8, 1), Run{}    // nothing on one side
	a[6], b[6] = changed(func(r *metrics.APRecords) { r.Classes[0].TP = nil }), a[1]
	a[7], b[7] = changed(func(r *metrics.APRecords) { r.Classes[0].GroundTruths[0]++ }), a[1]
	// A detection in a later image than any ground truth: more images
	// recorded, the same test set.
	a[8], b[8] = changed(func(r *metrics.APRecords) { r.Images += 3 }), a[1]
	if got := pairedRunsAP(a, b); !slices.Equal(got, []int{1, 8}) {
		t.Errorf("paired seeds %v, want [1 8]", got)
	}
	if _, _, hi := pairedDiffAP(a, b, []int{2, 3, 4, 5, 6, 7}, rand.New(rand.NewPCG(1, 1))); hi != 0 {
		t.Errorf("unpaired seeds gave an interval up to %v", hi)
	}
	if d, lo, hi := pairedDiffAP(a, b, []int{8}, rand.New(rand.NewPCG(1, 1))); d != 0 || lo != 0 || hi != 0 {
		t.Errorf("the same records with more images: diff %v [%v, %v], want exactly 0", d, lo, hi)
	}
}
