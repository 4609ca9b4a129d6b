package doctor

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/features"
	"github.com/graftml/graft/lrfind"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Preprocessing thresholds.
const (
	// StemShiftKL is the KL divergence, between what the first BatchNorm
	// sees on the target and its running statistics, above which the
	// input preprocessing is examined, and below which an alternative
	// must bring it to be the fix. A wrong normalisation moves it far
	// beyond (unit pixels into an ImageNet model: about 1; symmetric:
	// about 0.4; caffe's 0–255 scale: thousands), while a correctly
	// preprocessed target from another domain mostly stays below:
	// first-layer filters see edges and colours, which most images share.
	StemShiftKL = 0.3
	// StemGain is how many times closer the alternative must bring the
	// first BatchNorm's statistics before doctor blames the planned
	// preprocessing: a factor a domain shift, or running statistics that
	// never settled, do not produce by chance, since every alternative
	// rescales the input by 2× or more.
	StemGain = 4.0
	// SizeRatio is how far the planned input size may stray from the size
	// the base was trained at: at more than 2× objects appear at a scale
	// the pretrained filters never saw (Touvron et al., 2019, measure the
	// cost of far smaller train/test size gaps).
	SizeRatio = 2.0
)

// BNShiftKL is the mean KL(target ‖ running statistics) over a frozen
// stage's BatchNorms above which doctor reports them. At 1 a typical
// channel's mean sits about 1.4 source standard deviations off, or its
// variance is 5× the running one: the frozen layer then normalises the
// target into values the next layers never saw in pretraining.
const BNShiftKL = 1.0

// Learning-rate thresholds and the range test doctor runs. The loss has
// blown up where, after falling, it climbs back above where it started:
// the network is then worse than the untrained head it began with.
const (
	// SteepFactor: a planned rate more than this multiple of the
	// steepest-descent rate is reported even when the loss never blows
	// up (a small or easy training set is memorised at almost any rate,
	// pretrained features or not). fastai's suggestions, the steepest
	// point and the minimum over ten, are rarely further apart than that.
	SteepFactor = 10.0
	// MinFall is how much the smoothed loss must fall, as a share of its
	// starting value, for the curve to suggest anything: a flat one
	// (features that tell the classes apart no better at any rate) has
	// its steepest point anywhere.
	MinFall = 0.2

	rangeStart = 1e-6
	rangeEnd   = 10
	// rangeSteps: about eight rates a decade over seven decades, enough to
	// place the blow-up within a factor of 1.3.
	rangeSteps = 60
	// rangeBeta smooths less than lrfind's default 0.98, whose memory of
	// about fifty steps would span the whole short test and place the
	// minimum decades late.
	rangeBeta = 0.8
	// rangeWindow is the half-width, in steps, of the line fitted to the
	// raw losses to find the steepest descent: about a decade in all,
	// wide enough that mini-batch noise on a few images does not make a
	// steepest point in the flat start of the curve.
	rangeWindow = 4
	// rangeBatch is graft transfer's batch size.
	rangeBatch = 32
)

// Sample sizes for the measurements: input statistics settle after a
// hundred images (each gives H×W positions per channel); the BatchNorms
// of deeper stages have fewer positions per image.
const (
	stemSample = 128
	bnSample   = 256
)

func checkPreprocessing(ctx context.Context, s *session) ([]Finding, error) {
	var out []Finding
	base := s.base.Meta.Preprocess
	if s.plan.Preprocess != nil && normKey(s.pre) != normKey(base) {
		out = append(out, Finding{Check: "preprocessing",
			What:     "the planned normalisation differs from the base model's",
			Evidence: fmt.Sprintf("planned %s; the base was trained with %s", describeNorm(s.pre), describeNorm(base)),
			Fix:      fmt.Sprintf("use the base's normalisation (%s): drop --norm, graft applies the checkpoint's by default", describeNorm(base)),
		})
	}
	if s.inputErr != "" {
		out = append(out, Finding{Check: "preprocessing",
			What:     "the planned inputs do not fit the base model",
			Evidence: s.inputErr,
			Fix:      fmt.Sprintf("set the channels to %d (grey images are repeated to RGB, RGB turned grey)", s.base.Meta.InChannels),
		})
	}
	f, err := sizeFinding(s)
	if err != nil {
		return nil, err
	}
	out = append(out, f...)
	if s.inputErr != "" {
		return out, nil
	}
	f, err = stemFinding(ctx, s)
	if err != nil {
		return nil, err
	}
	return append(out, f...), nil
}

