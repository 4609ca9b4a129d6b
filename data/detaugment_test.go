package data

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// rectScene is a black w×h RGB image with a white rectangle [x0,x1)×[y0,y1)
// and the box that bounds it.
func rectScene(w, h, x0, y0, x1, y1 int) (*Image, Box) {
	im := NewImage(3, h, w)
	for c := 0; c < 3; c++ {
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				im.Pix[(c*h+y)*w+x] = 1
			}
		}
	}
	return im, Box{X1: float64(x0), Y1: float64(y0), X2: float64(x1), Y2: float64(y1), Class: 2}
}

// brightBounds is the box around the pixels brighter than halfway between
// the image's darkest and brightest grey level: where a white rectangle on
// black ended up, its edges blurred by resampling.
func brightBounds(im *Image) (Box, bool) {
	hw := im.H * im.W
	grey := func(i int) float32 {
		if im.C == 3 {
			return (im.Pix[i] + im.Pix[hw+i] + im.Pix[2*hw+i]) / 3
		}
		return im.Pix[i]
	}
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for i := 0; i < hw; i++ {
		lo, hi = min(lo, grey(i)), max(hi, grey(i))
	}
	if hi-lo < 0.2 {
		return Box{}, false
	}
	thr := (lo + hi) / 2
	b := Box{X1: math.Inf(1), Y1: math.Inf(1), X2: math.Inf(-1), Y2: math.Inf(-1)}
	for y := 0; y < im.H; y++ {
		for x := 0; x < im.W; x++ {
			if grey(y*im.W+x) > thr {
				b.X1, b.Y1 = min(b.X1, float64(x)), min(b.Y1, float64(y))
				b.X2, b.Y2 = max(b.X2, float64(x+1)), max(b.Y2, float64(y+1))
			}
		}
	}
	return b, true
}

// checkInside fails when a box leaves the w×h output or has no area.
func checkInside(t *testing.T, boxes []Box, w, h int) {
	t.Helper()
	for _, b := range boxes {
		if !(b.X1 >= 0 && b.Y1 >= 0 && b.X2 <= float64(w) && b.Y2 <= float64(h) && b.X2 > b.X1 && b.Y2 > b.Y1) {
			t.Fatalf("box %+v in a %dx%d output", b, w, h)
		}
	}
}

func rngFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 99)) }

// TestDetectionAugmentMovesBoxesWithPixels draws a white rectangle, runs
// each transform alone and all together, and checks that the box still
// bounds the rectangle's pixels within a pixel.
func TestDetectionAugmentMovesBoxesWithPixels(t *testing.T) {
	black := []float32{0}
	ssd := SSDAugment()
	ssd.Fill, ssd.FlipProb = black, 0.5
	tests := []struct {
		name string
		aug  DetectionAugment
		fit  Preprocess
		// mayDrop is set where the crop can drop the box (its centre
		// left outside) while some of its pixels stay visible.
		mayDrop bool
	}{
		{"stretch", DetectionAugment{}, Preprocess{Size: 300}, false},
		{"stretch to a rectangle", DetectionAugment{}, Preprocess{Height: 96, Width: 128}, false},
		{"letterbox", DetectionAugment{}, Preprocess{Size: 300, Resize: ResizeLetterbox}, false},
		{"centre crop", DetectionAugment{}, Preprocess{Size: 300, Resize: ResizeCrop}, true},
		{"photometric", DetectionAugment{Photometric: 1, Brightness: [2]float64{0.875, 1.125}, Contrast: [2]float64{0.5, 1.5}, Saturation: [2]float64{0.5, 1.5}, Hue: 0.05, ChannelSwap: 1}, Preprocess{Size: 300}, false},
		{"zoom out", DetectionAugment{ZoomOut: 1, ZoomOutMax: 4, Fill: black}, Preprocess{Size: 300}, false},
		{"zoom out native size", DetectionAugment{ZoomOut: 1, Fill: black}, Preprocess{}, false},
		{"crop", DetectionAugment{Crop: true}, Preprocess{Size: 300}, true},
		{"crop native size", DetectionAugment{Crop: true}, Preprocess{}, true},
		{"flip", DetectionAugment{FlipProb: 1}, Preprocess{Size: 300}, false},
		{"flip native size", DetectionAugment{FlipProb: 1}, Preprocess{}, false},
		{"ssd", ssd, Preprocess{Size: 300}, true},
		{"ssd letterbox", ssd, Preprocess{Size: 300, Resize: ResizeLetterbox}, true},
	}
	rects := [][4]int{{40, 30, 100, 90}, {0, 0, 50, 20}, {250, 200, 320, 240}, {150, 10, 158, 230}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept := 0
			for seed := range uint64(12) {
				r := rects[seed%uint64(len(rects))]
				src, box := rectScene(320, 240, r[0], r[1], r[2], r[3])
				out, boxes, m, err := tt.aug.Apply(src, []Box{box}, tt.fit, rngFor(seed))
				if err != nil {
					t.Fatal(err)
				}
				checkInside(t, boxes, out.W, out.H)
				if len(boxes) == 0 {
					if !tt.mayDrop {
						t.Fatalf("seed %d: the box was dropped", seed)
					}
					continue
				}
				kept++
				b := boxes[0]
				if b.Class != box.Class {
					t.Fatalf("seed %d: class %d, want %d", seed, b.Class, box.Class)
				}
				if want := m.Apply(box); !tt.mayDrop && want != b {
					t.Fatalf("seed %d: box %+v, but the map moves it to %+v", seed, b, want)
				}
				got, ok := brightBounds(out)
				if !ok {
					t.Fatalf("seed %d: box %+v kept but the rectangle is not in the output", seed, b)
				}
				for k, d := range []float64{got.X1 - b.X1, got.Y1 - b.Y1, got.X2 - b.X2, got.Y2 - b.Y2} {
					if math.Abs(d) > 1 {
						t.Fatalf("seed %d: the rectangle's pixels span %+v but its box is %+v (side %d off by %.2f px) in a %dx%d output",
							seed, got, b, k, d, out.W, out.H)
					}
				}
			}
			if kept < 4 {
				t.Errorf("only %d of 12 boxes kept; the test checks too little", kept)
			}
		})
	}
}

