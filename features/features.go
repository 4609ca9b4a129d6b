// Package features runs a pretrained model once over a sample of a data set
// and keeps what graft advise and graft doctor measure: the pooled output
// of every stage (what truncate:K and freeze:K would build on), the
// penultimate features a new head trains on, the source classifier's
// probabilities, the inputs' pixels, and the statistics every BatchNorm
// layer sees next to the running ones it was pretrained with.
//
// Nothing is trained; the model is used in inference mode and left as it
// was.
package features

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Options choose the sample and the engine.
type Options struct {
	// MaxImages caps the sample (a seeded random subset, every class
	// kept); 0 means 1000. Scores and distances settle long before the
	// whole of a large set.
	MaxImages int
	Batch     int // default 64
	Seed      uint64
	Device    torch.Device
	// Preprocess fits images to the model; normally the checkpoint's.
	Preprocess data.Preprocess
	// PixelDims caps the length of Set.Pixels rows (area-downsampled
	// inputs); 0 means 768.
	PixelDims int
}

// Set is what one pass measured. Rows of every matrix follow Labels.
type Set struct {
	Labels  []int
	Indices []int // data set indices of the sample, in row order
	// Stages are the body stages, then "head": the classifier's input.
	Stages []Stage
	// Probs are the source classifier's softmax outputs (nil when the
	// model has no classifier).
	Probs [][]float64
	// Pixels are the preprocessed inputs, area-downsampled: the features
	// of a network that has learnt nothing, for training from scratch.
	Pixels [][]float64
	// Input statistics per channel after preprocessing.
	InputMean, InputStd []float64
}

// Stage is one stage's output.
type Stage struct {
	Name string
	// Index is the stage's position in the model (the head's for "head").
	Index    int
	Features [][]float64 // global-average-pooled, one row per image
	BN       []BNStat    // the BatchNorm layers inside the stage, in order
}

// BNStat compares one BatchNorm layer's pretrained running statistics
// with those of its input on the target sample.
type BNStat struct {
	Stage                 string
	Layer                 int // position among the stage's BatchNorms
	SourceMean, SourceVar []float64
	TargetMean, TargetVar []float64
}

// KL is the mean over channels of KL(target ‖ source) between the two
// per-channel Gaussians: 0 when the target looks like what the layer was
// pretrained on; about 0.5 when means sit one source standard deviation
// apart.
func (b BNStat) KL() float64 {
	var s float64
	for c := range b.SourceMean {
		vs, vt := b.SourceVar[c]+1e-5, b.TargetVar[c]+1e-5
		d := b.TargetMean[c] - b.SourceMean[c]
		s += 0.5 * (d*d/vs + vt/vs - 1 - math.Log(vt/vs))
	}
	return s / float64(len(b.SourceMean))
}

// MeanKL averages KL over the stage's BatchNorms (0 with none).
func (s Stage) MeanKL() (float64, bool) {
	if len(s.BN) == 0 {
		return 0, false
	}
	var t float64
	for _, b := range s.BN {
		t += b.KL()
	}
	return t / float64(len(s.BN)), true
}

// Sample picks at most max indices of ds at random (seeded), keeping at
// least one image of every class that has one, sorted.
func Sample(ds data.Dataset, max int, seed uint64) []int {
	n := ds.Len()
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if n <= max {
		return idx
	}
	r := rand.New(rand.NewPCG(seed, 0x6665617475726573))
	r.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	seen := map[int]bool{}
	var out, rest []int
	for _, i := range idx {
		if l := ds.Label(i); !seen[l] {
			seen[l] = true
			out = append(out, i)
		} else {
			rest = append(rest, i)
		}
	}
	if len(out) < max {
		out = append(out, rest[:max-len(out)]...)
	}
	sort.Ints(out)
	return out
}