// side is a preprocessing's input side (the shorter one), 0 when it keeps
// the native size.
func side(p data.Preprocess) int {
	if p.Size > 0 {
		return p.Size
	}
	return min(p.Height, p.Width)
}

func sizeFinding(s *session) ([]Finding, error) {
	trained := side(s.base.Meta.Preprocess)
	if trained == 0 {
		return nil, nil // the base took images at their own size; its training size is not recorded
	}
	im, err := s.train.Image(0)
	if err != nil {
		return nil, err
	}
	_, h, w := s.pre.OutputShape(im.C, im.H, im.W)
	planned := min(h, w)
	ratio := float64(max(planned, trained)) / float64(min(planned, trained))
	if ratio <= SizeRatio {
		return nil, nil
	}
	way := "smaller"
	if planned > trained {
		way = "larger"
	}
	return []Finding{{Check: "preprocessing",
		What: fmt.Sprintf("the planned input size, %d px, is %.1f× the %d px the base was trained at", planned, ratio, trained),
		Evidence: fmt.Sprintf("the images (e.g. %s, %d×%d) reach the model at %d×%d: objects appear %.1f× %s than the pretrained filters learnt them (reported beyond %g×)",
			s.train.Source(0), im.W, im.H, w, h, ratio, way, SizeRatio),
		Fix: fmt.Sprintf("use the base's size (--size %d), or crop and resize the images so objects keep the scale the base saw", trained),
	}}, nil
}

// normKey names a preprocessing's normalisation for comparison.
func normKey(p data.Preprocess) string {
	if len(p.Mean) > 0 {
		return fmt.Sprintf("mean %v std %v", p.Mean, p.Std)
	}
	if p.Norm == "" {
		return data.NormUnit
	}
	return p.Norm
}

func describeNorm(p data.Preprocess) string {
	if len(p.Mean) > 0 {
		return normKey(p)
	}
	return "norm " + normKey(p)
}

// candidate is an alternative way to preprocess the target.
type candidate struct {
	name string // as evidence shows it
	norm data.Preprocess
	bgr  bool // channels reversed
	kl   float64
}

