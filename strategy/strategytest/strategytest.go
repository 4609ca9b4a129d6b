// Package strategytest is the suite every registered strategy passes, the
// way restic's backend suite runs every backend through everything. Run
// iterates strategy.Registry — not a list of its own — and takes each
// strategy (at every stage where it takes one, and with +l2sp where that
// combines) through:
//
//   - its definition: a name and doc, traits that agree with each other,
//     and a parser that accepts exactly the arguments and suffixes the
//     traits promise;
//   - planning on a smallcnn-shaped and a resnet18-shaped outline: the
//     budget used exactly, no empty phase, a rate per stage, the head
//     trained in every phase, and a Plan whose fields are what the traits
//     say;
//   - a short real training through graft's one executor
//     (experiment.Adapt, which transfer and compare run) under the refit
//     protocol: a selection fold, then a refit on every image, from a tiny random smallcnn checkpoint to a target with a
//     different class count: finite losses, and a model with the target's
//     classes;
//   - graft advise: ordering, pruning, and the advice and story for a race
//     it wins, in every quadrant of the chart, one of which means it;
//   - graft doctor: the too-small check, just below the strategy's images
//     per class and at it.
//
// Adding a strategy therefore needs no line here: register the Def and
// run go test ./strategy/...
package strategytest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/advise"
	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/doctor"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Run runs every registered strategy through the suite.
func Run(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range strategy.Registry {
		if seen[d.Name] {
			t.Errorf("two strategies are registered as %q", d.Name)
		}
		seen[d.Name] = true
	}
	env := newEnv(t)
	for _, d := range strategy.Registry {
		t.Run(d.Name, func(t *testing.T) {
			t.Run("def", func(t *testing.T) { checkDef(t, d) })
			t.Run("plan", func(t *testing.T) {
				for _, m := range outlines() {
					for _, s := range variants(t, d, m, true) {
						checkPlan(t, d, s, m)
					}
				}
			})
			for _, s := range variants(t, d, env.shape, false) {
				t.Run(s.Name, func(t *testing.T) {
					t.Run("train", func(t *testing.T) { env.checkTraining(t, d, s) })
					t.Run("advise", func(t *testing.T) { env.checkAdvise(t, d, s) })
					t.Run("doctor", func(t *testing.T) { env.checkDoctor(t, s) })
				})
			}
		})
	}
}

// outlines are model shapes with nothing in them (all a plan reads): a
// smallcnn and a resnet18.
func outlines() []*nn.Model {
	mk := func(arch string, stages ...string) *nn.Model {
		m := &nn.Model{Arch: arch}
		for _, s := range stages {
			m.Stages = append(m.Stages, &nn.Stage{Name: s})
		}
		return m
	}
	return []*nn.Model{
		mk("smallcnn", "stage1", "stage2", "stage3", "head"),
		mk("resnet18", "stem", "stage1", "stage2", "stage3", "stage4", "head"),
	}
}

// variants are the strategies d stands for on model m: d alone, or d at
// every stage of m's body where it takes one (also by the stage's name
// when stageNames), each also with +l2sp where it combines. They are
// parsed from their names, as a user gives them.
func variants(t *testing.T, d *strategy.Def, m *nn.Model, stageNames bool) []strategy.Strategy {
	t.Helper()
	names := []string{d.Name}
	if d.HasArg {
		names = nil
		for k := 1; k < len(m.Stages); k++ {
			names = append(names, d.At(k).Name)
			if stageNames {
				names = append(names, d.Name+":"+m.Stages[k-1].Name)
			}
		}
	}
	var out []strategy.Strategy
	for _, n := range names {
		with := []string{n}
		if d.TakesL2SP {
			with = append(with, n+"+"+strategy.L2SP.Name)
		}
		for _, w := range with {
			s, err := strategy.Parse(w)
			if err != nil {
				t.Fatalf("parse %s: %v", w, err)
			}
			if s.Name != w || s.Def() != d {
				t.Fatalf("parse %s: %+v, not %s", w, s, d.Name)
			}
			out = append(out, s)
		}
	}
	return out
}

