package detect

import (
	"context"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

// TestSmallSSDLearnsScenes trains a detector through graft's one training
// loop, as the executor will: synthetic street scenes → the detection
// loader (augmentation off, so the numbers are the model's) → the small
// SSD under a strategy's plan (discriminative rates over its stages) →
// fit.Train with detect.Task (multibox loss, mAP@0.5 on validation) →
// post-processing and COCO mAP. It fails unless the loss falls and
// mAP@0.5 rises well above what the untrained detector scores.
func TestSmallSSDLearnsScenes(t *testing.T) {
	scenes, err := synth.NewScenes(synth.SceneConfig{Classes: []string{"stop", "no-entry", "yield"}, Images: 24,
		Width: 160, Height: 120, MinSign: 24, MaxSign: 56, MaxSigns: 2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	const size = 128
	pre := data.Preprocess{Size: size, Channels: 3}
	tl, err := data.NewDetectionLoader(scenes, data.DetectionLoaderConfig{BatchSize: 8, Shuffle: true, Seed: 1, Workers: 2, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		t.Fatal(err)
	}
	vl, err := data.NewDetectionLoader(scenes, data.DetectionLoaderConfig{BatchSize: 8, Workers: 2, Preprocess: pre, CacheDecoded: true})
	if err != nil {
		t.Fatal(err)
	}
	torch.ManualSeed(1)
	m, err := New("ssd_smallcnn", Config{NumClasses: len(scenes.Classes()) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	task := &Task{Model: m, Train: tl, Val: vl, Loss: SSDLoss, Post: SSDPost}
	before, err := task.Evaluate(context.Background(), vl, fit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := strategy.Parse("discriminative")
	if err != nil {
		t.Fatal(err)
	}
	const epochs = 12
	plan, err := s.Plan(m.Model, strategy.Budget{Epochs: epochs})
	if err != nil {
		t.Fatal(err)
	}
	// The plan addresses the detector's stages (backbone, extras, head)
	// as it does a classifier's: discriminative spreads the rates from
	// the head down to the stem.
	res, err := fit.Train(context.Background(), fit.Run{Model: m.Model, Task: task, Config: fit.Config{
		Epochs: epochs, BatchSize: 8, Seed: 1, Phases: plan.Phases,
		Optimizer: optim.Config{Name: "adam", LR: 3e-3}}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := task.Evaluate(context.Background(), vl, fit.Config{})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].TrainLoss, res.History[len(res.History)-1].TrainLoss
	t.Logf("loss %.3f → %.3f; mAP@0.5 %.3f → %.3f (best epoch %d, validation mAP@0.5 %.3f)", first, last, before.COCO.AP50, after.COCO.AP50,
		res.BestEpoch, res.History[res.BestEpoch-1].ValAcc)
	if !(last < 0.6*first) {
		t.Errorf("the loss fell from %.3f to %.3f only", first, last)
	}
	if !(after.COCO.AP50 > before.COCO.AP50+0.2) {
		t.Errorf("mAP@0.5 went from %.3f to %.3f", before.COCO.AP50, after.COCO.AP50)
	}
	// The best epoch's weights are the ones left in the model, as for a
	// classifier: the final evaluation is the best epoch's score.
	if got := res.History[res.BestEpoch-1].ValAcc; got != after.COCO.AP50 {
		t.Errorf("best epoch scored %.4f, the restored model %.4f", got, after.COCO.AP50)
	}
	if _, err := fit.Train(context.Background(), fit.Run{Model: m.Model, Task: task, Config: fit.Config{Epochs: 1, PreciseBN: true,
		Optimizer: optim.Config{Name: "adam", LR: 1e-3}}}); err == nil {
		t.Error("precise BatchNorm accepted for a detector")
	}
}
