package metrics

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomScene makes a detection benchmark in miniature: objects of every
// area range, detections that are jittered copies of them (some of the
// wrong class) and random false positives, difficult objects for VOC.
// With tied, scores have one decimal, so many tie.
func randomScene(rng *rand.Rand, images, classes, fpPerImage int, tied bool) ([]GroundTruth, []Detection) {
	var gts []GroundTruth
	var dets []Detection
	score := func() float64 {
		if tied {
			return math.Round(rng.Float64()*10) / 10
		}
		return rng.Float64()
	}
	for im := range images {
		for range rng.IntN(7) {
			s := []float64{5 + 25*rng.Float64(), 32 + 64*rng.Float64(), 96 + 200*rng.Float64()}[rng.IntN(3)]
			b := xywh(600*rng.Float64(), 600*rng.Float64(), s*(.5+rng.Float64()), s*(.5+rng.Float64()))
			c := rng.IntN(classes)
			gts = append(gts, GroundTruth{Image: im, Class: c, Box: b, Difficult: rng.IntN(10) == 0})
			for range rng.IntN(4) {
				j := func() float64 { return rng.NormFloat64() * .1 * s }
				d := Box{b.X1 + j(), b.Y1 + j(), b.X2 + j(), b.Y2 + j()}
				d.X2, d.Y2 = max(d.X1, d.X2), max(d.Y1, d.Y2)
				if rng.IntN(5) == 0 {
					c = rng.IntN(classes)
				}
				dets = append(dets, det(im, c, d, score()))
			}
		}
		for range rng.IntN(fpPerImage + 1) {
			dets = append(dets, det(im, rng.IntN(classes), xywh(600*rng.Float64(), 600*rng.Float64(), 200*rng.Float64(), 200*rng.Float64()), score()))
		}
	}
	return gts, dets
}

type evaluation struct {
	COCO *COCOResult
	VOC  *VOCResult
}

func evaluateBoth(t *testing.T, gts []GroundTruth, dets []Detection) evaluation {
	t.Helper()
	c, err := EvaluateCOCO(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	v, err := EvaluateVOC(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, c, v)
	return evaluation{c, v}
}

// checkResults fails on any number outside [0, 1] other than -1.
func checkResults(t *testing.T, c *COCOResult, v *VOCResult) {
	t.Helper()
	for i, s := range c.Stats() {
		checkRange(t, fmt.Sprintf("COCO stats[%d]", i), s)
	}
	for _, k := range c.Classes {
		for _, s := range []float64{k.AP, k.AP50, k.AP75, k.AR100} {
			checkRange(t, fmt.Sprintf("COCO class %d", k.Class), s)
		}
		for _, row := range k.Precision {
			for _, p := range row {
				checkRange(t, fmt.Sprintf("COCO class %d precision", k.Class), p)
			}
		}
	}
	checkRange(t, "VOC mAP07", v.MAP07)
	checkRange(t, "VOC mAP", v.MAP)
	for _, k := range v.Classes {
		checkRange(t, fmt.Sprintf("VOC class %d AP07", k.Class), k.AP07)
		checkRange(t, fmt.Sprintf("VOC class %d AP", k.Class), k.AP)
		for i := range k.Curve.Recall {
			checkRange(t, "VOC recall", k.Curve.Recall[i])
			checkRange(t, "VOC precision", k.Curve.Precision[i])
		}
	}
}

// TestShuffleInvariance: with distinct scores, the order of the input is
// irrelevant to both evaluations, to the bit.
func TestShuffleInvariance(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		gts, dets := randomScene(rng, 1+rng.IntN(30), 1+rng.IntN(5), 12, false)
		want := evaluateBoth(t, gts, dets)
		for range 3 {
			rng.Shuffle(len(gts), func(i, j int) { gts[i], gts[j] = gts[j], gts[i] })
			rng.Shuffle(len(dets), func(i, j int) { dets[i], dets[j] = dets[j], dets[i] })
			if got := evaluateBoth(t, gts, dets); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: shuffled input changed the results", seed)
			}
		}
	}
}

// TestInterleavingInvariance: with tied scores, results depend on the order
// of one image's detections (the reference's stable sorts) but not on how
// the input interleaves images, since ties across images rank by image id.
func TestInterleavingInvariance(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 2))
		gts, dets := randomScene(rng, 1+rng.IntN(30), 1+rng.IntN(5), 12, true)
		want := evaluateBoth(t, gts, dets)
		for range 3 {
			gts = interleave(rng, gts, func(g GroundTruth) int { return g.Image })
			dets = interleave(rng, dets, func(d Detection) int { return d.Image })
			if got := evaluateBoth(t, gts, dets); !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d: interleaving images differently changed the results", seed)
			}
		}
	}
}

