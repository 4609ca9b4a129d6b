// Package advise turns measurements of a pretrained model on a target data
// set into advice: where the target sits in the four-case chart of
// transfer learning (small or large × similar or different), and a ranking
// of strategies with the predicted accuracy of each.
//
// Everything but one short run from scratch is measured without training:
// one inference pass gives the pooled features of every stage, the source
// classifier's outputs and the BatchNorm statistics (package features);
// cross-validated linear probes and k-NN on those features estimate what a
// frozen base reaches at each cut, transferability scores (LogME, H-score,
// TransRate, LEEP, NCE) and distances to the source say the same from
// other angles.
//
// The ranking is a small model with four stated priors, not a fit to any
// data set:
//
//   - probe and truncate:K are predicted by the probe measured at their cut;
//   - scratch is a fully plastic network starting from what a linear
//     classifier finds in the raw pixels, learning at rate
//     n/(n+ScratchHalfData) and paying the full overfitting cost — or what
//     a short run from scratch measured, when that is more (MeasureScratch,
//     the one thing advise trains);
//   - the fine-tuning strategies start from the better of the frozen
//     head's probe and scratch, and move by plasticity × (headroom × n/(n+HalfData) − OverfitCost ×
//     HalfData/(n+HalfData)): more plastic strategies gain more where the
//     frozen features leave error and data is plentiful, and lose more
//     to overfitting where the features are already good and data is
//     scarce. n is the images per class a strategy trains on.
//
// `graft advise --validate` measures how the ranking holds against graft
// compare; docs/advise.md records it on several source→target pairs.
package advise

import (
	"fmt"
	"math"
	"sort"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
)

// The decision model's priors.
const (
	// HalfData is the images per class at which fine-tuning recovers half
	// of the error frozen features leave (and its overfitting cost halves):
	// the size axis of the chart, "small" below it.
	HalfData = 20.0
	// ScratchHalfData is the same for training from scratch, which must
	// learn its features from the target alone.
	ScratchHalfData = 5 * HalfData
	// OverfitCost is the accuracy a fully plastic fine-tune loses to
	// overfitting with almost no data. It was 0.05 until the design pairs
	// (docs/advise.md) showed fine-tuning gain 4 points over a 93% probe
	// with 16 images per class where 0.05 predicted a loss: graft picks
	// the learning rate and the best epoch on validation, which bounds what
	// overfitting costs, and fine-tuning beats frozen features on nearly
	// every small set Kornblith et al. (2019) measured.
	OverfitCost = 0.02
	// SimilarQuality is the normalised probe accuracy of the frozen head
	// ((acc − chance)/(1 − chance)) above which the source's features
	// already describe the target: the similarity axis of the chart.
	SimilarQuality = 0.8
)

// Advice is the answer, in the JSON shape graft advise --json prints.
type Advice struct {
	Quadrant     string        `json:"quadrant"` // e.g. "small-similar"
	Chart        string        `json:"chart"`    // what the four-case chart says for it
	Why          []string      `json:"why"`      // the numbers that put it there
	Recommended  Recommended   `json:"recommended"`
	Ranking      []Ranked      `json:"ranking"`
	Measurements *Measurements `json:"measurements"`
}

// Recommended is the advised set-up.
type Recommended struct {
	Strategy string `json:"strategy"`
	// Stage is where a freeze/truncate strategy cuts ("" for others).
	Stage string `json:"stage"`
	// LR is the head's Adam learning rate; BaseLR the pretrained stages'
	// (0 when none train).
	LR     float64 `json:"lr"`
	BaseLR float64 `json:"base_lr"`
	// LRFrom says where the rates come from.
	LRFrom string `json:"lr_from"`
}

// Ranked is one strategy with its predicted test accuracy.
type Ranked struct {
	Strategy string  `json:"strategy"`
	Score    float64 `json:"score"` // predicted accuracy, 0–1
	Why      string  `json:"why"`
}

// plasticity is how far each fine-tuning strategy lets pretrained weights
// move, from a probe's 0 to 1: the order fastai/Keras users know, from the
// most conservative (head first, then a low rate) to the most plastic
// (full rates at the top).
var plasticity = map[string]float64{
	"lpft":           0.25,
	"l2sp":           0.4,
	"gradual":        0.6,
	"finetune":       0.85,
	"discriminative": 0.9,
}