func TestDetectionFlip(t *testing.T) {
	if a := SSDAugment(); a.FlipProb != 0 {
		t.Fatalf("SSDAugment flips with probability %g; signs have handedness, it must be off by default", a.FlipProb)
	}
	if (DetectionAugment{}).Enabled() {
		t.Fatal("the zero DetectionAugment is enabled")
	}
	src, box := rectScene(64, 48, 4, 10, 20, 30)
	for _, tt := range []struct {
		name    string
		aug     DetectionAugment
		flipped bool
	}{
		{"ssd", SSDAugment(), false},
		{"flip", DetectionAugment{FlipProb: 1}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(100) {
				out, boxes, m, err := tt.aug.Apply(src, []Box{box}, Preprocess{}, rngFor(seed))
				if err != nil {
					t.Fatal(err)
				}
				if (m.SX < 0) != tt.flipped {
					t.Fatalf("seed %d: map %+v, flipped %v", seed, m, tt.flipped)
				}
				if tt.flipped {
					want := Box{X1: 44, Y1: 10, X2: 60, Y2: 30, Class: 2}
					if len(boxes) != 1 || boxes[0] != want || out.At(0, 20, 50) != 1 || out.At(0, 20, 10) != 0 {
						t.Fatalf("flipped boxes %+v, want %+v", boxes, want)
					}
				}
			}
		})
	}
}