// checkDef checks what a Def says about itself.
func checkDef(t *testing.T, d *strategy.Def) {
	if d.Name == "" || d.Name != strings.ToLower(d.Name) || strings.ContainsAny(d.Name, ":+, ") {
		t.Errorf("name %q: lower case, without ':', '+', ',' or spaces", d.Name)
	}
	if d.Doc == "" || strings.Contains(d.Doc, "\n") {
		t.Errorf("doc %q: one line", d.Doc)
	}
	if d.Phases == nil {
		t.Error("no Phases")
	}
	// Doctor needs at least two images a class: one leaves nothing to
	// validate on, whatever trains.
	if d.MinPerClass < 2 {
		t.Errorf("MinPerClass %d: at least 2", d.MinPerClass)
	}
	all := strategy.FrozenFeatures | strategy.EarlyLayers | strategy.GentleFinetune | strategy.TrainEverything
	if d.Families == 0 || d.Families&^all != 0 {
		t.Errorf("Families %b: one or more of the chart's four", d.Families)
	}
	if d.Cuts && !d.HasArg {
		t.Error("Cuts without a stage argument to cut at")
	}
	if (d.Scratch || d.HeadOnly) && d.TakesL2SP {
		t.Error("TakesL2SP, but no pretrained weight trains")
	}
	if d.Scratch && d.HeadOnly {
		t.Error("Scratch and HeadOnly: a random base has no features to freeze")
	}
	// The parser accepts what the traits promise, and nothing else.
	if _, err := strategy.Parse(d.Name); (err == nil) == d.HasArg {
		t.Errorf("Parse(%q): %v (HasArg %v)", d.Name, err, d.HasArg)
	}
	if _, err := strategy.Parse(d.Name + ":1"); (err == nil) != d.HasArg {
		t.Errorf("Parse(%q): %v (HasArg %v)", d.Name+":1", err, d.HasArg)
	}
	arg := d.Name
	if d.HasArg {
		arg = d.At(1).Name
	}
	if _, err := strategy.Parse(arg + "+" + strategy.L2SP.Name); (err == nil) != d.TakesL2SP {
		t.Errorf("Parse(%q): %v (TakesL2SP %v)", arg+"+"+strategy.L2SP.Name, err, d.TakesL2SP)
	}
	if !slices.ContainsFunc(strategy.Catalogue, func(in strategy.Info) bool {
		return in.Name == d.Name && in.Doc == d.Doc && in.HasArg == d.HasArg
	}) {
		t.Error("missing from the catalogue")
	}
}

// checkPlan checks s's plan on m against the shape every plan has and the
// traits of its Def.
func checkPlan(t *testing.T, d *strategy.Def, s strategy.Strategy, m *nn.Model) {
	t.Helper()
	where := fmt.Sprintf("%s on %s", s.Name, m.Arch)
	if _, err := s.Plan(m, strategy.Budget{}); err == nil {
		t.Errorf("%s: a budget of no epoch is planned", where)
	}
	b := strategy.Budget{Epochs: 12, Patience: 3}
	p, err := s.Plan(m, b)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if again, _ := s.Plan(m, b); !reflect.DeepEqual(p, again) {
		t.Errorf("%s: two plans differ", where)
	}
	var k int
	if d.HasArg {
		if k, err = s.Stages(m); err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
	}
	stages := len(m.Stages)
	if d.Cuts {
		stages = k + 1
	}
	total := 0
	for _, ph := range p.Phases {
		total += ph.Epochs
		if ph.Epochs < 1 {
			t.Errorf("%s: phase %s has %d epochs", where, ph.Name, ph.Epochs)
		}
		if ph.StageLR == nil {
			if d.HeadOnly {
				t.Errorf("%s: phase %s trains every stage, the strategy only a head", where, ph.Name)
			}
			continue
		}
		if len(ph.StageLR) != stages {
			t.Errorf("%s: phase %s has %d rates for %d stages", where, ph.Name, len(ph.StageLR), stages)
			continue
		}
		if ph.StageLR[stages-1] <= 0 {
			t.Errorf("%s: phase %s does not train the head", where, ph.Name)
		}
		for i, r := range ph.StageLR {
			if r < 0 || math.IsNaN(r) || (d.HeadOnly && i < stages-1 && r != 0) {
				t.Errorf("%s: phase %s rates %v", where, ph.Name, ph.StageLR)
				break
			}
		}
	}
	if len(p.Phases) == 0 || total != b.Epochs {
		t.Errorf("%s: %d phases use %d epochs of a %d-epoch budget", where, len(p.Phases), total, b.Epochs)
	}
	if p.Scratch != d.Scratch || p.StandardizeHead != d.HeadOnly || (p.L2SP > 0) != s.L2SP {
		t.Errorf("%s: plan scratch %v, standardised head %v, L2-SP %g; the strategy says %v, %v, %v",
			where, p.Scratch, p.StandardizeHead, p.L2SP, d.Scratch, d.HeadOnly, s.L2SP)
	}
	want := 0
	if d.Cuts {
		want = k
	}
	if p.CutAfter != want {
		t.Errorf("%s: cut after %d stages, want %d", where, p.CutAfter, want)
	}
	if d.HasArg {
		for _, bad := range []int{0, len(m.Stages)} {
			if _, err := strategy.Expand(d.At(bad).Name, m); err == nil {
				t.Errorf("%s: stage %d of %d accepted", where, bad, len(m.Stages)-1)
			}
		}
	}
}

