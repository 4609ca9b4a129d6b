package doctor

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// px is the test images' size: small enough that every Run takes about
// a second.
const px = 16

var unit16 = data.Preprocess{Size: px, Channels: 3, Norm: data.NormUnit}

// target draws 16×16 RGB images, perClass[c] of class c: a warm
// background (red well above blue, so a channel swap shows) with noise,
// and a bright square whose place depends on the class.
func target(t *testing.T, perClass []int, seed uint64) *data.InMemory {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var ims []*data.Image
	var labels []int
	var classes []string
	for c, n := range perClass {
		classes = append(classes, string(rune('a'+c)))
		for range n {
			im := data.NewImage(3, px, px)
			for ch, level := range []float64{0.7, 0.45, 0.2} {
				for y := range px {
					for x := range px {
						v := level + 0.12*rng.NormFloat64()
						if (x/8)+(y/8)*2 == c%4 {
							v += 0.25
						}
						im.Set(ch, y, x, float32(min(max(v, 0), 1)))
					}
				}
			}
			ims = append(ims, im)
			labels = append(labels, c)
		}
	}
	ds, err := data.NewInMemory(ims, labels, classes)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// baseOpts describe a test base checkpoint.
type baseOpts struct {
	calibrate data.Preprocess // preprocessing its BatchNorm statistics were measured under
	recorded  data.Preprocess // preprocessing its sidecar records
	shift     []int           // stages whose running means are moved 3 standard deviations
}

// base saves a smallcnn whose BatchNorm running statistics are those of
// ds: a base pretrained on data like the target, the clean case, built
// without training.
func base(t *testing.T, ds data.Dataset, o baseOpts) string {
	t.Helper()
	torch.ManualSeed(3)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 5, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	var bns [][]*nn.BatchNorm2d
	for _, s := range m.Stages {
		var in []*nn.BatchNorm2d
		nn.Walk(s.Layers, func(mod nn.Module) {
			if b, ok := mod.(*nn.BatchNorm2d); ok {
				in = append(in, b)
			}
		})
		bns = append(bns, in)
	}
	// One training-mode pass over every image with momentum 1 sets each
	// running statistic to the batch's, stage after stage.
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: ds.Len(), Preprocess: o.calibrate})
	if err != nil {
		t.Fatal(err)
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			t.Fatal(err)
		}
		torch.NoGrad(func() {
			for _, s := range bns {
				for _, bn := range s {
					bn.Momentum = 1
				}
			}
			x := torch.FromFloat32(b.X, int64(b.N), int64(b.C), int64(b.H), int64(b.W))
			defer x.Free()
			y := m.Forward(x, true)
			defer y.Free()
			if err := y.Err(); err != nil {
				t.Fatal(err)
			}
		})
		b.Release()
	}
	for i, s := range bns {
		for _, bn := range s {
			bn.Momentum = 0.1
			if !slices.Contains(o.shift, i) {
				continue
			}
			mean, _ := bn.RunningMean.Float32s()
			vr, _ := bn.RunningVar.Float32s()
			for c := range mean {
				mean[c] += 3 * float32(math.Sqrt(float64(vr[c])))
			}
			mt := torch.FromFloat32(mean, int64(len(mean)))
			if err := bn.RunningMean.CopyFrom_(mt); err != nil {
				t.Fatal(err)
			}
			mt.Free()
		}
	}
	path := filepath.Join(t.TempDir(), "base")
	meta := checkpoint.Meta{Classes: []string{"v", "w", "x", "y", "z"}, Preprocess: o.recorded}
	if err := checkpoint.Save(path, m, meta, nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// cleanBase is a base that suits the target set ds.
func cleanBase(t *testing.T, ds data.Dataset) string {
	return base(t, ds, baseOpts{calibrate: unit16, recorded: unit16})
}

// found lists the checks of a report's findings, once each, sorted.
func found(r *Report) []string {
	var out []string
	for _, f := range r.Findings {
		if !slices.Contains(out, f.Check) {
			out = append(out, f.Check)
		}
	}
	slices.Sort(out)
	return out
}

// expect runs p and requires findings of exactly the checks want.
func expect(t *testing.T, p Plan, want ...string) *Report {
	t.Helper()
	r, err := Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := Write(&b, r); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)
	if got := found(r); !slices.Equal(got, want) {
		t.Fatalf("findings of %v, want %v:\n%s", got, want, b.String())
	}
	for _, f := range r.Findings {
		if f.What == "" || f.Evidence == "" || f.Fix == "" {
			t.Errorf("finding %+v lacks what, evidence or fix", f)
		}
	}
	t.Logf("\n%s", b.String())
	return r
}

