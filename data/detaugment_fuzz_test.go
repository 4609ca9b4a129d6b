package data

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// fuzzBoxes encodes boxes as the fuzz target reads them: four float64s by
// their bits (so NaN, infinities, huge and negative values are all
// reachable) and a class byte each.
func fuzzBoxes(boxes ...[5]float64) []byte {
	var b []byte
	for _, x := range boxes {
		for _, v := range x[:4] {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		b = append(b, byte(x[4]))
	}
	return b
}

// FuzzDetectionAugment feeds random images sizes, seeds and boxes to the
// SSD augmentation and to a loader: nothing panics, a bad box is refused
// with an error naming it (and, from the loader, the image), and every box
// that comes out lies inside the output with at least MinBoxSize a side.
func FuzzDetectionAugment(f *testing.F) {
	f.Add(uint64(1), uint8(40), uint8(30), uint8(0), fuzzBoxes([5]float64{1, 2, 20, 25, 0}, [5]float64{30, 3, 40, 30, 2}))
	f.Add(uint64(2), uint8(8), uint8(60), uint8(1), fuzzBoxes([5]float64{math.NaN(), 0, 1, 1, 0}))
	f.Add(uint64(3), uint8(64), uint8(64), uint8(2), fuzzBoxes([5]float64{-1e308, -1e308, 1e308, 1e308, 1}))
	f.Add(uint64(4), uint8(16), uint8(16), uint8(3), fuzzBoxes([5]float64{math.Inf(-1), 0, 4, math.Inf(1), 0}, [5]float64{-0.5, -0.5, 16.5, 16.5, 1}))
	f.Add(uint64(5), uint8(1), uint8(1), uint8(4), fuzzBoxes([5]float64{0, 0, 1e-300, 1, 0}, [5]float64{3, 3, 2, 2, 0}))
	f.Add(uint64(6), uint8(20), uint8(10), uint8(5), []byte{})
	f.Fuzz(func(t *testing.T, seed uint64, w, h, mode uint8, raw []byte) {
		iw, ih := 1+int(w)%64, 1+int(h)%64
		var boxes []Box
		for len(raw) >= 33 && len(boxes) < 16 {
			v := func(k int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(raw[8*k:])) }
			boxes = append(boxes, Box{X1: v(0), Y1: v(1), X2: v(2), Y2: v(3), Class: int(raw[32] % 3)})
			raw = raw[33:]
		}
		a := SSDAugment()
		a.FlipProb, a.ChannelSwap = 0.5, 0.5
		fit := Preprocess{Resize: []string{ResizeStretch, ResizeLetterbox, ResizeCrop}[mode%3]}
		if mode&4 == 0 {
			fit.Size = 24
		}
		im := patterned(3, ih, iw)
		out, kept, _, err := a.Apply(im, boxes, fit, rngFor(seed))
		if err != nil {
			if !strings.Contains(err.Error(), "box ") {
				t.Fatalf("error does not name the box: %v", err)
			}
		} else {
			if len(kept) > len(boxes) {
				t.Fatalf("%d boxes in, %d out", len(boxes), len(kept))
			}
			checkInside(t, kept, out.W, out.H)
			for _, b := range kept {
				if b.W() < a.MinBoxSize || b.H() < a.MinBoxSize {
					t.Fatalf("box %+v below MinBoxSize", b)
				}
			}
		}

		ds := &memDetection{images: []*Image{im}, boxes: [][]Box{boxes}, classes: []string{"a", "b", "c"}}
		if fit.Size == 0 {
			fit.Size = 24 // a loader needs a fixed input when cropping
		}
		l, err := NewDetectionLoader(ds, DetectionLoaderConfig{BatchSize: 1, Workers: 1, Preprocess: fit, Augment: a, Seed: seed})
		if err == nil {
			_, err = collectDetection(t, l, int(seed%3))
		}
		fuzzcheck.ErrNames(t, err, "mem#0")
	})
}