// TestDetectionCropIoU checks every patch the crop draws against the
// constraint it was drawn for.
func TestDetectionCropIoU(t *testing.T) {
	a := SSDAugment()
	rng := rngFor(1)
	counts := map[float64]int{}
	for trial := range 2000 {
		view := rect{0, 0, float64(50 + rng.IntN(300)), float64(50 + rng.IntN(300))}
		if trial%2 == 1 { // a zoomed-out canvas
			view = rect{-float64(rng.IntN(100)), -float64(rng.IntN(100)), view.x1 + 100, view.y1 + 100}
		}
		var boxes []Box
		for range 1 + rng.IntN(4) {
			x, y := rng.Float64()*(view.x1-10), rng.Float64()*(view.y1-10)
			boxes = append(boxes, Box{X1: x, Y1: y, X2: x + 1 + rng.Float64()*(view.x1-x-1), Y2: y + 1 + rng.Float64()*(view.y1-y-1)})
		}
		r, minIoU, ok := a.sampleCrop(rng, view, boxes)
		if !ok {
			counts[1]++
			continue
		}
		counts[minIoU]++
		if r.x0 < view.x0 || r.y0 < view.y0 || r.x1 > view.x1 || r.y1 > view.y1 {
			t.Fatalf("patch %+v outside the view %+v", r, view)
		}
		if ar := r.w() / r.h(); ar < 0.5 || ar > 2 {
			t.Fatalf("patch %+v has aspect %g, outside [0.5, 2]", r, ar)
		}
		if r.w() < math.Floor(0.3*view.w()) || r.h() < math.Floor(0.3*view.h()) || r.x0 != math.Floor(r.x0) || r.w() != math.Floor(r.w()) {
			t.Fatalf("patch %+v of view %+v: sides below 0.3 or not whole pixels", r, view)
		}
		best := -1.0
		for _, b := range boxes {
			if centreIn(b, r) {
				best = max(best, iou(b, r))
			}
		}
		if best < minIoU {
			t.Fatalf("patch %+v drawn for minimum IoU %g: best IoU of a box centred in it is %g (boxes %+v)", r, minIoU, best, boxes)
		}
	}
	// 0.9 is rarely satisfiable by random boxes (another minimum is then
	// drawn), so only the others must have produced patches.
	for _, v := range defaultCropIoU[:5] {
		if counts[v] == 0 {
			t.Errorf("no patch for minimum IoU %g (counts %v)", v, counts)
		}
	}
	for _, tt := range []struct {
		name  string
		a     DetectionAugment
		boxes []Box
	}{
		{"keep whole only", DetectionAugment{Crop: true, CropIoU: []float64{1}}, []Box{{X1: 1, Y1: 1, X2: 5, Y2: 5}}},
		{"no boxes", DetectionAugment{Crop: true}, nil},
		{"impossible", DetectionAugment{Crop: true, CropIoU: []float64{0.99}, CropScale: [2]float64{0.3, 0.5}}, []Box{{X1: 0, Y1: 0, X2: 100, Y2: 100}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				if r, _, ok := tt.a.sampleCrop(rngFor(seed), rect{0, 0, 100, 100}, tt.boxes); ok {
					t.Fatalf("seed %d: cropped to %+v", seed, r)
				}
			}
		})
	}
}

// TestDetectionAugmentKeepsBoxesInside feeds many random boxes through the
// SSD augmentation at every resize mode.
func TestDetectionAugmentKeepsBoxesInside(t *testing.T) {
	a := SSDAugment()
	a.FlipProb = 0.5
	gen := rngFor(7)
	for _, mode := range []string{ResizeStretch, ResizeLetterbox, ResizeCrop} {
		t.Run(mode, func(t *testing.T) {
			dropped, total := 0, 0
			for seed := range uint64(60) {
				w, h := 16+gen.IntN(100), 16+gen.IntN(100)
				var boxes []Box
				for range gen.IntN(6) {
					x, y := gen.Float64()*float64(w-1), gen.Float64()*float64(h-1)
					boxes = append(boxes, Box{X1: x, Y1: y, X2: x + 0.01 + gen.Float64()*(float64(w)-x-0.01), Y2: y + 0.01 + gen.Float64()*(float64(h)-y-0.01)})
				}
				out, kept, _, err := a.Apply(patterned(3, h, w), boxes, Preprocess{Size: 40, Resize: mode}, rngFor(seed))
				if err != nil {
					t.Fatal(err)
				}
				if out.W != 40 || out.H != 40 {
					t.Fatalf("output %dx%d, want 40x40", out.W, out.H)
				}
				checkInside(t, kept, 40, 40)
				for _, b := range kept {
					if b.W() < a.MinBoxSize || b.H() < a.MinBoxSize {
						t.Fatalf("box %+v smaller than MinBoxSize %g", b, a.MinBoxSize)
					}
				}
				total += len(boxes)
				dropped += len(boxes) - len(kept)
			}
			if dropped == 0 || dropped == total {
				t.Errorf("%d of %d boxes dropped; the test exercises neither dropping nor keeping", dropped, total)
			}
		})
	}
}

func TestDetectionAugmentEmptyImage(t *testing.T) {
	a := SSDAugment()
	for seed := range uint64(20) {
		out, boxes, _, err := a.Apply(patterned(3, 24, 32), nil, Preprocess{Size: 30}, rngFor(seed))
		if err != nil {
			t.Fatal(err)
		}
		if len(boxes) != 0 || out.W != 30 || out.H != 30 {
			t.Fatalf("seed %d: %d boxes, %dx%d", seed, len(boxes), out.W, out.H)
		}
	}
}

