package detect

import (
	"context"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// TestSmallSSDLearnsScenes wires the detection pieces end to end, as the
// executor will: synthetic street scenes → the detection loader (SSD
// augmentation off, so the numbers are the model's) → the small SSD → the
// multibox loss → Adam; then post-processing and COCO mAP on the same
// images. It fails unless the loss falls and mAP@0.5 rises well above
// what the untrained detector scores.
func TestSmallSSDLearnsScenes(t *testing.T) {
	scenes, err := synth.NewScenes(synth.SceneConfig{Classes: []string{"stop", "no-entry", "yield"}, Images: 24,
		Width: 160, Height: 120, MinSign: 24, MaxSign: 56, MaxSigns: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	const size = 128
	l, err := data.NewDetectionLoader(scenes, data.DetectionLoaderConfig{BatchSize: 8, Shuffle: true, Seed: 1, Workers: 2,
		Preprocess: data.Preprocess{Size: size, Channels: 3}, CacheDecoded: true})
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(1)
	m, err := New("ssd_smallcnn", Config{NumClasses: len(scenes.Classes()) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	defaults, err := m.Defaults(size, size)
	if err != nil {
		t.Fatal(err)
	}
	var ps []nn.Param
	for _, p := range m.Params() {
		if !p.Buffer {
			ps = append(ps, p)
		}
	}
	opt, err := optim.New(optim.Config{Name: "adam", LR: 3e-3}, []optim.Group{{Name: "all", Params: ps}})
	if err != nil {
		t.Fatal(err)
	}
	defer opt.Free()
	before := mAP50(t, m, l, defaults, size)
	var first, last float64
	const epochs = 12
	for epoch := 1; epoch <= epochs; epoch++ {
		var sum float64
		n := 0
		for b, err := range l.Epoch(context.Background(), epoch) {
			if err != nil {
				t.Fatal(err)
			}
			targets, err := TargetsOf(b.Boxes, len(scenes.Classes()))
			if err != nil {
				t.Fatal(err)
			}
			s := torch.NewScope()
			x := s.Track(torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W)))
			reg, logits := m.Forward(x, true)
			box, cls, err := SSDLoss.Multibox(s.Track(reg), s.Track(logits), defaults, targets)
			if err != nil {
				t.Fatal(err)
			}
			loss := s.Track(box).Add(s.Track(cls))
			if err := loss.Backward(); err != nil {
				t.Fatal(err)
			}
			v, _ := loss.Item()
			s.Close()
			b.Release()
			if err := firstErr(opt.Step(), opt.ZeroGrad()); err != nil {
				t.Fatal(err)
			}
			sum += v
			n++
		}
		switch epoch {
		case 1:
			first = sum / float64(n)
		case epochs:
			last = sum / float64(n)
		}
	}
	after := mAP50(t, m, l, defaults, size)
	t.Logf("loss %.3f → %.3f; mAP@0.5 on the training scenes %.3f → %.3f", first, last, before, after)
	if !(last < 0.6*first) {
		t.Errorf("the loss fell from %.3f to %.3f only", first, last)
	}
	if !(after > before+0.2) {
		t.Errorf("mAP@0.5 went from %.3f to %.3f", before, after)
	}
}

// mAP50 is COCO's AP at IoU 0.5 of m's detections on l's images (epoch 0,
// no shuffling needed: every image once).
func mAP50(t *testing.T, m *Model, l *data.DetectionLoader, defaults []Box, size int) float64 {
	t.Helper()
	var gts []metrics.GroundTruth
	var dets []metrics.Detection
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		var found [][]Detection
		torch.NoGrad(func() {
			s := torch.NewScope()
			defer s.Close()
			x := s.Track(torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W)))
			reg, logits := m.Forward(x, false)
			found, err = SSDPost.Detect(s.Track(reg), s.Track(logits), defaults, size, size)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, idx := range b.Index {
			for _, g := range b.Boxes[i] {
				gts = append(gts, metrics.GroundTruth{Image: idx, Class: g.Class, Box: metrics.Box{X1: g.X1, Y1: g.Y1, X2: g.X2, Y2: g.Y2}})
			}
			for _, d := range found[i] {
				dets = append(dets, metrics.Detection{Image: idx, Class: d.Class - 1, Score: float64(d.Score),
					Box: metrics.Box{X1: float64(d.Box[0]), Y1: float64(d.Box[1]), X2: float64(d.Box[2]), Y2: float64(d.Box[3])}})
			}
		}
		b.Release()
	}
	r, err := metrics.EvaluateCOCO(gts, dets)
	if err != nil {
		t.Fatal(err)
	}
	return r.AP50
}