// env is what the execution, advise and doctor checks share: a tiny
// random smallcnn checkpoint (3 classes, 12×12 grey) and target images of
// 4 classes.
type env struct {
	dir   string
	base  *experiment.Base
	shape *nn.Model
}

// classes of the target: a different count from the base's, so that every
// strategy replaces the head.
const classes = 4

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	torch.ManualSeed(1)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 3, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	path := filepath.Join(dir, "base")
	if err := checkpoint.Save(path, m, checkpoint.Meta{Classes: []string{"a", "b", "c"}, Preprocess: data.Preprocess{Size: 12, Channels: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	b, err := experiment.LoadBase(path)
	if err != nil {
		t.Fatal(err)
	}
	return &env{dir: dir, base: b, shape: b.Shape()}
}

// lines makes perClass grey 12×12 images of each of the 4 classes: a line
// across the image (horizontal, vertical, or one of the diagonals) at a
// random offset, with noise.
func lines(perClass int, seed uint64) data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 13))
	var ims []*data.Image
	var labels []int
	for i := range perClass * classes {
		c := i % classes
		im := data.NewImage(1, 12, 12)
		p := 2 + rng.IntN(8)
		for k := range 12 {
			switch c {
			case 0:
				im.Set(0, p, k, 1)
			case 1:
				im.Set(0, k, p, 1)
			case 2:
				im.Set(0, k, k, 1)
			default:
				im.Set(0, k, 11-k, 1)
			}
		}
		for j := range im.Pix {
			im.Pix[j] += float32(rng.NormFloat64() * 0.15)
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, _ := data.NewInMemory(ims, labels, []string{"horizontal", "vertical", "diagonal", "anti-diagonal"})
	return ds
}

// checkTraining adapts the base with s for two epochs: one selection fold,
// then the refit on every image.
func (e *env) checkTraining(t *testing.T, d *strategy.Def, s strategy.Strategy) {
	ctx := context.Background()
	train := lines(6, 1)
	c := experiment.Config{Base: e.base, Train: train, LRGrid: []float64{3e-3}, ValFraction: 0.5, Folds: 1,
		Budget: strategy.Budget{Epochs: 2, Patience: 2}, Batch: 8}
	ad, err := experiment.Adapt(ctx, c, s, 0, 1)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	m, run := ad.Model, ad.Run
	defer m.Free()
	if ad.Meta.CutAfter != nil != d.Cuts {
		t.Errorf("checkpoint metadata cut %v; the strategy cuts: %v", ad.Meta.CutAfter, d.Cuts)
	}
	if run.Status != "ok" || run.Refit == nil || run.Refit.Images != train.Len() || len(run.History) == 0 || run.TrainableParams == 0 {
		t.Errorf("run %+v: want ok, a refit on all %d images, a history and trainable weights", run, train.Len())
	}
	for _, h := range run.History {
		if math.IsNaN(h.TrainLoss) || math.IsInf(h.TrainLoss, 0) {
			t.Errorf("epoch %d: training loss %v", h.Epoch, h.TrainLoss)
		}
	}
	want := len(e.shape.Stages)
	if d.Cuts {
		k, _ := s.Stages(e.shape)
		want = k + 1
	}
	if len(m.Stages) != want {
		t.Errorf("adapted model has %d stages, want %d", len(m.Stages), want)
	}
	lin, _ := m.Classifier()
	if lin == nil || lin.Weight.Shape()[0] != classes {
		t.Fatalf("adapted model's classifier %v, want %d classes", lin, classes)
	}
	l, err := data.NewLoader(lines(3, 2), data.LoaderConfig{BatchSize: 8, Preprocess: e.base.Meta.Preprocess})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := fit.Evaluate(ctx, m, l, fit.Config{BatchSize: 8})
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(ev.Loss) || math.IsInf(ev.Loss, 0) {
		t.Errorf("adapted model's loss %v", ev.Loss)
	}
}

// measured builds advise's measurements by hand for the smallcnn shape:
// a probe per stage (the head's last), the pixels' probe, images per class.
func measured(probes []float64, pixels float64, perClass int) *advise.Measurements {
	m := &advise.Measurements{Target: advise.Target{Images: 10 * perClass, Classes: 10, Min: perClass, Median: perClass, Max: perClass,
		Imbalance: 1, TrainPerClass: 0.8 * float64(perClass)}, PixelProbe: pixels, Sampled: 10 * perClass}
	for i, p := range probes {
		m.Stages = append(m.Stages, advise.Stage{Name: []string{"stage1", "stage2", "stage3", "head"}[i], Cut: i + 1, Probe: p})
	}
	return m
}

// checkAdvise gives advise a race s won, in each quadrant of the chart.
func (e *env) checkAdvise(t *testing.T, d *strategy.Def, s strategy.Strategy) {
	quadrants := map[string]*advise.Measurements{
		"small-similar":   measured([]float64{0.4, 0.7, 0.95, 0.96}, 0.3, 5),
		"small-different": measured([]float64{0.5, 0.7, 0.55, 0.5}, 0.2, 5),
		"large-similar":   measured([]float64{0.4, 0.7, 0.9, 0.92}, 0.3, 500),
		"large-different": measured([]float64{0.3, 0.5, 0.6, 0.6}, 0.4, 500),
	}
	cands := []strategy.Strategy{s}
	agreed := 0
	for q, meas := range quadrants {
		if _, ok := advise.Order(meas, e.shape, cands)[s.Name]; !ok {
			t.Errorf("advise.Order gives %s no score", s.Name)
		}
		advise.Prune(meas, e.shape, cands)
		entry := experiment.RaceEntry{Strategy: s.Name, Rung: "strategies", LR: 1e-3, Epochs: 20, ValAcc: 0.8, Low: 0.75, High: 0.85,
			Seeds: 1, ValImages: 100, Status: "ok", Trainable: 1000}
		race := &experiment.RaceResult{Budget: 0.25, FullSeconds: 100, Seconds: 10, Entries: []experiment.RaceEntry{entry},
			Trials: []experiment.RaceTrial{{Rung: "strategies", Strategy: s.Name, Seconds: 1, Status: "ok"}}}
		a, err := advise.Advise(meas, race, e.shape, nil, advise.TieBest)
		if err != nil {
			t.Errorf("%s: %v", q, err)
			continue
		}
		if a.Quadrant != q {
			t.Errorf("measurements meant for %s are %s", q, a.Quadrant)
		}
		if a.Recommended.Strategy != s.Name || a.Ranking[0].Why == "" || !strings.Contains(a.Story, a.Quadrant) {
			t.Errorf("advice %+v", a)
		}
		if d.HasArg {
			k, _ := s.Stages(e.shape)
			if a.Recommended.Stage != e.shape.Stages[k-1].Name {
				t.Errorf("recommended stage %q, want %s", a.Recommended.Stage, e.shape.Stages[k-1].Name)
			}
		}
		if strings.Contains(a.Story, "the two agree") {
			agreed++
		}
	}
	if agreed == 0 {
		t.Errorf("no quadrant of the chart means %s (Families %b)", s.Name, d.Families)
	}
}

// checkDoctor runs doctor's too-small check on one training image a class
// (too few for any strategy) and on twice the strategy's minimum (enough).
func (e *env) checkDoctor(t *testing.T, s strategy.Strategy) {
	ctx := context.Background()
	base := filepath.Join(e.dir, "base")
	few, err := doctor.Run(ctx, doctor.Plan{Base: base, Train: lines(1, 3), Strategy: s.Name, Checks: []string{"too-small"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(few.Findings) != 1 || few.Findings[0].Check != "too-small" || few.Findings[0].Fix == "" ||
		few.Findings[0].What != doctor.TooFew(1, s) || doctor.TooFew(1, s) == "" {
		t.Errorf("one image a class: findings %+v, want too-small with a fix", few.Findings)
	}
	need := s.MinPerClass()
	if doctor.TooFew(need, s) != "" || doctor.TooFew(need-1, s) == "" {
		t.Errorf("doctor's threshold is not %d images per class", need)
	}
	enough, err := doctor.Run(ctx, doctor.Plan{Base: base, Train: lines(2*need, 3), Strategy: s.Name, Checks: []string{"too-small"}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(enough.Findings) != 0 {
		t.Errorf("%d images a class: findings %+v", 2*need, enough.Findings)
	}
}
