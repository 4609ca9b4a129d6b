// Package advise turns measurements of a pretrained model on a target data
// set, and a race of the strategies on a small budget, into advice: where
// the target sits in the four-case chart of transfer learning (small or
// large × similar or different), which strategy to use with which rate
// and length, how sure that is, and what the chart's rule of thumb says
// about it.
//
// Two kinds of evidence, both measured:
//
//   - Without training (Measure): one inference pass gives the pooled
//     features of every stage, the source classifier's outputs and the
//     BatchNorm statistics (package features); cross-validated linear
//     probes and k-NN on those features estimate what a frozen base
//     reaches at each cut, transferability scores (LogME, H-score,
//     TransRate, LEEP, NCE) and distances to the source say the same from
//     other angles. They place the target in the chart, order the race's
//     candidates, prune head-only cuts whose frozen features are
//     measurably worse than another cut's, and explain the result.
//   - By training (experiment.Race): successive halving over strategy ×
//     learning rate on the folds and with the selection rule graft
//     compare uses, within a share of the full comparison's compute. The
//     ranking, the predicted accuracies with their intervals and the
//     ties come from it alone: no prior decides a ranking.
//
// The chart is the explanation, not the decision: the story says whether
// the measured recommendation is what the chart suggests for the
// quadrant, and by how much it beats the chart's choice when it is not.
package advise

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/graftml/graft/doctor"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
)

// The chart's axes. They define the quadrant the story is told in; the
// ranking does not use them.
const (
	// SmallData is the images per class (after the validation split)
	// below which a target is "small": about where, in graft's own
	// comparisons and Kornblith et al. (2019), fine-tuning stops losing
	// to frozen features on similar data.
	SmallData = 20.0
	// SimilarQuality is the normalised probe accuracy of the frozen head
	// ((acc − chance)/(1 − chance)) above which the source's features
	// already describe the target: "similar".
	SimilarQuality = 0.8
)

// Advice is the answer, in the JSON shape graft advise --json prints.
type Advice struct {
	Quadrant string `json:"quadrant"` // e.g. "small-similar"
	// Chart is what the four-case chart says for the quadrant; Story
	// relates it to what was measured, in one sentence.
	Chart string   `json:"chart"`
	Story string   `json:"story"`
	Why   []string `json:"why"` // the numbers that put it in its quadrant
	// Recommended is the race's best strategy or, where the best is tied
	// with others, the cheapest of the tied set.
	Recommended Recommended `json:"recommended"`
	// Tie lists the strategies the race could not separate from its best
	// (the best included); empty when the best is clear.
	Tie []string `json:"tie"`
	// Cautions are graft doctor's warnings that apply to the
	// recommendation, word for word.
	Cautions     []string      `json:"cautions,omitempty"`
	Ranking      []Ranked      `json:"ranking"`
	Measurements *Measurements `json:"measurements"`
	// Compute is what advise spent, measurements included, and the share
	// of the full comparison that is.
	Compute Compute `json:"compute"`
}

// Recommended is the advised set-up, as the race chose it.
type Recommended struct {
	Strategy string `json:"strategy"`
	// Stage is where a freeze/truncate strategy cuts ("" for others).
	Stage string `json:"stage"`
	// LR is the Adam learning rate chosen (the head's; the strategy sets
	// the pretrained stages' share of it), Epochs the training length on
	// every image: graft transfer --lr LR --epochs EPOCHS --val-split 0.
	LR     float64 `json:"lr"`
	Epochs int     `json:"epochs"`
	Head   string  `json:"head,omitempty"`
	// Why says how it was chosen.
	Why string `json:"why"`
}