// TestClean: a base that suits the target, a sensible rate, enough
// images, no duplicates: every check runs and none finds anything.
func TestClean(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	test := target(t, []int{8, 8, 8}, 2)
	ck := cleanBase(t, train)
	for _, s := range []string{"finetune", "probe"} {
		t.Run(s, func(t *testing.T) {
			r := expect(t, Plan{Base: ck, Train: train, Test: test, Strategy: s, Seed: 1})
			want := CheckNames()
			if s == "finetune" {
				want = slices.DeleteFunc(want, func(c string) bool { return c == "batchnorm" }) // nothing frozen
			}
			if !slices.Equal(r.Checks, want) {
				t.Errorf("ran %v, want %v", r.Checks, want)
			}
		})
	}
}

func TestPreprocessing(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	imagenet16 := data.Preprocess{Size: px, Channels: 3, Norm: data.NormImageNet}
	big := data.Preprocess{Size: 40, Channels: 3, Norm: data.NormUnit}
	cases := []struct {
		name  string
		base  baseOpts
		train data.Dataset
		pre   *data.Preprocess
		says  string // in the finding's text
	}{
		{"planned norm unlike the base's", baseOpts{calibrate: unit16, recorded: unit16}, train, &imagenet16, "norm unit"},
		{"checkpoint records the wrong norm", baseOpts{calibrate: imagenet16, recorded: unit16}, train, nil, "--norm imagenet"},
		{"BGR images", baseOpts{calibrate: unit16, recorded: unit16}, bgr{train}, nil, "BGR"},
		{"input size far from the base's", baseOpts{calibrate: unit16, recorded: unit16}, train, &big, "--size 16"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, Plan{Base: base(t, train, c.base), Train: c.train, Preprocess: c.pre, Seed: 1}, "preprocessing")
			var text strings.Builder
			for _, f := range r.Findings {
				text.WriteString(f.What + f.Evidence + f.Fix)
			}
			if !strings.Contains(text.String(), c.says) {
				t.Errorf("findings do not say %q", c.says)
			}
		})
	}
}

func TestLearningRate(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	expect(t, Plan{Base: cleanBase(t, train), Train: train, LR: 1, Seed: 1}, "learning-rate")
}

// TestBatchNorm: the base's later stages were pretrained on data unlike
// the target, and probe keeps them frozen with their statistics.
func TestBatchNorm(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	ck := base(t, train, baseOpts{calibrate: unit16, recorded: unit16, shift: []int{1, 2}})
	r := expect(t, Plan{Base: ck, Train: train, Strategy: "probe", Seed: 1}, "batchnorm")
	if f := r.Findings[0]; !strings.Contains(f.What, "stage2, stage3") || !strings.Contains(f.Fix, "freeze:1") {
		t.Errorf("finding %+v should name stage2 and stage3 and suggest freeze:1", f)
	}
	// Training BatchNorm in frozen stages is the fix.
	expect(t, Plan{Base: ck, Train: train, Strategy: "probe", BN: BNTrain, Seed: 1})
}

// relabel gives sample i another label.
type relabel struct {
	data.Dataset
	i, label int
}

func (r relabel) Label(i int) int {
	if i == r.i {
		return r.label
	}
	return r.Dataset.Label(i)
}

// renamed gives a data set other class names.
type renamed struct {
	data.Dataset
	classes []string
}

func (r renamed) Classes() []string { return r.classes }