// stemFinding measures the first BatchNorm's input under the planned
// preprocessing and under the alternatives (each normalisation preset,
// channels reversed), and reports the planned one when it is off the
// base's running statistics and an alternative fits them, many times
// better.
func stemFinding(ctx context.Context, s *session) ([]Finding, error) {
	m, err := s.measured()
	if err != nil {
		return nil, err
	}
	bn, stage := firstBN(m)
	if bn == nil {
		return nil, nil // nothing recorded what the base's inputs looked like
	}
	// Decode and resize once; the candidates differ only in normalisation
	// and channel order.
	fit := s.pre
	fit.Norm, fit.Mean, fit.Std = "", nil, nil
	idx := features.Sample(s.train, stemSample, s.plan.Seed)
	ims := make([]*data.Image, len(idx))
	labels := make([]int, len(idx))
	for k, i := range idx {
		im, err := s.train.Image(i)
		if err != nil {
			return nil, err
		}
		if ims[k], err = fit.Fit(im); err != nil {
			return nil, fmt.Errorf("%s: %w", s.train.Source(i), err)
		}
		labels[k] = s.train.Label(i)
	}
	sample, err := data.NewInMemory(ims, labels, s.train.Classes())
	if err != nil {
		return nil, err
	}
	planned := data.Preprocess{Norm: s.pre.Norm, Mean: s.pre.Mean, Std: s.pre.Std}
	p := candidate{name: describeNorm(s.pre), norm: planned}
	if p.kl, err = stemKL(ctx, m, stage, sample, p, s.plan.Device); err != nil {
		return nil, err
	}
	if p.kl <= StemShiftKL {
		return nil, nil
	}
	var cands []candidate
	channels := ims[0].C
	for _, n := range []string{data.NormUnit, data.NormSymmetric, data.NormImageNet, data.NormCaffe} {
		if n == normKey(s.pre) || (channels != 3 && (n == data.NormImageNet || n == data.NormCaffe)) {
			continue
		}
		cands = append(cands, candidate{name: "norm " + n, norm: data.Preprocess{Norm: n}})
	}
	if channels == 3 {
		cands = append(cands, candidate{name: describeNorm(s.pre) + " with channels reversed (RGB↔BGR)", norm: planned, bgr: true})
	}
	best := -1
	for i := range cands {
		if cands[i].kl, err = stemKL(ctx, m, stage, sample, cands[i], s.plan.Device); err != nil {
			return nil, err
		}
		if best < 0 || cands[i].kl < cands[best].kl {
			best = i
		}
	}
	if best < 0 || cands[best].kl > StemShiftKL || cands[best].kl*StemGain > p.kl {
		return nil, nil
	}
	b := cands[best]
	var others []string
	for i, c := range cands {
		if i != best {
			others = append(others, fmt.Sprintf("%s %.3g", c.name, c.kl))
		}
	}
	ev := fmt.Sprintf("the first BatchNorm (in %s) sees inputs far from its running statistics with %s: KL %.3g; with %s: KL %.2g (others: %s)",
		m.Stages[stage].Name, p.name, p.kl, b.name, b.kl, strings.Join(others, ", "))
	if b.bgr {
		return []Finding{{Check: "preprocessing",
			What:     "the images' colour channels look reversed: BGR where the base expects RGB",
			Evidence: ev,
			Fix:      "convert the images to RGB (e.g. images saved by OpenCV are BGR); if the base itself was trained on BGR input, re-import it with --norm caffe",
		}}, nil
	}
	fix := fmt.Sprintf("the checkpoint's recorded preprocessing looks wrong: re-import the base with --norm %s (graft import MODEL --norm %s)", b.norm.Norm, b.norm.Norm)
	if s.plan.Preprocess != nil {
		fix = fmt.Sprintf("preprocess with --norm %s", b.norm.Norm)
	}
	return []Finding{{Check: "preprocessing",
		What:     fmt.Sprintf("the inputs look normalised unlike the base's training data: %s fits, %s does not", b.name, p.name),
		Evidence: ev,
		Fix:      fix,
	}}, nil
}

// firstBN finds the model's first BatchNorm and its stage.
func firstBN(m *nn.Model) (*nn.BatchNorm2d, int) {
	for i, s := range m.Stages {
		var bn *nn.BatchNorm2d
		nn.Walk(s.Layers, func(mod nn.Module) {
			if b, ok := mod.(*nn.BatchNorm2d); ok && bn == nil {
				bn = b
			}
		})
		if bn != nil {
			return bn, i
		}
	}
	return nil, 0
}

// bgr reverses the channels of 3-channel images.
type bgr struct{ data.Dataset }

func (b bgr) Image(i int) (*data.Image, error) {
	im, err := b.Dataset.Image(i)
	if err != nil || im.C != 3 {
		return im, err
	}
	hw := im.H * im.W
	r, bl := im.Pix[:hw], im.Pix[2*hw:]
	for k := range r {
		r[k], bl[k] = bl[k], r[k]
	}
	return im, nil
}