// Ranked is one strategy as the race left it.
type Ranked struct {
	Strategy string `json:"strategy"`
	// Score is the predicted accuracy (0–1): the smoothed validation
	// accuracy where the race trained it; Low/High its 95% interval.
	Score float64 `json:"score"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	// Stage is how far it got: pruned (by a measurement, untrained),
	// rates (short budget only), strategies (full budget, one seed),
	// seeds (full budget, several seeds).
	Stage string `json:"stage"`
	Tied  bool   `json:"tied"`
	// Margin is the best's lead over it with its paired interval.
	Margin *experiment.Interval `json:"margin,omitempty"`
	LR     float64              `json:"lr,omitempty"`
	Epochs int                  `json:"epochs,omitempty"`
	// RunSeconds is one full-budget selection run of it; Trainable the
	// weights it trains. Trainable × Epochs is the work a tie is settled
	// by (seconds vary from run to run; the advice should not).
	RunSeconds float64 `json:"run_seconds,omitempty"`
	Trainable  int64   `json:"trainable,omitempty"`
	Why        string  `json:"why"`
}

// Compute is advise's spending against the comparison it stands in for.
type Compute struct {
	MeasureSeconds float64 `json:"measure_seconds"`
	RaceSeconds    float64 `json:"race_seconds"`
	// FullSeconds estimates graft compare's training on the same
	// strategies, grid, folds and seeds.
	FullSeconds float64 `json:"full_comparison_seconds"`
	// Unit is what the budget was kept in (experiment.RaceResult.Unit);
	// Share is the spending's share in it, SecondsShare the same in
	// seconds. The GFLOP fields mirror the seconds fields where the unit
	// is "gflop".
	Unit         string  `json:"unit"`
	Share        float64 `json:"share"`
	SecondsShare float64 `json:"seconds_share"`
	MeasureGFLOP float64 `json:"measure_gflop,omitempty"`
	RaceGFLOP    float64 `json:"race_gflop,omitempty"`
	FullGFLOP    float64 `json:"full_comparison_gflop,omitempty"`
	Budget       float64 `json:"budget"`
	BudgetCut    bool    `json:"budget_cut,omitempty"`
}

// Pruned is a candidate the measurements ruled out before the race, and
// the measurement that did.
type Pruned struct {
	Strategy string
	Probe    float64 // the frozen-feature probe at its cut
	Why      string
}

// Prune lists the head-only candidates (truncate:K; probe is the head's
// cut) whose frozen features probe measurably worse than another
// candidate cut's: more than two binomial standard errors (over the
// images measured) below the best. A head trained on those features is
// what the probe estimates, so the race would only confirm it.
func Prune(meas *Measurements, shape *nn.Model, cands []strategy.Strategy) []Pruned {
	type cut struct {
		s     strategy.Strategy
		probe float64
	}
	var cuts []cut
	for _, s := range cands {
		switch d := s.Def(); {
		case d.HeadOnly && !d.Cuts:
			cuts = append(cuts, cut{s, meas.Stages[len(meas.Stages)-1].Probe})
		case d.HeadOnly:
			k, err := s.Stages(shape)
			if err != nil {
				continue
			}
			cuts = append(cuts, cut{s, stageAt(meas.Stages, k).Probe})
		}
	}
	if len(cuts) < 2 || meas.Sampled == 0 {
		return nil
	}
	best := slices.MaxFunc(cuts, func(a, b cut) int {
		return cmp.Compare(a.probe, b.probe)
	})
	se := math.Sqrt(best.probe * (1 - best.probe) / float64(meas.Sampled))
	var out []Pruned
	for _, c := range cuts {
		if c.probe < best.probe-2*se {
			out = append(out, Pruned{Strategy: c.s.Name, Probe: c.probe,
				Why: fmt.Sprintf("pruned: its frozen features probe at %.1f%%, %.1f points below %s's (more than two standard errors over %d images)",
					100*c.probe, 100*(best.probe-c.probe), best.s.Name, meas.Sampled)})
		}
	}
	return out
}

// Order is the training-free score of each candidate the race tries first:
// the probe at a head-only candidate's cut, the head's probe for the
// fine-tuning strategies (what they start from), the raw pixels' probe for
// scratch.
func Order(meas *Measurements, shape *nn.Model, cands []strategy.Strategy) map[string]float64 {
	out := map[string]float64{}
	head := meas.Stages[len(meas.Stages)-1].Probe
	for _, s := range cands {
		switch d := s.Def(); {
		case d.Scratch:
			out[s.Name] = meas.PixelProbe
		case d.Cuts:
			if k, err := s.Stages(shape); err == nil {
				out[s.Name] = stageAt(meas.Stages, k).Probe
			}
		default:
			out[s.Name] = head
		}
	}
	return out
}

// chart is the four-case chart: its sentence per quadrant, and the
// strategies that sentence means (those of its family, strategy.Def.Families).
var chart = map[string]struct {
	sentence string
	family   strategy.Family
}{
	"small-similar":   {"freeze the base and train a new head (probe, or lpft's probe-then-fine-tune)", strategy.FrozenFeatures},
	"small-different": {"keep only the early layers: truncate or freeze early stages and train the rest", strategy.EarlyLayers},
	"large-similar":   {"fine-tune, gently (a low rate, early stages frozen or held near their start)", strategy.GentleFinetune},
	"large-different": {"fine-tune everything, or train from scratch", strategy.TrainEverything},
}

// Quadrant places measurements in the chart.
func Quadrant(meas *Measurements) (quadrant string, why []string) {
	head := meas.Stages[len(meas.Stages)-1]
	n := meas.Target.TrainPerClass
	chance := meas.Target.Chance()
	quality := (head.Probe - chance) / math.Max(1-chance, 1e-9)
	size, sim := "large", "different"
	if n < SmallData {
		size = "small"
	}
	if quality >= SimilarQuality {
		sim = "similar"
	}
	why = append(why, fmt.Sprintf("size: %s — %.0f training images per class (after the validation split); the chart calls fewer than %.0f small", size, n, SmallData))
	why = append(why, fmt.Sprintf("similarity: %s — a linear probe on the frozen %s features reaches %.1f%% (chance %.1f%%), %.0f%% of the way to perfect; %.0f%% is the chart's line",
		sim, head.Name, 100*head.Probe, 100*chance, 100*quality, 100*SimilarQuality))
	if best := bestStage(meas.Stages); best.Name != head.Name {
		why = append(why, fmt.Sprintf("depth: features peak before the head — %s probes at %.1f%% against %.1f%% at %s: the last stages are specific to the source",
			best.Name, 100*best.Probe, 100*head.Probe, head.Name))
	}
	if shift := shiftWords(meas); shift != "" {
		why = append(why, shift)
	}
	return size + "-" + sim, why
}

// Tie policies: what a tie recommends.
const (
	// TieBest recommends the best on validation and names the cheapest
	// member of the tie beside it. The default: on the validation
	// settings of docs/advise.md, recommending the cheapest member of a
	// tie cost 1.6 points of mean regret more than recommending the best —
	// a few validation images leave many strategies tied, and the
	// cheapest (least plastic) ones gain least from the fifth of the
	// shots the final training adds.
	TieBest = "best"
	// TieCheapest recommends the cheapest member of the tie.
	TieCheapest = "cheapest"
)

// Advise turns the measurements and the race into advice. pruned are the
// candidates Prune removed before the race; ties is TieBest or TieCheapest.
func Advise(meas *Measurements, race *experiment.RaceResult, shape *nn.Model, pruned []Pruned, ties string) (*Advice, error) {
	if ties != TieBest && ties != TieCheapest {
		return nil, fmt.Errorf("tie policy %q: choose %s or %s", ties, TieBest, TieCheapest)
	}
	if len(meas.Stages) == 0 {
		return nil, fmt.Errorf("no stages measured")
	}
	if race == nil || len(race.Entries) == 0 {
		return nil, fmt.Errorf("the race ran no strategy")
	}
	a := &Advice{Measurements: meas, Tie: []string{}}
	a.Quadrant, a.Why = Quadrant(meas)
	a.Chart = chart[a.Quadrant].sentence
	tied := map[string]bool{}
	if len(race.TiedWithBest) > 1 {
		for _, s := range race.TiedWithBest {
			tied[s] = true
		}
	}
	for _, e := range race.Entries {
		rk := Ranked{Strategy: e.Strategy, Score: e.ValAcc, Low: e.Low, High: e.High, Stage: e.Rung, Tied: tied[e.Strategy],
			Margin: e.Margin, LR: e.LR, Epochs: e.Epochs, RunSeconds: runSeconds(race, e.Strategy), Trainable: e.Trainable}
		if e.Status != "ok" {
			rk.Score, rk.Low, rk.High, rk.Stage = 0, 0, 0, e.Status
		}
		rk.Why = rankWhy(e, meas, shape)
		a.Ranking = append(a.Ranking, rk)
	}
	for _, p := range pruned {
		a.Ranking = append(a.Ranking, Ranked{Strategy: p.Strategy, Score: p.Probe, Low: p.Probe, High: p.Probe, Stage: "pruned", Why: p.Why})
	}
	best := a.Ranking[0]
	if best.Stage != "strategies" && best.Stage != "seeds" {
		return nil, fmt.Errorf("no strategy trained on the full budget: every one diverged or the budget was too small")
	}
	rec, cheapest := best, best
	if len(tied) > 1 {
		for _, rk := range a.Ranking {
			if rk.Tied {
				a.Tie = append(a.Tie, rk.Strategy)
				if cheaper(rk, cheapest) {
					cheapest = rk
				}
			}
		}
		if ties == TieCheapest {
			rec = cheapest
		}
	}
	a.Recommended = recommend(rec, race, shape, a.Tie, best, cheapest)
	st, err := strategy.Parse(rec.Strategy)
	if err != nil {
		return nil, err
	}
	if c := doctor.TooFew(int(math.Round(meas.Target.TrainPerClass)), st); c != "" {
		a.Cautions = append(a.Cautions, fmt.Sprintf("graft doctor: %s — measured here it still leads (the interval above says how firmly)", c))
	}
	a.Story = story(a)
	a.Compute = Compute{MeasureSeconds: meas.Seconds, RaceSeconds: race.Seconds, FullSeconds: race.FullSeconds,
		Budget: race.Budget, BudgetCut: race.BudgetCut, Unit: race.Unit}
	if race.FullSeconds > 0 {
		a.Compute.SecondsShare = (meas.Seconds + race.Seconds) / race.FullSeconds
	}
	a.Compute.Share = a.Compute.SecondsShare
	if race.Unit == "gflop" && race.FullGFLOP > 0 {
		a.Compute.MeasureGFLOP, a.Compute.RaceGFLOP, a.Compute.FullGFLOP = meas.GFLOP, race.GFLOP, race.FullGFLOP
		a.Compute.Share = (meas.GFLOP + race.GFLOP) / race.FullGFLOP
	}
	return a, nil
}

// cheaper says whether a costs less training than b: fewer weights ×
// epochs, then fewer seconds.
func cheaper(a, b Ranked) bool {
	wa, wb := float64(a.Trainable)*float64(a.Epochs), float64(b.Trainable)*float64(b.Epochs)
	if wa != wb {
		return wa < wb
	}
	return a.RunSeconds > 0 && a.RunSeconds < b.RunSeconds
}

// runSeconds is the race's first full-budget selection of a strategy.
func runSeconds(race *experiment.RaceResult, name string) float64 {
	for _, t := range race.Trials {
		if t.Strategy == name && t.Rung == "strategies" {
			return t.Seconds
		}
	}
	return 0 // never trained on the full budget
}

func rankWhy(e experiment.RaceEntry, meas *Measurements, shape *nn.Model) string {
	var parts []string
	switch e.Rung {
	case "rates":
		parts = append(parts, fmt.Sprintf("stopped after the short budget: %.1f%% on validation, its rates smoothed with their neighbours", 100*e.ValAcc))
	default:
		parts = append(parts, fmt.Sprintf("%.1f%% on validation [%.1f, %.1f] over %d seed(s), %d images", 100*e.ValAcc, 100*e.Low, 100*e.High, e.Seeds, e.ValImages))
		if e.Adjusted != 0 && math.Abs(e.ValAcc-e.Adjusted) >= 0.0005 {
			parts = append(parts, fmt.Sprintf("%.1f%% adjusted for its seeds' difficulty (not ranked on)", 100*e.Adjusted))
		}
	}
	switch m := e.Margin; {
	case m == nil:
	case m.Diff < 0:
		// Ahead where both ran, behind once its seeds are allowed for.
		parts = append(parts, fmt.Sprintf("%.1f points ahead of the best on the seeds both ran [%.1f, %.1f]", -100*m.Diff, -100*m.High, -100*m.Low))
	default:
		parts = append(parts, fmt.Sprintf("%.1f points behind the best [%.1f, %.1f]", 100*m.Diff, 100*m.Low, 100*m.High))
	}
	if s, err := strategy.Parse(e.Strategy); err == nil {
		switch d := s.Def(); {
		case d.HeadOnly && !d.Cuts:
			parts = append(parts, fmt.Sprintf("frozen-feature probe %.1f%%", 100*meas.Stages[len(meas.Stages)-1].Probe))
		case d.HeadOnly:
			if k, err := s.Stages(shape); err == nil {
				parts = append(parts, fmt.Sprintf("frozen-feature probe at its cut %.1f%%", 100*stageAt(meas.Stages, k).Probe))
			}
		case d.Scratch:
			parts = append(parts, fmt.Sprintf("raw-pixel probe %.1f%%", 100*meas.PixelProbe))
		}
	}
	return strings.Join(parts, "; ")
}

// recommend is the set-up the race chose for rk.
func recommend(rk Ranked, race *experiment.RaceResult, shape *nn.Model, tie []string, best, cheapest Ranked) Recommended {
	rec := Recommended{Strategy: rk.Strategy, LR: rk.LR, Epochs: rk.Epochs}
	for _, e := range race.Entries {
		if e.Strategy == rk.Strategy {
			rec.Head = e.Head
		}
	}
	if s, err := strategy.Parse(rk.Strategy); err == nil && s.Def().HasArg {
		if k, err := s.Stages(shape); err == nil && k > 0 && k <= len(shape.Stages) {
			rec.Stage = shape.Stages[k-1].Name
		}
	}
	switch {
	case len(tie) > 1 && rk.Strategy != best.Strategy:
		rec.Why = fmt.Sprintf("tie: %s cannot be separated on validation; %s is the cheapest of them to train (%s weights for %d epochs, %.1f s a selection run; %s, the best on validation, trains %s for %d, %.1f s)",
			strings.Join(tie, ", "), rk.Strategy, doctor.Count(rk.Trainable), rk.Epochs, rk.RunSeconds, best.Strategy, doctor.Count(best.Trainable), best.Epochs, best.RunSeconds)
	case len(tie) > 1 && cheapest.Strategy != rk.Strategy:
		rec.Why = fmt.Sprintf("tie: %s cannot be separated on validation; %s is the best on validation, and %s the cheapest of them (%s weights for %d epochs against %s for %d), an equal choice by this measurement (--ties cheapest recommends it)",
			strings.Join(tie, ", "), rk.Strategy, cheapest.Strategy, doctor.Count(cheapest.Trainable), cheapest.Epochs, doctor.Count(rk.Trainable), rk.Epochs)
	case len(tie) > 1:
		rec.Why = fmt.Sprintf("tie: %s cannot be separated on validation; %s is the best and the cheapest of them", strings.Join(tie, ", "), rk.Strategy)
	default:
		rec.Why = "best on validation, clear of the rest"
	}
	return rec
}

// story is the one sentence that ties the chart to the measurement: the
// chart's suggestion for the quadrant, and whether the recommendation
// agrees with it; where it does not, what the chart's own best choice
// measured against it.
func story(a *Advice) string {
	rec := a.Recommended.Strategy
	fam := chart[a.Quadrant].family
	in := func(name string) bool {
		s, err := strategy.Parse(name)
		return err == nil && s.Def().Families&fam != 0
	}
	head := fmt.Sprintf("%s: the chart says %s", a.Quadrant, a.Chart)
	if in(rec) {
		return fmt.Sprintf("%s; measured, %s — the chart's own kind of choice — is recommended, so the two agree", head, rec)
	}
	// The chart's best choice as measured.
	for _, rk := range a.Ranking {
		if !in(rk.Strategy) {
			continue
		}
		switch {
		case slices.Contains(a.Tie, rk.Strategy):
			return fmt.Sprintf("%s; measured, its choice %s ties with the best, and %s is recommended (%s)", head, rk.Strategy, rec, a.Recommended.Why)
		case rk.Margin != nil && rk.Margin.Low > 0:
			return fmt.Sprintf("%s; measured, %s is recommended: the chart's best choice, %s, finished %.1f points behind the best (95%% interval %.1f to %.1f), so the measurement overrides the chart here",
				head, rec, rk.Strategy, 100*rk.Margin.Diff, 100*rk.Margin.Low, 100*rk.Margin.High)
		case rk.Margin != nil:
			return fmt.Sprintf("%s; measured, %s is recommended: the chart's best choice, %s, finished %.1f points behind the best on one sample of the shots (95%% interval %.1f to %.1f, too wide to confirm) and the race's halving stopped it there",
				head, rec, rk.Strategy, 100*rk.Margin.Diff, 100*rk.Margin.Low, 100*rk.Margin.High)
		}
		return fmt.Sprintf("%s; measured, %s is recommended: the chart's best choice, %s, stopped at the race's %s rung (%.1f%% against the best's %.1f%% on validation)",
			head, rec, rk.Strategy, rk.Stage, 100*rk.Score, 100*a.Ranking[0].Score)
	}
	return fmt.Sprintf("%s; none of the strategies it means was a candidate, and %s is recommended by measurement", head, rec)
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
	if first.FD != nil && last.FD != nil && first.MMD != nil && last.MMD != nil {
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
	return "shift: " + strings.Join(parts, "; ")
}