func TestLabels(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	test := target(t, []int{8, 8, 8}, 2)
	ck := cleanBase(t, train)
	cases := []struct {
		name        string
		train, test data.Dataset
		says        string
	}{
		{"label out of range", relabel{train, 5, 7}, test, "label 7"},
		{"class without images", renamed{train, []string{"a", "b", "c", "d"}}, renamed{test, []string{"a", "b", "c", "d"}}, `"d"`},
		{"test classes unlike training's", train, renamed{test, []string{"a", "b", "x"}}, `"x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := expect(t, Plan{Base: ck, Train: c.train, Test: c.test, Seed: 1}, "labels")
			if f := r.Findings[0]; !strings.Contains(f.What+f.Evidence, c.says) {
				t.Errorf("finding %+v does not say %s", f, c.says)
			}
		})
	}
}

func TestImbalance(t *testing.T) {
	train := target(t, []int{150, 13, 13}, 1)
	r := expect(t, Plan{Base: cleanBase(t, train), Train: train, Seed: 1}, "imbalance")
	if f := r.Findings[0]; !strings.Contains(f.Fix, "--shots 13") {
		t.Errorf("fix %q should sample the smallest class's count", f.Fix)
	}
	// Sampling 13 a class is that fix.
	expect(t, Plan{Base: cleanBase(t, train), Train: train, Shots: 13, Seed: 1})
}

func TestDuplicates(t *testing.T) {
	train := target(t, []int{20, 20, 20}, 1)
	fresh := target(t, []int{8, 8, 8}, 2)
	var ims []*data.Image
	var labels []int
	for i := range fresh.Len() {
		im, _ := fresh.Image(i)
		ims, labels = append(ims, im), append(labels, fresh.Label(i))
	}
	// Three training images copied as they are, two re-encoded (pixels
	// moved by under 1%),
	rng := rand.New(rand.NewPCG(9, 9))
	for k, i := range []int{0, 21, 45, 7, 50} {
		im, _ := train.Image(i)
		if k >= 3 {
			for j := range im.Pix {
				im.Pix[j] = min(max(im.Pix[j]+float32(0.008*(rng.Float64()-0.5)), 0), 1)
			}
		}
		ims, labels = append(ims, im), append(labels, train.Label(i))
	}
	// And one at twice the size.
	im, _ := train.Image(33)
	big := data.NewImage(3, 2*px, 2*px)
	for c := range 3 {
		for y := range 2 * px {
			for x := range 2 * px {
				big.Set(c, y, x, im.At(c, y/2, x/2))
			}
		}
	}
	ims, labels = append(ims, big), append(labels, train.Label(33))
	test, err := data.NewInMemory(ims, labels, train.Classes())
	if err != nil {
		t.Fatal(err)
	}
	r := expect(t, Plan{Base: cleanBase(t, train), Train: train, Test: test, Seed: 1}, "duplicates")
	if f := r.Findings[0]; !strings.Contains(f.What, "6 of 30") || !strings.Contains(f.What, "3 identical, 3 nearly so") {
		t.Errorf("finding %q, want 6 of 30 test images, 3 identical and 3 nearly so", f.What)
	}
}

func TestTooSmall(t *testing.T) {
	cases := []struct {
		strategy string
		perClass int
	}{
		{"finetune", 6}, // 5 to train on after the split
		{"scratch", 20},
	}
	for _, c := range cases {
		t.Run(c.strategy, func(t *testing.T) {
			train := target(t, []int{c.perClass, c.perClass, c.perClass}, 1)
			expect(t, Plan{Base: cleanBase(t, train), Train: train, Strategy: c.strategy, Seed: 1}, "too-small")
		})
	}
	// Those six images a class suit a probe.
	train := target(t, []int{6, 6, 6}, 1)
	expect(t, Plan{Base: cleanBase(t, train), Train: train, Strategy: "probe", Seed: 1})
}

func TestBadPlan(t *testing.T) {
	train := target(t, []int{4, 4}, 1)
	for _, p := range []Plan{
		{Train: train},
		{Base: "nowhere", Train: train},
		{Base: "x", Train: train, Strategy: "freeze"},
		{Base: "x", Train: train, BN: "sometimes"},
		{Base: "x", Train: train, Checks: []string{"astrology"}},
	} {
		if _, err := Run(context.Background(), p); err == nil {
			t.Errorf("plan %+v: no error", p)
		}
	}
}