// Advise ranks the candidate strategies for a base of the given stage
// outline.
func Advise(meas *Measurements, shape *nn.Model, candidates []strategy.Strategy) (*Advice, error) {
	if len(meas.Stages) == 0 {
		return nil, fmt.Errorf("no stages measured")
	}
	head := meas.Stages[len(meas.Stages)-1]
	n := meas.Target.TrainPerClass
	chance := meas.Target.Chance()
	r := n / (n + HalfData)
	quality := (head.Probe - chance) / math.Max(1-chance, 1e-9)
	small := n < HalfData
	similar := quality >= SimilarQuality

	a := &Advice{Measurements: meas}
	a.Quadrant = map[bool]string{true: "small", false: "large"}[small] + "-" + map[bool]string{true: "similar", false: "different"}[similar]
	a.Chart = map[string]string{
		"small-similar":   "freeze the base and train a new head (probe)",
		"small-different": "keep only the early layers: truncate or freeze early stages, train the rest",
		"large-similar":   "fine-tune everything at a low learning rate",
		"large-different": "fine-tune everything, or train from scratch",
	}[a.Quadrant]
	size := "small"
	if !small {
		size = "large"
	}
	a.Why = append(a.Why, fmt.Sprintf("size: %s — %.0f training images per class (median %d less the %.0f%% validation split) against the %.0f at which fine-tuning recovers half of what frozen features miss",
		size, n, meas.Target.Median, 100*(1-n/math.Max(float64(meas.Target.Median), 1e-9)), HalfData))
	sim := "similar"
	if !similar {
		sim = "different"
	}
	a.Why = append(a.Why, fmt.Sprintf("similarity: %s — a linear probe on the frozen %s features reaches %.1f%% (chance %.1f%%), %.0f%% of the way to perfect; %.0f%% is the threshold",
		sim, head.Name, 100*head.Probe, 100*chance, 100*quality, 100*SimilarQuality))
	best := bestStage(meas.Stages)
	if best.Name != head.Name {
		a.Why = append(a.Why, fmt.Sprintf("depth: features peak before the head — %s probes at %.1f%% against %.1f%% at %s: the last stages are specific to the source",
			best.Name, 100*best.Probe, 100*head.Probe, head.Name))
	}
	if shift := shiftWords(meas); shift != "" {
		a.Why = append(a.Why, shift)
	}

	for _, s := range candidates {
		score, why, err := predict(s, meas, shape, r)
		if err != nil {
			return nil, err
		}
		a.Ranking = append(a.Ranking, Ranked{Strategy: s.Name, Score: score, Why: why})
	}
	sort.SliceStable(a.Ranking, func(i, j int) bool { return a.Ranking[i].Score > a.Ranking[j].Score })
	if len(a.Ranking) == 0 {
		return nil, fmt.Errorf("no candidate strategies")
	}
	top, _ := strategy.Parse(a.Ranking[0].Strategy)
	a.Recommended = recommend(top, shape)
	return a, nil
}

// predict is the decision model for one strategy.
func predict(s strategy.Strategy, meas *Measurements, shape *nn.Model, r float64) (float64, string, error) {
	head := meas.Stages[len(meas.Stages)-1]
	switch s.Base {
	case "scratch":
		score, why := scratch(meas)
		return score, why, nil
	case "probe":
		return head.Probe, fmt.Sprintf("measured: linear probe on the frozen %s features, %.1f%%", head.Name, 100*head.Probe), nil
	case "truncate":
		k, err := s.Stages(shape)
		if err != nil {
			return 0, "", err
		}
		st := stageAt(meas.Stages, k)
		return st.Probe, fmt.Sprintf("measured: linear probe on %s's pooled output, %.1f%%", st.Name, 100*st.Probe), nil
	}
	p, ok := plasticity[s.Base]
	if s.Base == "freeze" {
		k, err := s.Stages(shape)
		if err != nil {
			return 0, "", err
		}
		body := len(shape.Stages) - 1
		trained := float64(body-k) / float64(max(body, 1))
		// Frozen early stages keep generic features while the top adapts.
		p, ok = plasticity["finetune"]*(0.5+0.5*trained), true
	}
	if !ok {
		return 0, "", fmt.Errorf("advise has no model for strategy %q", s.Base)
	}
	if s.L2SP && s.Base != "l2sp" {
		p *= 0.7 // the penalty holds weights near their start
	}
	// Fine-tuning can learn whatever training from scratch learns, with
	// a better start (He et al., "Rethinking ImageNet Pre-training"): it
	// starts from the better of the frozen features and scratch.
	start, from := head.Probe, "probe"
	if sc, _ := scratch(meas); sc > start {
		start, from = sc, "scratch"
	}
	headroom := 1 - start
	gain := headroom * r
	cost := OverfitCost * (1 - r)
	score := start + p*(gain-cost)
	verb := "gains"
	if gain < cost {
		verb = "loses"
	}
	return math.Max(0, math.Min(1, score)), fmt.Sprintf("%s %.1f%% + plasticity %.2f × (headroom %.1f%% × data %.2f − overfitting %.1f%%): %s %.1f points",
		from, 100*start, p, 100*headroom, r, 100*cost, verb, 100*math.Abs(p*(gain-cost))), nil
}

