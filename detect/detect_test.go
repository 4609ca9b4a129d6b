package detect

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"testing"

	"github.com/graftml/graft/torch"
)

// fixtures are torchvision's own values (testdata/make_fixtures.py).
type fixtures struct {
	DefaultBoxes []struct {
		Name          string
		Grids         []int
		Height, Width int
		Count         int
		Scales        []float64
		Index         []int
		Boxes         [][4]float32
	} `json:"default_boxes"`
	Coding struct {
		Anchors, Gts, Codes, Decoded [][4]float32
	}
	Matching struct {
		Anchors, Gts [][4]float32
		Matched      []int
	}
	Loss struct {
		Anchors        [][4]float32
		Gts            [][][4]float32
		Labels         [][]int
		Regression     [][][4]float32
		Logits         [][][4]float32
		BboxRegression float64 `json:"bbox_regression"`
		Classification float64
	}
	NMS struct {
		Boxes       [][4]float32
		Scores      []float32
		Classes     []int
		IoU         float32
		Keep        []int
		BatchedKeep []int `json:"batched_keep"`
	}
	Postprocess struct {
		ScoreThresh   float32 `json:"score_thresh"`
		TopK          int
		NMS           float32
		PerImage      int `json:"per_image"`
		Height, Width int
		Boxes         [][4]float32
		Scores        []float32
		Labels        []int
	}
}