// stemKL runs the model up to the first BatchNorm's stage over ds under
// candidate c and returns KL(target ‖ running) of the layer's input.
func stemKL(ctx context.Context, m *nn.Model, stage int, ds data.Dataset, c candidate, dev torch.Device) (float64, error) {
	if c.bgr {
		ds = bgr{ds}
	}
	stats, err := features.BatchNormStats(ctx, m, ds, stage+1, features.Options{Batch: 32, Preprocess: c.norm, Device: dev})
	if err != nil {
		return 0, err
	}
	for _, st := range stats {
		if st.Stage == m.Stages[stage].Name && st.Layer == 0 && st.TargetMean != nil {
			return st.KL(), nil
		}
	}
	return 0, fmt.Errorf("the first BatchNorm saw no input")
}

func checkBatchNorm(ctx context.Context, s *session) ([]Finding, error) {
	m, err := s.measured()
	if err != nil {
		return nil, err
	}
	set, err := features.Extract(ctx, m, s.train, features.Options{MaxImages: bnSample, Batch: 32, Seed: s.plan.Seed,
		Device: s.plan.Device, Preprocess: s.pre})
	if err != nil {
		return nil, err
	}
	var per, shifted []string
	first := -1
	for _, i := range s.frozen() {
		st := set.Stages[i]
		kl, ok := st.MeanKL()
		if !ok {
			continue
		}
		per = append(per, fmt.Sprintf("%s %.2f", st.Name, kl))
		if kl > BNShiftKL {
			shifted = append(shifted, st.Name)
			if first < 0 {
				first = i
			}
		}
	}
	if first < 0 {
		return nil, nil
	}
	from := fmt.Sprintf("%s or %s (every stage trains)", strategy.Finetune.Name, strategy.LPFT.Name)
	if first > 0 {
		from = fmt.Sprintf("%s (stages from %s on train)", strategy.Freeze.At(first).Name, set.Stages[first].Name)
	}
	return []Finding{{Check: "batchnorm",
		What: fmt.Sprintf("frozen BatchNorm statistics are far from the target's in %s", strings.Join(shifted, ", ")),
		Evidence: fmt.Sprintf("mean KL(target ‖ running statistics) per frozen stage under %s: %s (reported above %g)",
			s.strat.Name, strings.Join(per, ", "), BNShiftKL),
		Fix: fmt.Sprintf("--bn train lets the frozen BatchNorms re-estimate their statistics on the target; or fine-tune from the shifted stage with %s; if the first stage is already shifted, check the preprocessing first", from),
	}}, nil
}

// stratModel is the planned strategy's starting model, built once.
func (s *session) stratModel() (*nn.Model, error) {
	if s.planned == nil {
		m, err := s.model(s.strat, s.splan)
		if err != nil {
			return nil, err
		}
		s.planned = m
	}
	return s.planned, nil
}

// trainableParams counts the weights the plan trains in some phase.
func (s *session) trainableParams() (int64, error) {
	m, err := s.stratModel()
	if err != nil {
		return 0, err
	}
	var n int64
	for i, st := range m.Stages {
		if !trains(s.splan, i) {
			continue
		}
		for _, p := range st.Params() {
			if !p.Buffer {
				n += p.T.Numel()
			}
		}
	}
	return n, nil
}