// scratch predicts training from scratch: a fully plastic network whose
// starting features are the raw pixels, learning at the slower
// ScratchHalfData rate — or, when the short run from scratch measured
// more, that measurement, a lower bound on the full run.
func scratch(meas *Measurements) (float64, string) {
	n := meas.Target.TrainPerClass
	rs := n / (n + ScratchHalfData)
	pix := meas.PixelProbe
	gain, cost := (1-pix)*rs, OverfitCost*(1-rs)
	score := math.Max(0, math.Min(1, pix+gain-cost))
	why := fmt.Sprintf("raw pixels probe at %.1f%% + (headroom %.1f%% × data %.2f − overfitting %.1f%%)", 100*pix, 100*(1-pix), rs, 100*cost)
	if run := meas.Scratch; run != nil && run.ValAccuracy > score {
		return run.ValAccuracy, fmt.Sprintf("measured: %d epochs from scratch at lr %g reached %.1f%% on validation (a lower bound)", run.Epochs, run.LR, 100*run.ValAccuracy)
	}
	return score, why
}

// stageAt is the measured stage whose cut keeps k stages.
func stageAt(stages []Stage, k int) Stage {
	for _, s := range stages {
		if s.Cut == k {
			return s
		}
	}
	return stages[len(stages)-1]
}

func bestStage(stages []Stage) Stage {
	best := stages[len(stages)-1]
	for _, s := range stages {
		// A point of slack: the head is preferred unless clearly beaten.
		if s.Probe > best.Probe+0.01 {
			best = s
		}
	}
	return best
}

// shiftWords summarises the distances to the source, where measured.
func shiftWords(meas *Measurements) string {
	first, last := meas.Stages[0], meas.Stages[len(meas.Stages)-1]
	var parts []string
	if first.FD != nil {
		parts = append(parts, fmt.Sprintf("feature shift from the source (Fréchet/variance) %.2f at %s, %.2f at %s; MMD² %.3f → %.3f",
			*first.FD, first.Name, *last.FD, last.Name, *first.MMD, *last.MMD))
	}
	for _, s := range meas.Stages {
		if s.BNShift != nil {
			parts = append(parts, fmt.Sprintf("BatchNorm inputs differ from the base's statistics by KL %.2f at %s", *s.BNShift, s.Name))
			break
		}
	}
	if meas.SourceClasses > 0 {
		parts = append(parts, fmt.Sprintf("the source classifier is %.0f%% confident on target images (normalised entropy %.2f)", 100*meas.SourceConfidence, meas.SourceEntropy))
	}
	if len(parts) == 0 {
		return ""
	}
	out := "shift: "
	for i, p := range parts {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}

// recommend gives the strategy's stage and learning rates. The rates are
// the conventions graft's strategies were built around (Adam): a fresh
// head on frozen features takes 1e-2, fine-tuning 1e-3 at the head with
// pretrained stages at the strategy's fraction of it, scratch 3e-3;
// graft lr-find measures them on the data.
func recommend(s strategy.Strategy, shape *nn.Model) Recommended {
	rec := Recommended{Strategy: s.Name, LRFrom: "rule; measure with graft lr-find --strategy " + lrfindStrategy(s)}
	if k, err := s.Stages(shape); err == nil && (s.Base == "freeze" || s.Base == "truncate") && k > 0 && k <= len(shape.Stages) {
		rec.Stage = shape.Stages[k-1].Name
	}
	switch s.Base {
	case "probe", "truncate":
		rec.LR = 1e-2
	case "scratch":
		rec.LR = scratchLR
	default:
		rec.LR, rec.BaseLR = 1e-3, 1e-4
	}
	return rec
}

// scratchLR is the rule's rate for training from scratch.
const scratchLR = 3e-3

func lrfindStrategy(s strategy.Strategy) string {
	if s.Base == "probe" || s.Base == "truncate" {
		return "probe"
	}
	return "finetune"
}
