package advise

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/features"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/transferability"
)

// Options are what Measure samples and how.
type Options struct {
	// MaxImages caps the images measured per data set (default 1000).
	MaxImages int
	Seed      uint64
	Device    torch.Device
	// Preprocess is the base's, applied to target and source alike.
	Preprocess data.Preprocess
	// Source, when given, is a sample of what the base was trained on:
	// distances are then between feature distributions. Without it they
	// are between the target's and the base's own BatchNorm statistics.
	Source data.Dataset
	// ValFraction is what graft compare holds out of the training images
	// for validation (0.2 when zero): the images per class a strategy
	// actually trains on.
	ValFraction float64
}

// Target describes the target training set.
type Target struct {
	Images  int          `json:"images"`
	Classes int          `json:"classes"`
	Counts  []ClassCount `json:"per_class"`
	Min     int          `json:"min_per_class"`
	Median  int          `json:"median_per_class"`
	Max     int          `json:"max_per_class"`
	// Imbalance is the largest class count over the smallest, among the
	// classes with images.
	Imbalance float64 `json:"imbalance"`
	// EmptyClasses are classes with no image (e.g. gaps in numbered
	// class folders); the statistics above leave them out.
	EmptyClasses int `json:"empty_classes,omitempty"`
	// TrainPerClass is the median count less the validation split: the
	// images per class a strategy trains on.
	TrainPerClass float64 `json:"train_per_class"`
}

// ClassCount is one class's number of images.
type ClassCount struct {
	Class  string `json:"class"`
	Images int    `json:"images"`
}

// Stage is everything measured at one candidate cut: the pooled output of
// a body stage, or "head", the features the classifier reads.
type Stage struct {
	Name string `json:"stage"`
	// Cut is the K of truncate:K / freeze:K that ends here (stages from
	// the input); the head's is the number of stages.
	Cut int `json:"cut"`
	Dim int `json:"dim"`
	// Accuracy estimates of a classifier on these frozen features.
	Probe float64 `json:"linear_probe_cv"`
	KNN   float64 `json:"knn_loo"`
	// Transferability scores (larger is better; compare within a column).
	// nil where a score could not be computed on these features (Notes
	// says why).
	LogME     *float64 `json:"logme"`
	HScore    *float64 `json:"hscore"`
	TransRate *float64 `json:"transrate"`
	Notes     []string `json:"notes,omitempty"`
	// Projected is the width the scores were computed at, when the
	// features were wider (0: not projected).
	Projected int `json:"scores_projected_to,omitempty"`
	// Similarity to the source at this stage.
	BNShift *float64 `json:"bn_shift_kl,omitempty"` // mean KL of BatchNorm inputs vs running statistics
	FD      *float64 `json:"frechet,omitempty"`     // Fréchet distance / source feature variance
	MMD     *float64 `json:"mmd,omitempty"`         // squared kernel MMD, RBF at the median distance
}

// Measurements are what Advise decides from.
type Measurements struct {
	Target Target `json:"target"`
	// Sampled is how many target images the features were measured on.
	Sampled int     `json:"sampled_images"`
	Stages  []Stage `json:"stages"`
	// Pixels are the estimates on downsampled raw inputs: what a network
	// that has learnt nothing starts from.
	PixelProbe float64 `json:"pixel_probe_cv"`
	PixelKNN   float64 `json:"pixel_knn_loo"`
	// The source classifier on target images.
	LEEP             float64 `json:"leep"`
	NCE              float64 `json:"nce"`
	SourceConfidence float64 `json:"source_confidence"` // mean top probability
	SourceEntropy    float64 `json:"source_entropy"`    // mean entropy / log(source classes)
	SourceClasses    int     `json:"source_classes"`
	// Agreement is each score's Kendall tau with the linear probe over the
	// candidate stages: how far the cheap scores rank cuts alike.
	Agreement []Agreement `json:"agreement"`
	Seconds   float64     `json:"seconds"`
	// GFLOP is the arithmetic of the forward passes measured (0: not
	// counted), the unit a race keeps its budget in; the solvers' own
	// (probes and scores on a few thousand feature vectors) is left out.
	GFLOP float64 `json:"gflop,omitempty"`
}

// Agreement is one score's ranking of stages against the probe's.
type Agreement struct {
	Score string  `json:"score"`
	Best  string  `json:"best_stage"`
	Tau   float64 `json:"kendall_tau_vs_probe"`
}

// Chance is the accuracy of guessing the most frequent class.
func (t Target) Chance() float64 {
	if t.Images == 0 {
		return 0
	}
	return float64(t.Max) / float64(t.Images)
}

