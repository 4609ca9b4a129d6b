package features

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// noise is n random 1×12×12 images over 3 classes, pixels drawn around
// level.
func noise(t *testing.T, n int, level float64) data.Dataset {
	rng := rand.New(rand.NewPCG(5, 2))
	var ims []*data.Image
	var labels []int
	for i := range n {
		im := data.NewImage(1, 12, 12)
		for j := range im.Pix {
			im.Pix[j] = float32(level + 0.1*rng.NormFloat64())
		}
		ims = append(ims, im)
		labels = append(labels, i%3)
	}
	ds, err := data.NewInMemory(ims, labels, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func smallcnn(t *testing.T) *nn.Model {
	torch.ManualSeed(1)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Free)
	return m
}

func TestExtractShapes(t *testing.T) {
	m := smallcnn(t)
	set, err := Extract(context.Background(), m, noise(t, 30, 0.5), Options{MaxImages: 20, Batch: 8, PixelDims: 36})
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Labels) != 20 || len(set.Probs) != 20 || len(set.Pixels) != 20 {
		t.Fatalf("rows: %d labels, %d probs, %d pixels; want 20", len(set.Labels), len(set.Probs), len(set.Pixels))
	}
	want := []struct {
		name string
		dim  int
		bn   int
	}{{"stage1", 32, 1}, {"stage2", 64, 1}, {"stage3", 128, 1}, {"head", 128, 0}}
	if len(set.Stages) != len(want) {
		t.Fatalf("%d stages, want %d", len(set.Stages), len(want))
	}
	for i, w := range want {
		s := set.Stages[i]
		if s.Name != w.name || len(s.Features) != 20 || len(s.Features[0]) != w.dim || len(s.BN) != w.bn {
			t.Errorf("stage %d: %s %d×%d with %d BN; want %s 20×%d with %d", i, s.Name, len(s.Features), len(s.Features[0]), len(s.BN), w.name, w.dim, w.bn)
		}
	}
	if got := len(set.Pixels[0]); got != 36 {
		t.Errorf("pixel row of %d values, want 6×6 = 36", got)
	}
	for _, p := range set.Probs {
		var s float64
		for _, v := range p {
			s += v
		}
		if math.Abs(s-1) > 1e-5 {
			t.Fatalf("probabilities sum to %v", s)
		}
	}
	if math.Abs(set.InputMean[0]-0.5) > 0.02 || math.Abs(set.InputStd[0]-0.1) > 0.02 {
		t.Errorf("input mean %.3f std %.3f, want about 0.5 and 0.1", set.InputMean[0], set.InputStd[0])
	}
	// The model is left without hooks.
	cls, _ := m.Classifier()
	if cls.Observe != nil {
		t.Error("classifier hook left in place")
	}
}

// A BatchNorm whose running statistics are the target's own shows no
// shift; the same layer on brighter images does.
func TestBatchNormShift(t *testing.T) {
	m := smallcnn(t)
	ds := noise(t, 60, 0.5)
	set, err := Extract(context.Background(), m, ds, Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	bn := set.Stages[0].BN[0]
	if bn.KL() < 0.1 {
		t.Fatalf("fresh running statistics (0, 1) already match the conv output: KL %.3f", bn.KL())
	}
	var layer *nn.BatchNorm2d
	nn.Walk(m.Stages[0].Layers, func(mod nn.Module) {
		if b, ok := mod.(*nn.BatchNorm2d); ok && layer == nil {
			layer = b
		}
	})
	f32 := func(v []float64) *torch.Tensor {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return torch.FromFloat32(out, int64(len(out)))
	}
	mu, vr := f32(bn.TargetMean), f32(bn.TargetVar)
	defer mu.Free()
	defer vr.Free()
	if err := layer.RunningMean.CopyFrom_(mu); err != nil {
		t.Fatal(err)
	}
	if err := layer.RunningVar.CopyFrom_(vr); err != nil {
		t.Fatal(err)
	}
	same, err := Extract(context.Background(), m, ds, Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if kl := same.Stages[0].BN[0].KL(); kl > 1e-3 {
		t.Errorf("running statistics copied from the target: KL %.4f, want ≈ 0", kl)
	}
	bright, err := Extract(context.Background(), m, noise(t, 60, 2), Options{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	if kl := bright.Stages[0].BN[0].KL(); kl < 0.5 {
		t.Errorf("images four times brighter: KL %.3f, want a clear shift", kl)
	}
}

func TestSampleKeepsEveryClass(t *testing.T) {
	labels := make([]int, 100)
	labels[99] = 1 // one image of class 1
	ims := make([]*data.Image, 100)
	for i := range ims {
		ims[i] = data.NewImage(1, 2, 2)
	}
	ds, err := data.NewInMemory(ims, labels, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(5) {
		idx := Sample(ds, 10, seed)
		if len(idx) != 10 || idx[len(idx)-1] != 99 {
			t.Fatalf("seed %d: %v, want 10 indices including 99", seed, idx)
		}
	}
	if got := Sample(ds, 1000, 1); len(got) != 100 {
		t.Errorf("cap above the set: %d indices", len(got))
	}
}