// TestFitDetectionMatchesPreprocess checks that without augmentation the
// pixels are exactly Preprocess.Fit's, so a detector sees at prediction
// what it was trained on, and that boxes move with the resize mode.
func TestFitDetectionMatchesPreprocess(t *testing.T) {
	src := patterned(3, 24, 40)
	in := []Box{{X1: 0, Y1: 0, X2: 40, Y2: 24}, {X1: 10, Y1: 6, X2: 20, Y2: 12, Class: 1}}
	tests := []struct {
		fit  Preprocess
		want []Box
	}{
		{Preprocess{}, in},
		{Preprocess{Size: 20}, []Box{{X1: 0, Y1: 0, X2: 20, Y2: 20}, {X1: 5, Y1: 5, X2: 10, Y2: 10, Class: 1}}},
		{Preprocess{Height: 48, Width: 80}, []Box{{X1: 0, Y1: 0, X2: 80, Y2: 48}, {X1: 20, Y1: 12, X2: 40, Y2: 24, Class: 1}}},
		{Preprocess{Size: 20, Resize: ResizeLetterbox, Fill: 0.5}, []Box{{X1: 0, Y1: 4, X2: 20, Y2: 16}, {X1: 5, Y1: 7, X2: 10, Y2: 10, Class: 1}}},
		{Preprocess{Size: 12, Resize: ResizeCrop}, []Box{{X1: 0, Y1: 0, X2: 12, Y2: 12}, {X1: 1, Y1: 3, X2: 6, Y2: 6, Class: 1}}},
		{Preprocess{Size: 20, Channels: 1}, []Box{{X1: 0, Y1: 0, X2: 20, Y2: 20}, {X1: 5, Y1: 5, X2: 10, Y2: 10, Class: 1}}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.fit), func(t *testing.T) {
			want, err := tt.fit.Fit(src)
			if err != nil {
				t.Fatal(err)
			}
			got, boxes, m, err := tt.fit.FitDetection(src, in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameShape(got, want) || !slicesEqual(got.Pix, want.Pix) {
				t.Fatalf("pixels differ from Preprocess.Fit (%dx%dx%d vs %dx%dx%d)", got.C, got.H, got.W, want.C, want.H, want.W)
			}
			if len(boxes) != len(tt.want) {
				t.Fatalf("boxes %+v, want %+v", boxes, tt.want)
			}
			for k := range boxes {
				if d := boxDist(boxes[k], tt.want[k]); d > 1e-9 || boxes[k].Class != tt.want[k].Class {
					t.Fatalf("box %d %+v, want %+v", k, boxes[k], tt.want[k])
				}
				if tt.fit.Resize != ResizeCrop {
					if d := boxDist(m.Invert(boxes[k]), in[k]); d > 1e-9 {
						t.Fatalf("map %+v inverts box %d to %+v, want %+v", m, k, m.Invert(boxes[k]), in[k])
					}
				}
			}
		})
	}
}

func slicesEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func boxDist(a, b Box) float64 {
	return max(math.Abs(a.X1-b.X1), math.Abs(a.Y1-b.Y1), math.Abs(a.X2-b.X2), math.Abs(a.Y2-b.Y2))
}

func TestBoxMap(t *testing.T) {
	b := Box{X1: 1, Y1: 2, X2: 5, Y2: 9, Class: 3, Difficult: true}
	for _, m := range []BoxMap{{1, 1, 0, 0}, {2, 0.5, 3, -4}, {-2, 0.5, 30, 1}} {
		got := m.Invert(m.Apply(b))
		if boxDist(got, b) > 1e-12 || got.Class != 3 || !got.Difficult {
			t.Errorf("map %+v: round trip %+v, want %+v", m, got, b)
		}
		if a := m.Apply(b); !(a.X2 > a.X1 && a.Y2 > a.Y1) {
			t.Errorf("map %+v: %+v is not ordered", m, a)
		}
	}
}