func checkLearningRate(ctx context.Context, s *session) ([]Finding, error) {
	m, err := s.stratModel()
	if err != nil {
		return nil, err
	}
	// The range test trains what the strategy trains at the start: the
	// head alone for a head-only strategy, otherwise every stage alike.
	which := strategy.Finetune.Name
	var rates []float64
	if s.strat.Def().HeadOnly {
		// The plan's own rates: the new head alone, on the model as cut.
		which, rates = strategy.Probe.Name, s.splan.Phases[0].StageLR
	}
	batch, dropLast := experiment.FewShotBatch(rangeBatch, s.train.Len())
	l, err := data.NewLoader(s.train, data.LoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast, Seed: s.plan.Seed,
		Preprocess: s.pre, CacheDecoded: true})
	if err != nil {
		return nil, err
	}
	// lrfind's own divergence stop (a multiple of the minimum) would end
	// a memorised curve at a loss near zero; doctor's rule reads the
	// whole curve, and the test still stops on a non-finite loss.
	cfg := lrfind.Config{Start: rangeStart, End: rangeEnd, Steps: rangeSteps, StageLR: rates, Beta: rangeBeta,
		DivThreshold: 1e6, Device: s.plan.Device, Seed: s.plan.Seed}
	res, err := lrfind.Run(ctx, m, l, cfg)
	if err != nil {
		return nil, err
	}
	c := readCurve(res)
	lr := s.plan.LR
	ev := fmt.Sprintf("a %d-step range test (Adam, %s, %.0e → %.0e): the loss fell from %.3g to %.3g at lr %.1e",
		len(res.LRs), which, rangeStart, float64(rangeEnd), c.start, c.min, c.atMin)
	if c.blew {
		ev += fmt.Sprintf(", then climbed back above its start at %.1e", c.blowUp)
	}
	if c.fell {
		ev += fmt.Sprintf("; it fell fastest around %.1e", c.steepest)
	}
	fix := fmt.Sprintf("--lr %.0e, where the loss fell fastest (graft lr-find draws the whole curve)", c.steepest)
	switch {
	case c.blew && lr >= c.blowUp:
		return []Finding{{Check: "learning-rate",
			What:     fmt.Sprintf("the planned learning rate %g is past the point where the loss blows up: it will wreck the pretrained features", lr),
			Evidence: ev, Fix: fix,
		}}, nil
	case c.fell && lr > SteepFactor*c.steepest:
		return []Finding{{Check: "learning-rate",
			What:     fmt.Sprintf("the planned learning rate %g is %.0f× the rate where the loss fell fastest: steps that large move the pretrained weights far from what they learnt", lr, lr/c.steepest),
			Evidence: ev, Fix: fix,
		}}, nil
	}
	return nil, nil
}

// curve is what doctor reads from a range test.
type curve struct {
	start      float64 // mean of the first five losses
	min, atMin float64 // the smoothed loss's minimum and its rate
	fell       bool    // by MinFall of start or more
	steepest   float64 // rate of the steepest descent
	blew       bool
	blowUp     float64 // rate where the loss blew up
}

func readCurve(res *lrfind.Result) curve {
	var c curve
	first := res.Losses[:min(5, len(res.Losses))]
	for _, v := range first {
		c.start += v / float64(len(first))
	}
	iMin := 0
	for i, v := range res.Smoothed {
		if v < res.Smoothed[iMin] {
			iMin = i
		}
	}
	c.min, c.atMin = res.Smoothed[iMin], res.LRs[iMin]
	c.fell = c.min <= (1-MinFall)*c.start
	c.steepest = steepest(res.LRs, res.Losses, rangeWindow)
	if c.fell {
		if i := slices.IndexFunc(res.Smoothed[iMin:], func(v float64) bool { return v > c.start }); i >= 0 {
			c.blew, c.blowUp = true, res.LRs[iMin+i]
		}
	}
	if !c.blew && strings.HasPrefix(res.Stopped, "diverged") {
		c.blew, c.blowUp = true, lrfind.Rate(rangeStart, rangeEnd, len(res.LRs), rangeSteps)
	}
	return c
}

// steepest is the rate at the centre of the window of 2w+1 steps whose
// least-squares line of loss against log(rate) falls fastest.
func steepest(lrs, losses []float64, w int) float64 {
	if len(lrs) < 2*w+1 {
		w = (len(lrs) - 1) / 2
	}
	best, at := math.Inf(1), lrs[len(lrs)/2]
	for c := w; c < len(lrs)-w; c++ {
		var sx, sy, sxx, sxy float64
		k := float64(2*w + 1)
		for i := c - w; i <= c+w; i++ {
			x := math.Log(lrs[i])
			sx += x
			sy += losses[i]
			sxx += x * x
			sxy += x * losses[i]
		}
		if slope := (k*sxy - sx*sy) / (k*sxx - sx*sx); slope < best {
			best, at = slope, lrs[c]
		}
	}
	return at
}