// Describe counts a data set's classes.
func Describe(ds data.Dataset, valFraction float64) Target {
	if valFraction == 0 {
		valFraction = 0.2
	}
	classes := ds.Classes()
	counts := make([]int, len(classes))
	for i := 0; i < ds.Len(); i++ {
		if y := ds.Label(i); y >= 0 && y < len(counts) {
			counts[y]++
		}
	}
	t := Target{Images: ds.Len(), Classes: len(classes)}
	for i, c := range counts {
		t.Counts = append(t.Counts, ClassCount{classes[i], c})
	}
	if len(counts) == 0 {
		return t
	}
	// Statistics over the classes that have images: numbered class
	// folders with gaps name classes with none, which would make the
	// imbalance infinite (and JSON refuse it) without saying anything.
	sorted := slices.DeleteFunc(slices.Clone(counts), func(n int) bool { return n == 0 })
	t.EmptyClasses = len(counts) - len(sorted)
	if len(sorted) == 0 {
		return t
	}
	slices.Sort(sorted)
	t.Min, t.Max, t.Median = sorted[0], sorted[len(sorted)-1], sorted[len(sorted)/2]
	t.Imbalance = float64(t.Max) / float64(t.Min)
	t.TrainPerClass = float64(t.Median) * (1 - valFraction)
	return t
}