func TestDetectionAugmentValidate(t *testing.T) {
	tests := []struct {
		name string
		a    DetectionAugment
		want string // "" for valid
	}{
		{"zero", DetectionAugment{}, ""},
		{"ssd", SSDAugment(), ""},
		{"crop defaults", DetectionAugment{Crop: true}, ""},
		{"probability", DetectionAugment{ZoomOut: 1.5}, "zoom_out 1.5 outside [0, 1]"},
		{"NaN probability", DetectionAugment{FlipProb: math.NaN()}, "flip_prob"},
		{"contrast order", DetectionAugment{Photometric: 0.5, Contrast: [2]float64{1.5, 0.5}}, "contrast"},
		{"hue", DetectionAugment{Photometric: 0.5, Hue: 0.7}, "hue 0.7"},
		{"steps without probability", DetectionAugment{Brightness: [2]float64{0.9, 1.1}}, "photometric (the probability of each step) is 0"},
		{"probability without steps", DetectionAugment{Photometric: 0.5}, "no step is set"},
		{"zoom range", DetectionAugment{ZoomOut: 0.5, ZoomOutMax: 0.5}, "zoom_out_max 0.5"},
		{"fill without zoom", DetectionAugment{Fill: []float32{0}}, "zoom_out (its probability) is 0"},
		{"fill range", DetectionAugment{ZoomOut: 0.5, Fill: []float32{2}}, "fill[0] 2"},
		{"fill count", DetectionAugment{ZoomOut: 0.5, Fill: []float32{0, 0}}, "2 fill values"},
		{"crop setting without crop", DetectionAugment{CropTrials: 5}, "crop is off"},
		{"crop iou", DetectionAugment{Crop: true, CropIoU: []float64{0.5, 1.2}}, "crop_iou[1] 1.2"},
		{"empty crop iou", DetectionAugment{Crop: true, CropIoU: []float64{}}, "crop_iou is empty"},
		{"crop scale", DetectionAugment{Crop: true, CropScale: [2]float64{0, 1}}, "crop_scale"},
		{"min box", DetectionAugment{MinBoxSize: -1}, "min_box_size -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := DetectionAugmentPreset("ssd"); err != nil {
		t.Error(err)
	}
	if _, err := DetectionAugmentPreset("yolo"); err == nil || !strings.Contains(err.Error(), "none, ssd") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestDetectionAugmentRefusesBadBoxes(t *testing.T) {
	src := patterned(3, 10, 20)
	for _, tt := range []struct {
		name string
		box  Box
		want string
	}{
		{"NaN", Box{X1: math.NaN(), Y1: 0, X2: 5, Y2: 5}, "zero or negative size"},
		{"inverted", Box{X1: 5, Y1: 0, X2: 1, Y2: 5}, "zero or negative size"},
		{"outside", Box{X1: 0, Y1: 0, X2: 25, Y2: 5}, "outside the 20x10 image"},
		{"infinite", Box{X1: math.Inf(-1), Y1: 0, X2: 5, Y2: 5}, "outside"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := SSDAugment().Apply(src, []Box{{X1: 1, Y1: 1, X2: 2, Y2: 2}, tt.box}, Preprocess{Size: 8}, rngFor(1))
			if err == nil || !strings.Contains(err.Error(), "box 1") || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one naming box 1 and containing %q", err, tt.want)
			}
		})
	}
	// A box a fraction of a pixel over the edge is clipped, as the readers do.
	_, boxes, _, err := DetectionAugment{}.Apply(src, []Box{{X1: -0.5, Y1: 0, X2: 20.5, Y2: 10}}, Preprocess{}, nil)
	if err != nil || len(boxes) != 1 || boxes[0].X1 != 0 || boxes[0].X2 != 20 {
		t.Fatalf("edge box: %+v, %v", boxes, err)
	}
}

// TestDetectionAugmentGolden pins the boxes and maps the SSD augmentation
// gives for fixed seeds: a change to the draws or the geometry shows here.
func TestDetectionAugmentGolden(t *testing.T) {
	a := SSDAugment()
	a.FlipProb = 0.5
	src := patterned(3, 240, 320)
	boxes := []Box{{X1: 20, Y1: 30, X2: 60, Y2: 70}, {X1: 200, Y1: 100, X2: 230, Y2: 140, Class: 1}, {X1: 150, Y1: 150, X2: 162, Y2: 162, Class: 2}}
	var buf bytes.Buffer
	for seed := range uint64(16) {
		out, kept, m, err := a.Apply(src, boxes, Preprocess{Size: 300}, rngFor(seed))
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, v := range out.Pix {
			sum += float64(v)
		}
		fmt.Fprintf(&buf, "seed %d: map %.4f %.4f %.3f %.3f, mean pixel %.4f\n", seed, m.SX, m.SY, m.OX, m.OY, sum/float64(len(out.Pix)))
		for _, b := range kept {
			fmt.Fprintf(&buf, "  class %d: %.3f %.3f %.3f %.3f\n", b.Class, b.X1, b.Y1, b.X2, b.Y2)
		}
	}
	path := filepath.Join("testdata", "detaugment.golden")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./data -run DetectionAugmentGolden -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n%s", path, buf.String())
	}
}