func load(t *testing.T) fixtures {
	t.Helper()
	b, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func boxesOf(v [][4]float32) []Box {
	out := make([]Box, len(v))
	for i, b := range v {
		out[i] = Box(b)
	}
	return out
}

func near(a, b, tol float32) bool {
	return math.Abs(float64(a-b)) <= float64(tol)*math.Max(1, math.Abs(float64(b)))
}

func sameBox(a, b Box, tol float32) bool {
	for i := range a {
		if !near(a[i], b[i], tol) {
			return false
		}
	}
	return true
}

func TestDefaultBoxesMatchTorchvision(t *testing.T) {
	configs := map[string]DefaultBoxes{
		"ssd300":     SSD300Boxes(),
		"ssdlite320": SSDLiteBoxes(),
		"small":      NewDefaultBoxes([][]int{{2}, {2, 3}}, 0.2, 0.9),
	}
	for _, c := range load(t).DefaultBoxes {
		t.Run(c.Name, func(t *testing.T) {
			d := configs[c.Name]
			for i, s := range c.Scales {
				if math.Abs(d.Scales[i]-s) > 1e-12 {
					t.Fatalf("scale %d: %g, torchvision %g", i, d.Scales[i], s)
				}
			}
			var grids [][2]int
			for _, g := range c.Grids {
				grids = append(grids, [2]int{g, g})
			}
			got, err := d.Boxes(grids, c.Height, c.Width)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != c.Count {
				t.Fatalf("%d boxes, torchvision %d", len(got), c.Count)
			}
			for k, i := range c.Index {
				if !sameBox(got[i], Box(c.Boxes[k]), 1e-6) {
					t.Fatalf("box %d: %v, torchvision %v", i, got[i], c.Boxes[k])
				}
			}
		})
	}
	if n := len(mustBoxes(t, SSD300Boxes(), []int{38, 19, 10, 5, 3, 1}, 300)); n != 8732 {
		t.Errorf("SSD300 has %d default boxes, the paper 8732", n)
	}
}

func mustBoxes(t *testing.T, d DefaultBoxes, grids []int, size int) []Box {
	var gs [][2]int
	for _, g := range grids {
		gs = append(gs, [2]int{g, g})
	}
	b, err := d.Boxes(gs, size, size)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDefaultBoxesRefuseBadConfigs(t *testing.T) {
	for name, d := range map[string]DefaultBoxes{
		"no maps":        {},
		"scales short":   {AspectRatios: [][]int{{2}}, Scales: []float64{0.2}},
		"steps mismatch": {AspectRatios: [][]int{{2}}, Scales: []float64{0.2, 0.5}, Steps: []int{8, 16}},
		"ratio below 1":  {AspectRatios: [][]int{{0}}, Scales: []float64{0.2, 0.5}},
		"NaN scale":      {AspectRatios: [][]int{{2}}, Scales: []float64{math.NaN(), 0.5}},
	} {
		if _, err := d.Boxes([][2]int{{2, 2}}, 10, 10); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestCoderMatchesTorchvision(t *testing.T) {
	c := load(t).Coding
	for i := range c.Anchors {
		code := SSDCoder.Encode(Box(c.Gts[i]), Box(c.Anchors[i]))
		for k := range code {
			if !near(code[k], c.Codes[i][k], 1e-5) {
				t.Fatalf("encode %d: %v, torchvision %v", i, code, c.Codes[i])
			}
		}
		if got := SSDCoder.Decode([4]float32(c.Codes[i]), Box(c.Anchors[i])); !sameBox(got, Box(c.Decoded[i]), 1e-5) {
			t.Fatalf("decode %d: %v, torchvision %v", i, got, c.Decoded[i])
		}
	}
	// Decoding clips the log size ratio: a huge code stays finite.
	if b := SSDCoder.Decode([4]float32{0, 0, 1e6, 1e6}, Box{0, 0, 10, 10}); math.IsInf(float64(b[2]), 0) {
		t.Errorf("unclipped decode: %v", b)
	}
}

func TestMatchMatchesTorchvision(t *testing.T) {
	m := load(t).Matching
	got := Match(boxesOf(m.Gts), boxesOf(m.Anchors), 0.5)
	if !slices.Equal(got, m.Matched) {
		t.Fatalf("matches %v\ntorchvision %v", got, m.Matched)
	}
	// The smallest ground truth overlaps no default box by 0.5, and is
	// matched all the same, to its best one.
	if !slices.Contains(got, 2) {
		t.Error("the small ground truth went unmatched")
	}
	for _, v := range Match(nil, boxesOf(m.Anchors), 0.5) {
		if v != -1 {
			t.Fatal("an image without boxes matched something")
		}
	}
}

func TestNMSMatchesTorchvision(t *testing.T) {
	n := load(t).NMS
	if got := NMS(boxesOf(n.Boxes), n.Scores, n.IoU); !slices.Equal(got, n.Keep) {
		t.Errorf("nms %v\ntorchvision %v", got, n.Keep)
	}
	if got := BatchedNMS(boxesOf(n.Boxes), n.Scores, n.Classes, n.IoU); !slices.Equal(got, n.BatchedKeep) {
		t.Errorf("batched nms %v\ntorchvision %v", got, n.BatchedKeep)
	}
}

func tensor3(t *testing.T, v [][][4]float32) *torch.Tensor {
	var flat []float32
	for _, img := range v {
		for _, r := range img {
			flat = append(flat, r[:]...)
		}
	}
	x := torch.FromFloat32(flat, int64(len(v)), int64(len(v[0])), 4)
	if err := x.Err(); err != nil {
		t.Fatal(err)
	}
	return x
}

func TestMultiboxLossMatchesTorchvision(t *testing.T) {
	l := load(t).Loss
	reg, logits := tensor3(t, l.Regression), tensor3(t, l.Logits)
	defer reg.Free()
	defer logits.Free()
	if err := firstErr(reg.SetRequiresGrad(true), logits.SetRequiresGrad(true)); err != nil {
		t.Fatal(err)
	}
	var targets []Target
	for i := range l.Gts {
		targets = append(targets, Target{Boxes: boxesOf(l.Gts[i]), Labels: l.Labels[i]})
	}
	box, cls, err := SSDLoss.Multibox(reg, logits, boxesOf(l.Anchors), targets)
	if err != nil {
		t.Fatal(err)
	}
	defer box.Free()
	defer cls.Free()
	b, _ := box.Item()
	c, _ := cls.Item()
	if math.Abs(b-l.BboxRegression) > 1e-5*math.Abs(l.BboxRegression) || math.Abs(c-l.Classification) > 1e-5*math.Abs(l.Classification) {
		t.Fatalf("loss box %.6f cls %.6f, torchvision %.6f %.6f", b, c, l.BboxRegression, l.Classification)
	}
	sum := box.Add(cls)
	defer sum.Free()
	if err := sum.Backward(); err != nil {
		t.Fatal(err)
	}
	g, err := logits.Grad()
	if err != nil || g == nil {
		t.Fatalf("no gradient reached the logits: %v", err)
	}
	g.Free()
	// A class outside the head is refused, not indexed.
	bad := []Target{{Boxes: targets[0].Boxes[:1], Labels: []int{4}}, targets[1]}
	if _, _, err := SSDLoss.Multibox(reg, logits, boxesOf(l.Anchors), bad); err == nil {
		t.Error("class 4 of a 4-way head (0 background) accepted")
	}
}

func TestPostMatchesTorchvision(t *testing.T) {
	f := load(t)
	pp := f.Postprocess
	reg := tensor3(t, f.Loss.Regression[:1])
	defer reg.Free()
	logits0 := tensor3(t, f.Loss.Logits[:1])
	defer logits0.Free()
	logits := logits0.MulScalar(3)
	defer logits.Free()
	p := Post{Coder: SSDCoder, ScoreThreshold: pp.ScoreThresh, TopK: pp.TopK, NMS: pp.NMS, PerImage: pp.PerImage}
	dets, err := p.Detect(reg, logits, boxesOf(f.Loss.Anchors), pp.Height, pp.Width)
	if err != nil {
		t.Fatal(err)
	}
	if len(dets[0]) != len(pp.Scores) {
		t.Fatalf("%d detections, torchvision %d", len(dets[0]), len(pp.Scores))
	}
	for i, d := range dets[0] {
		if d.Class != pp.Labels[i] || !near(d.Score, pp.Scores[i], 1e-5) || !sameBox(d.Box, Box(pp.Boxes[i]), 1e-4) {
			t.Fatalf("detection %d: %+v, torchvision class %d score %g box %v", i, d, pp.Labels[i], pp.Scores[i], pp.Boxes[i])
		}
	}
}
