package experiment

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// tinyScenes are small street scenes of two sign classes.
func tinyScenes(t *testing.T, country string, images int, seed uint64) *synth.Scenes {
	t.Helper()
	s, err := synth.NewScenes(synth.SceneConfig{Country: country, Classes: []string{"stop", "yield"}, Images: images,
		Width: 96, Height: 72, MinSign: 16, MaxSign: 36, MaxSigns: 2, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCompareDetectors runs a comparison of detectors through the one
// executor: a detector checkpoint as the base, k-shot samples of annotated
// images, refit on every shot, mAP on the test scenes, and a resumed
// rerun that trains nothing.
func TestCompareDetectors(t *testing.T) {
	dir := t.TempDir()
	torch.ManualSeed(1)
	src, err := detect.New("ssd_smallcnn", detect.Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	basePath := filepath.Join(dir, "det")
	pre := data.Preprocess{Size: 64, Channels: 3}
	if err := detect.Save(onnx.Checkpoints, basePath, src, checkpoint.Meta{Classes: []string{"stop", "yield"}, Preprocess: pre}); err != nil {
		t.Fatal(err)
	}
	src.Free()
	base, err := LoadBase(basePath)
	if err != nil {
		t.Fatal(err)
	}
	if !base.Detector() {
		t.Fatal("a detector checkpoint does not start detectors")
	}
	var strats []strategy.Strategy
	for _, n := range []string{"scratch", "probe", "finetune"} {
		s, err := strategy.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		strats = append(strats, s)
	}
	cfg := Config{Base: base, Train: data.ImagesOf(tinyScenes(t, "de", 24, 2)), Test: data.ImagesOf(tinyScenes(t, "de", 8, 3)),
		Strategies: strats, Shots: []int{3}, Seeds: 1, Budget: strategy.Budget{Epochs: 3}, LRGrid: []float64{1e-3},
		Batch: 4, Folds: 2, Out: filepath.Join(dir, "cmp"), Spec: Spec{Base: basePath}}
	res, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Spec.Task != "detect" {
		t.Errorf("spec task %q, want detect", res.Spec.Task)
	}
	if len(res.Runs) != 3 {
		t.Fatalf("%d runs, want 3", len(res.Runs))
	}
	for _, r := range res.Runs {
		if r.Status != "ok" {
			t.Fatalf("%s: %s %s", r.Strategy, r.Status, r.Error)
		}
		if r.TestAccuracy < 0 || r.TestAccuracy > 1 || r.MAP < 0 || r.MAP > r.TestAccuracy+1e-9 || len(r.ClassAP) != 2 {
			t.Errorf("%s: mAP@0.5 %g, mAP %g, class AP %v", r.Strategy, r.TestAccuracy, r.MAP, r.ClassAP)
		}
		if r.APRecords == nil || r.Refit == nil || r.Selection == nil || len(r.History) == 0 {
			t.Errorf("%s: records %v, refit %v, selection %v, %d epochs of history", r.Strategy, r.APRecords != nil, r.Refit, r.Selection, len(r.History))
		}
		if _, err := os.Stat(filepath.Join(cfg.Out, ExamplesFile(r.Strategy, r.Shots, r.Seed))); err != nil {
			t.Errorf("%s: no drawn detections: %v", r.Strategy, err)
		}
		if r.Strategy == "probe" && r.TrainableParams == 0 {
			t.Error("probe trains nothing")
		}
	}
	probe, finetune := res.Runs[1], res.Runs[2]
	if !(probe.TrainableParams < finetune.TrainableParams) {
		t.Errorf("probe trains %d weights, finetune %d: the probe's base and extras are not frozen", probe.TrainableParams, finetune.TrainableParams)
	}
	if len(res.Winners) != 1 {
		t.Errorf("%d verdicts, want 1", len(res.Winners))
	}
	// A rerun resumes: every run is done, nothing trains.
	again, err := Compare(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range again.Runs {
		if r.TestAccuracy != res.Runs[i].TestAccuracy || r.TrainSeconds != res.Runs[i].TrainSeconds {
			t.Errorf("%s was run again", r.Strategy)
		}
	}
}

// TestDetectorFromClassifier starts detectors on a classifier checkpoint:
// the built-in detector on its architecture, the classifier's body
// weights loaded, the rest new; strategies that cut are refused.
func TestDetectorFromClassifier(t *testing.T) {
	dir := t.TempDir()
	torch.ManualSeed(7) // not the trials' seed, whose fresh weights would be the same draws
	cls, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	want, err := cls.Stages[0].Params()[0].T.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	base := classifierForDetection(t, dir, cls, 32)
	if got := base.Preprocess().Size; got != 128 {
		t.Errorf("detector input %d, want ssd_smallcnn's 128", got)
	}
	for _, tc := range []struct {
		strategy string
		loaded   bool
	}{{"finetune", true}, {"scratch", false}} {
		s, _ := strategy.Parse(tc.strategy)
		m, _, err := StartDetector(base, s, strategy.Budget{Epochs: 2}, StartOptions{Classes: 2, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		got, err := m.Stages[0].Params()[0].T.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		same := len(got) == len(want)
		for i := range got {
			same = same && got[i] == want[i]
		}
		if same != tc.loaded || m.Arch != "ssd_smallcnn" || m.NumClasses != 3 {
			t.Errorf("%s: %s for %d classes, first stage loaded %v, want %v", tc.strategy, m.Arch, m.NumClasses, same, tc.loaded)
		}
		m.Free()
	}
	s, _ := strategy.Parse("truncate:2")
	if _, _, err := StartDetector(base, s, strategy.Budget{Epochs: 2}, StartOptions{Classes: 2, Seed: 1}); err == nil {
		t.Error("truncate accepted for a detector")
	}
}

// Every classifier body a built-in detector is made on loads into it.
func TestDetectorOnEveryClassifierBody(t *testing.T) {
	for _, name := range []string{"mobilenet_v2", "mobilenet_v3_large"} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			torch.ManualSeed(7)
			cls, err := arch.New(name, arch.Config{NumClasses: 3, InChannels: 3})
			if err != nil {
				t.Fatal(err)
			}
			base := classifierForDetection(t, dir, cls, 64)
			s, _ := strategy.Parse("finetune")
			m, _, err := StartDetector(base, s, strategy.Budget{Epochs: 1}, StartOptions{Classes: 2, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			m.Free()
		})
	}
}

// classifierForDetection saves cls (3 classes, size² RGB input) in dir,
// frees it, and loads it back as a base made ready for detection.
func classifierForDetection(t *testing.T, dir string, cls *nn.Model, size int) *Base {
	t.Helper()
	path := filepath.Join(dir, "cls")
	err := checkpoint.Save(path, cls, checkpoint.Meta{Classes: []string{"a", "b", "c"}, Preprocess: data.Preprocess{Size: size, Channels: 3}}, nil)
	cls.Free()
	if err != nil {
		t.Fatal(err)
	}
	base, err := LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := base.ForDetection(); err != nil {
		t.Fatal(err)
	}
	return base
}