// Measure runs the base model m over the target training set (and the
// source, when given) and computes every measurement. m keeps its weights.
func Measure(ctx context.Context, m *nn.Model, train data.Dataset, o Options) (*Measurements, error) {
	start := time.Now()
	meas := &Measurements{Target: Describe(train, o.ValFraction)}
	fo := features.Options{MaxImages: o.MaxImages, Seed: o.Seed, Device: o.Device, Preprocess: o.Preprocess}
	set, err := features.Extract(ctx, m, train, fo)
	if err != nil {
		return nil, fmt.Errorf("target features: %w", err)
	}
	var src *features.Set
	if o.Source != nil {
		if src, err = features.Extract(ctx, m, o.Source, fo); err != nil {
			return nil, fmt.Errorf("source features: %w", err)
		}
	}
	meas.Sampled = len(set.Labels)
	labels, classes := compact(set.Labels)
	if classes < 2 {
		return nil, fmt.Errorf("the target needs at least two classes with images; it has %d", classes)
	}
	for i, s := range set.Stages {
		st := Stage{Name: s.Name, Cut: s.Index + 1, Dim: len(s.Features[0])}
		if i > 0 && sameFeatures(set.Stages[i-1].Features, s.Features) {
			// The classifier often reads the last stage's pooled output
			// unchanged (ResNet, MobileNet, the small CNN): its scores
			// are that stage's.
			scores := meas.Stages[i-1]
			scores.Name, scores.Cut, scores.BNShift, scores.FD, scores.MMD = st.Name, st.Cut, nil, nil, nil
			st = scores
		} else if err := scoreStage(&st, s.Features, labels, classes, o.Seed); err != nil {
			return nil, fmt.Errorf("stage %s: %w", s.Name, err)
		}
		if kl, ok := s.MeanKL(); ok {
			st.BNShift = &kl
		}
		if src != nil {
			fd := frechet(src.Stages[i].Features, s.Features)
			mmd := mmd2(src.Stages[i].Features, s.Features, o.Seed)
			st.FD, st.MMD = &fd, &mmd
		}
		meas.Stages = append(meas.Stages, st)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	if meas.PixelProbe, err = transferability.ProbeCV(set.Pixels, labels, classes, 5, o.Seed); err != nil {
		return nil, fmt.Errorf("pixels: %w", err)
	}
	if meas.PixelKNN, err = transferability.KNN(set.Pixels, labels, classes, 5); err != nil {
		return nil, fmt.Errorf("pixels: %w", err)
	}
	if set.Probs != nil {
		if err := sourceScores(meas, set.Probs, labels, classes); err != nil {
			return nil, err
		}
	}
	meas.Agreement = agreement(meas.Stages)
	meas.Seconds = time.Since(start).Seconds()
	images := len(set.Labels)
	if src != nil {
		images += len(src.Labels)
	}
	meas.GFLOP = forwardGFLOP(m, o.Preprocess, train, images)
	return meas, nil
}

// forwardGFLOP is n images' forward pass through m at the size p gives
// ds's images (data.InputSize); 0 where it cannot be counted.
func forwardGFLOP(m *nn.Model, p data.Preprocess, ds data.Dataset, n int) float64 {
	h, w, err := data.InputSize(p, ds)
	if err != nil {
		return 0
	}
	f, err := m.FLOPs(h, w)
	if err != nil {
		return 0
	}
	return float64(f) * float64(n) / 1e9
}

func sameFeatures(a, b [][]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// compact renumbers labels 0..k-1 over the classes present in the sample.
func compact(labels []int) ([]int, int) {
	ids := map[int]int{}
	out := make([]int, len(labels))
	for i, y := range labels {
		id, ok := ids[y]
		if !ok {
			id = len(ids)
			ids[y] = id
		}
		out[i] = id
	}
	return out, len(ids)
}

func scoreStage(st *Stage, x [][]float64, labels []int, classes int, seed uint64) error {
	var err error
	if st.Probe, err = transferability.ProbeCV(x, labels, classes, 5, seed); err != nil {
		return err
	}
	if st.KNN, err = transferability.KNN(x, labels, classes, 5); err != nil {
		return err
	}
	// The scores' eigendecompositions grow with the cube of the width:
	// wide features (VGG's 4,096) are first projected at random, which
	// keeps distances (Johnson–Lindenstrauss) and the ranking of stages.
	if len(x[0]) > scoreDims {
		x = project(x, scoreDims, seed)
		st.Projected = scoreDims
	}
	// A score that fails (degenerate features on a tiny sample) is left
	// out with a note; the others still count.
	keep := func(name string, dst **float64, v float64, err error) {
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			st.Notes = append(st.Notes, fmt.Sprintf("%s not computable: %v", name, err))
			return
		}
		*dst = &v
	}
	v, err := transferability.LogME(x, labels, classes)
	keep("LogME", &st.LogME, v, err)
	v, err = transferability.HScore(x, labels)
	keep("H-score", &st.HScore, v, err)
	v, err = transferability.TransRate(x, labels, 0)
	keep("TransRate", &st.TransRate, v, err)
	return nil
}

func sourceScores(meas *Measurements, probs [][]float64, labels []int, classes int) error {
	var err error
	if meas.LEEP, err = transferability.LEEP(probs, labels, classes); err != nil {
		return fmt.Errorf("LEEP: %w", err)
	}
	pred := make([]int, len(probs))
	var conf, ent float64
	for i, p := range probs {
		best := 0
		for j, v := range p {
			if v > p[best] {
				best = j
			}
			if v > 0 {
				ent -= v * math.Log(v)
			}
		}
		pred[i] = best
		conf += p[best]
	}
	if meas.NCE, err = transferability.NCE(pred, labels); err != nil {
		return fmt.Errorf("NCE: %w", err)
	}
	n := float64(len(probs))
	meas.SourceClasses = len(probs[0])
	meas.SourceConfidence = conf / n
	if meas.SourceClasses > 1 {
		meas.SourceEntropy = ent / n / math.Log(float64(meas.SourceClasses))
	}
	return nil
}

// agreement ranks the stages by each score and compares with the probe.
func agreement(stages []Stage) []Agreement {
	return Agree(stages, func(s Stage) string { return s.Name }, func(s Stage) float64 { return s.Probe }, []Scorer[Stage]{
		{"knn", func(s Stage) float64 { return s.KNN }},
		{"logme", func(s Stage) float64 { return Value(s.LogME) }},
		{"hscore", func(s Stage) float64 { return Value(s.HScore) }},
		{"transrate", func(s Stage) float64 { return Value(s.TransRate) }},
		{"linear_probe", func(s Stage) float64 { return s.Probe }},
	})
}

// Scorer names one score of a candidate (a stage, a base).
type Scorer[T any] struct {
	Name string
	Get  func(T) float64
}

// Agree ranks candidates by each score and gives its Kendall tau with the
// probe's ranking, and the candidate it puts first.
func Agree[T any](items []T, name func(T) string, probe func(T) float64, scores []Scorer[T]) []Agreement {
	ref := make([]float64, len(items))
	for i, it := range items {
		ref[i] = probe(it)
	}
	var out []Agreement
	for _, sc := range scores {
		v := make([]float64, len(items))
		best := 0
		for i, it := range items {
			v[i] = sc.Get(it)
			if v[i] > v[best] {
				best = i
			}
		}
		out = append(out, Agreement{Score: sc.Name, Best: name(items[best]), Tau: KendallTau(v, ref)})
	}
	return out
}

// Value is a score that may be missing, missing ranking last. The lowest
// finite number, not −Inf: two missing scores then tie instead of making
// NaN differences.
func Value(p *float64) float64 {
	if p == nil {
		return -math.MaxFloat64
	}
	return *p
}

// scoreDims caps the width LogME, H-score and TransRate see.
const scoreDims = 512

// project multiplies x by a seeded Gaussian matrix into k columns.
func project(x [][]float64, k int, seed uint64) [][]float64 {
	d := len(x[0])
	r := rand.New(rand.NewPCG(seed, 0x70726f6a))
	w := make([]float64, d*k)
	scale := 1 / math.Sqrt(float64(k))
	for i := range w {
		w[i] = r.NormFloat64() * scale
	}
	out := make([][]float64, len(x))
	for i, row := range x {
		o := make([]float64, k)
		for j, v := range row {
			if v == 0 {
				continue
			}
			wj := w[j*k : (j+1)*k]
			for c := range o {
				o[c] += v * wj[c]
			}
		}
		out[i] = o
	}
	return out
}