// interleave merges the per-image subsequences of xs in a random order,
// keeping each image's own order.
func interleave[T any](rng *rand.Rand, xs []T, image func(T) int) []T {
	per := map[int][]T{}
	var images []int
	for _, x := range xs {
		im := image(x)
		if _, ok := per[im]; !ok {
			images = append(images, im)
		}
		per[im] = append(per[im], x)
	}
	out := make([]T, 0, len(xs))
	for len(images) > 0 {
		i := rng.IntN(len(images))
		im := images[i]
		out = append(out, per[im][0])
		if per[im] = per[im][1:]; len(per[im]) == 0 {
			images = append(images[:i], images[i+1:]...)
		}
	}
	return out
}

// FuzzEvaluate feeds arbitrary boxes and scores, NaN, infinities, negative
// sizes and overflowing areas among them. Neither evaluation may panic; each
// must reject exactly the inputs with an invalid box or score, and otherwise
// return numbers in [0, 1] or -1.
//
// Each 11-byte record is one ground truth or detection: a byte choosing
// kind, image (0–3) and class (0–2), four 2-byte coordinates and a score
// byte. Coordinates are quarter pixels in ±8,191, except the codes for NaN,
// +Inf, -Inf and ±1e308.
func FuzzEvaluate(f *testing.F) {
	rec := func(kind, image, class byte, x1, y1, x2, y2 int16, score byte) []byte {
		b := []byte{kind | image<<1 | class<<3}
		for _, v := range []int16{x1, y1, x2, y2} {
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
		return append(b, score)
	}
	cat := func(rs ...[]byte) []byte {
		var out []byte
		for _, r := range rs {
			out = append(out, r...)
		}
		return out
	}
	f.Add(cat(rec(0, 0, 0, 0, 0, 400, 400, 0), rec(1, 0, 0, 0, 0, 400, 400, 200), rec(1, 0, 0, 4, 0, 404, 400, 100)))
	f.Add(cat(rec(0, 1, 2, 0, 0, 40, 40, 0), rec(1, 1, 2, 40, 0, 0, 40, 9)))                               // x2 < x1
	f.Add(cat(rec(0, 0, 0, nanCode, 0, 40, 40, 0), rec(1, 0, 0, 0, 0, 40, 40, 255)))                       // NaN, NaN score
	f.Add(cat(rec(0, 0, 0, negHugeCode, negHugeCode, hugeCode, hugeCode, 0), rec(1, 0, 0, 0, 0, 1, 1, 1))) // overflowing area
	f.Add(cat(rec(1, 3, 1, infCode, 0, 4, 4, 7), rec(0, 2, 1, 0, 0, 0, 0, 0)))
	f.Fuzz(func(t *testing.T, data []byte) {
		const size, maxRecords = 11, 300
		var gts []GroundTruth
		var dets []Detection
		valid := true
		for i := 0; i+size <= len(data) && i/size < maxRecords; i += size {
			r := data[i : i+size]
			var v [4]float64
			for k := range v {
				v[k] = fuzzCoordinate(int16(binary.LittleEndian.Uint16(r[1+2*k:])))
			}
			b := Box{v[0], v[1], v[2], v[3]}
			image, class := int(r[0]>>1&3), int(r[0]>>3&3)%3
			ok := b.X2 >= b.X1 && b.Y2 >= b.Y1 // false for NaN too
			for _, x := range []float64{v[0], v[1], v[2], v[3], b.X2 - b.X1, b.Y2 - b.Y1, b.Area()} {
				ok = ok && !math.IsInf(x, 0) && !math.IsNaN(x)
			}
			if r[0]&1 == 0 {
				gts = append(gts, GroundTruth{Image: image, Class: class, Box: b, Difficult: r[10] == 1})
			} else {
				score := float64(r[10]) / 254
				if r[10] == 255 {
					score = math.NaN()
					ok = false
				}
				dets = append(dets, Detection{Image: image, Class: class, Box: b, Score: score})
			}
			valid = valid && ok
		}
		c, errC := EvaluateCOCO(gts, dets)
		v, errV := EvaluateVOC(gts, dets)
		if valid != (errC == nil) || valid != (errV == nil) {
			t.Fatalf("input valid: %v; COCO error: %v; VOC error: %v", valid, errC, errV)
		}
		if valid {
			checkResults(t, c, v)
		}
	})
}

const (
	nanCode     = math.MaxInt16
	infCode     = math.MaxInt16 - 1
	hugeCode    = math.MaxInt16 - 2
	negInfCode  = math.MinInt16
	negHugeCode = math.MinInt16 + 1
)

func fuzzCoordinate(v int16) float64 {
	switch v {
	case nanCode:
		return math.NaN()
	case infCode:
		return math.Inf(1)
	case negInfCode:
		return math.Inf(-1)
	case hugeCode:
		return 1e308
	case negHugeCode:
		return -1e308
	}
	return float64(v) / 4
}