// Extract runs m over a sample of ds.
func Extract(ctx context.Context, m *nn.Model, ds data.Dataset, o Options) (*Set, error) {
	if o.MaxImages <= 0 {
		o.MaxImages = 1000
	}
	if o.Batch <= 0 {
		o.Batch = 64
	}
	if o.PixelDims <= 0 {
		o.PixelDims = 768
	}
	if len(m.Stages) < 2 {
		return nil, fmt.Errorf("%s: a model with %d stages has no body to measure", m.Arch, len(m.Stages))
	}
	idx := Sample(ds, o.MaxImages, o.Seed)
	sub := &data.Subset{Base: ds, Indices: idx}
	l, err := data.NewLoader(sub, data.LoaderConfig{BatchSize: o.Batch, Preprocess: o.Preprocess})
	if err != nil {
		return nil, err
	}
	head := len(m.Stages) - 1
	set := &Set{}
	for i, s := range m.Stages[:head] {
		set.Stages = append(set.Stages, Stage{Name: s.Name, Index: i})
	}
	set.Stages = append(set.Stages, Stage{Name: "head", Index: head})

	// Hooks: BatchNorm inputs and the classifier's input.
	hooks := hookBatchNorms(m, len(m.Stages))
	defer hooks.unhook()
	var penult [][]float64
	cls, _ := m.Classifier()
	if cls != nil {
		cls.Observe = func(x *torch.Tensor) {
			if hooks.err == nil {
				var rows [][]float64
				rows, hooks.err = matrix(x)
				penult = append(penult, rows...)
			}
		}
	}
	defer func() {
		if cls != nil {
			cls.Observe = nil
		}
	}()

	var sumIn, sqIn []float64
	var countIn float64
	err = eachBatch(ctx, l, o.Device, func(b *data.Batch, x *torch.Tensor) error {
		if sumIn == nil {
			sumIn, sqIn = make([]float64, b.C), make([]float64, b.C)
		}
		plane := b.H * b.W
		for i := 0; i < b.N; i++ {
			for c := 0; c < b.C; c++ {
				for _, v := range b.X[(i*b.C+c)*plane : (i*b.C+c+1)*plane] {
					sumIn[c] += float64(v)
					sqIn[c] += float64(v) * float64(v)
				}
			}
		}
		countIn += float64(b.N * plane)
		set.Pixels = append(set.Pixels, downsample(b, o.PixelDims)...)
		for _, y := range b.Y {
			set.Labels = append(set.Labels, int(y))
		}
		set.Indices = append(set.Indices, b.Index...)
		h := x
		for i := 0; i < head; i++ {
			h = m.ForwardRange(h, i, i+1, false)
			pooled, err := pool(h)
			if err != nil {
				return fmt.Errorf("stage %s: %w", m.Stages[i].Name, err)
			}
			set.Stages[i].Features = append(set.Stages[i].Features, pooled...)
		}
		logits := m.ForwardRange(h, head, head+1, false)
		if hooks.err != nil {
			return hooks.err
		}
		if err := logits.Err(); err != nil {
			return fmt.Errorf("forward pass on a %dx%dx%d batch: %w", b.C, b.H, b.W, err)
		}
		if cls != nil {
			p, err := matrix(logits.Softmax(1))
			if err != nil {
				return err
			}
			set.Probs = append(set.Probs, p...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(set.Labels) == 0 {
		return nil, fmt.Errorf("no images to measure")
	}
	// The head's features: the classifier's input when there is one, the
	// last body stage's pooled output otherwise.
	if penult != nil {
		set.Stages[head].Features = penult
	} else {
		set.Stages[head].Features = set.Stages[head-1].Features
	}
	for c := range sumIn {
		mu := sumIn[c] / countIn
		set.InputMean = append(set.InputMean, mu)
		set.InputStd = append(set.InputStd, math.Sqrt(math.Max(sqIn[c]/countIn-mu*mu, 0)))
	}
	stats, err := hooks.stats(m)
	if err != nil {
		return nil, err
	}
	for i, st := range stats {
		if st.TargetMean == nil {
			continue
		}
		si := min(hooks.accs[i].stage, head)
		set.Stages[si].BN = append(set.Stages[si].BN, st)
	}
	return set, nil
}

// BatchNormStats runs the first stages of m over every image of ds and
// compares the input statistics of each BatchNorm in them with its running
// ones: the part of Extract that graft doctor repeats under several
// candidate preprocessings, without running the rest of the model.
func BatchNormStats(ctx context.Context, m *nn.Model, ds data.Dataset, stages int, o Options) ([]BNStat, error) {
	if o.Batch <= 0 {
		o.Batch = 64
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: o.Batch, Preprocess: o.Preprocess})
	if err != nil {
		return nil, err
	}
	hooks := hookBatchNorms(m, stages)
	defer hooks.unhook()
	err = eachBatch(ctx, l, o.Device, func(b *data.Batch, x *torch.Tensor) error {
		if err := m.ForwardRange(x, 0, stages, false).Err(); err != nil {
			return fmt.Errorf("forward pass on a %dx%dx%d batch: %w", b.C, b.H, b.W, err)
		}
		return hooks.err
	})
	if err != nil {
		return nil, err
	}
	return hooks.stats(m)
}

// eachBatch runs f, without gradients, on every batch of one pass over l,
// with the batch as model input on dev; the batch and every tensor made
// from it are released when f returns. It stops at the first error.
func eachBatch(ctx context.Context, l *data.Loader, dev torch.Device, f func(b *data.Batch, x *torch.Tensor) error) error {
	var err error
	torch.NoGrad(func() {
		for b, berr := range l.Epoch(ctx, 0) {
			if berr != nil {
				err = berr
				return
			}
			err = func() error {
				defer b.Release()
				s := torch.NewScope()
				defer s.Close()
				x, _ := fit.BatchTensors(s, b, dev, false)
				return f(b, x)
			}()
			if err != nil {
				return
			}
		}
	})
	return err
}

// bnHooks observe the BatchNorm layers of a model's first stages.
type bnHooks struct {
	accs []*acc
	err  error // the first error a hook met
}

func hookBatchNorms(m *nn.Model, stages int) *bnHooks {
	h := &bnHooks{}
	for si, s := range m.Stages[:min(stages, len(m.Stages))] {
		nn.Walk(s.Layers, func(mod nn.Module) {
			bn, ok := mod.(*nn.BatchNorm2d)
			if !ok {
				return
			}
			a := &acc{bn: bn, stage: si}
			h.accs = append(h.accs, a)
			bn.Observe = func(x *torch.Tensor) {
				if h.err == nil {
					h.err = a.add(x)
				}
			}
		})
	}
	return h
}

func (h *bnHooks) unhook() {
	for _, a := range h.accs {
		a.bn.Observe = nil
	}
}

// stats are the hooked layers' statistics, one per layer in model order;
// a layer that saw no input has nil target statistics.
func (h *bnHooks) stats(m *nn.Model) ([]BNStat, error) {
	layer := map[int]int{}
	out := make([]BNStat, 0, len(h.accs))
	for _, a := range h.accs {
		st := BNStat{Stage: m.Stages[a.stage].Name, Layer: layer[a.stage]}
		layer[a.stage]++
		var err error
		if st.SourceMean, err = floats(a.bn.RunningMean); err != nil {
			return nil, err
		}
		if st.SourceVar, err = floats(a.bn.RunningVar); err != nil {
			return nil, err
		}
		if a.count > 0 && len(a.sum) == len(st.SourceMean) {
			for c := range a.sum {
				mu := a.sum[c] / a.count
				st.TargetMean = append(st.TargetMean, mu)
				st.TargetVar = append(st.TargetVar, math.Max(a.sq[c]/a.count-mu*mu, 0))
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// acc sums one BatchNorm layer's input statistics.
type acc struct {
	sum, sq []float64
	count   float64
	bn      *nn.BatchNorm2d
	stage   int
}

// add accumulates per-channel sums of an N×C×H×W (or N×C) input.
func (a *acc) add(x *torch.Tensor) error {
	dims := []int64{0}
	if len(x.Shape()) == 4 {
		dims = []int64{0, 2, 3}
	}
	shape := x.Shape()
	n := float64(x.Numel() / shape[1])
	mean, err := floats(x.Mean(dims...))
	if err != nil {
		return fmt.Errorf("batchnorm input statistics: %w", err)
	}
	sq, err := floats(x.Square().Mean(dims...))
	if err != nil {
		return fmt.Errorf("batchnorm input statistics: %w", err)
	}
	if a.sum == nil {
		a.sum, a.sq = make([]float64, len(mean)), make([]float64, len(mean))
	}
	for c := range mean {
		a.sum[c] += mean[c] * n
		a.sq[c] += sq[c] * n
	}
	a.count += n
	return nil
}

// pool averages an N×C×H×W output over space (N×C outputs pass as they are).
func pool(h *torch.Tensor) ([][]float64, error) {
	if err := h.Err(); err != nil {
		return nil, err
	}
	switch len(h.Shape()) {
	case 4:
		return matrix(h.Mean(2, 3))
	case 2:
		return matrix(h)
	}
	return matrix(h.Flatten(1, -1))
}

// matrix copies an N×D tensor to rows of float64.
func matrix(t *torch.Tensor) ([][]float64, error) {
	v, err := floats(t.Flatten(1, -1))
	if err != nil {
		return nil, err
	}
	n := int(t.Shape()[0])
	if n == 0 {
		return nil, nil
	}
	d := len(v) / n
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = v[i*d : (i+1)*d : (i+1)*d]
	}
	return rows, nil
}

func floats(t *torch.Tensor) ([]float64, error) {
	f, err := t.To(torch.Float32, torch.CPU).Contiguous().Float32s()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(f))
	for i, x := range f {
		out[i] = float64(x)
	}
	return out, nil
}

// downsample area-averages each image of b to at most dims values
// (channels kept), a side that divides evenly enough for a baseline.
func downsample(b *data.Batch, dims int) [][]float64 {
	side := int(math.Sqrt(float64(dims) / float64(b.C)))
	oh, ow := min(side, b.H), min(side, b.W)
	out := make([][]float64, b.N)
	plane := b.H * b.W
	for i := range out {
		row := make([]float64, b.C*oh*ow)
		for c := 0; c < b.C; c++ {
			src := b.X[(i*b.C+c)*plane : (i*b.C+c+1)*plane]
			for y := 0; y < b.H; y++ {
				oy := y * oh / b.H
				for x := 0; x < b.W; x++ {
					row[(c*oh+oy)*ow+x*ow/b.W] += float64(src[y*b.W+x])
				}
			}
		}
		// Each output cell sums about (H/oh)·(W/ow) inputs.
		scale := float64(oh*ow) / float64(plane)
		for j := range row {
			row[j] *= scale
		}
		out[i] = row
	}
	return out
}
