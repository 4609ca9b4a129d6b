package advise

import (
	"fmt"
	"slices"
	"sort"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/strategy"
)

// Baselines are the constant answers advice must beat: what a user who
// skips advise would run.
var Baselines = []string{strategy.Finetune.Name, strategy.Discriminative.Name}

// Validation compares advice with what graft compare measured on test.
type Validation struct {
	Shots int `json:"shots"`
	// Tau is Kendall's τ-b between advise's ranking and the measured mean
	// test accuracies over the strategies compared.
	Tau float64 `json:"kendall_tau"`
	// Regret is the best measured accuracy less the advised strategy's,
	// in points.
	Regret          float64 `json:"regret_points"`
	Advised         string  `json:"advised"`
	AdvisedAccuracy float64 `json:"advised_accuracy"`
	Best            string  `json:"best"`
	BestAccuracy    float64 `json:"best_accuracy"`
	// CompareTie is the comparison's winner and the strategies it could
	// not separate from it; AdviseTie advise's (empty when clear).
	CompareTie []string `json:"compare_tie"`
	AdviseTie  []string `json:"advise_tie"`
	// TieAgrees: where the comparison reports a tie, advise reports one
	// that contains the comparison's winner; where the comparison's
	// winner is clear, advise recommends it or calls a tie containing it.
	TieAgrees bool `json:"tie_agrees"`
	// BaselineRegret is each constant answer's regret, in points.
	BaselineRegret map[string]float64 `json:"baseline_regret_points"`
	// Compute: advise's seconds (measurements and race) against the
	// comparison's training seconds for the same shots.
	AdviseSeconds   float64 `json:"advise_seconds"`
	AllSeconds      float64 `json:"all_train_seconds"`
	ComputeFraction float64 `json:"compute_fraction"`
	// EstimatedFraction is what advise estimated the share to be.
	EstimatedFraction float64 `json:"estimated_fraction"`
	// The same in GFLOP, where both counted it (comparisons made before
	// graft counted arithmetic have none): unlike seconds, it does not
	// depend on what else the machine was running.
	AdviseGFLOP          float64 `json:"advise_gflop,omitempty"`
	AllGFLOP             float64 `json:"all_train_gflop,omitempty"`
	GFLOPComputeFraction float64 `json:"gflop_compute_fraction,omitempty"`
	// The floor: what the comparison itself would pick without its test
	// set — the best mean selection score over the seeds, each seed's
	// smoothed over neighbouring rates (experiment.SmoothedSelectionScore;
	// every rate and seed, its whole compute) — with that choice's regret
	// and its ranking's τ-b against test. No advice from the same
	// validation images can be expected to do better; where the floor
	// misses, the validation images cannot see what the test set sees.
	ValidationChoice       string  `json:"validation_choice"`
	ValidationChoiceRegret float64 `json:"validation_choice_regret_points"`
	ValidationTau          float64 `json:"validation_kendall_tau"`
	Rows                   []Row   `json:"rows"`
}

// Row is one strategy, predicted and measured.
type Row struct {
	Strategy      string  `json:"strategy"`
	Predicted     float64 `json:"predicted"`
	Stage         string  `json:"stage"` // how far the race took it
	Measured      float64 `json:"measured"`
	PredictedRank int     `json:"predicted_rank"`
	MeasuredRank  int     `json:"measured_rank"`
	TrainSeconds  float64 `json:"train_seconds"`
}

// Validate scores advice a against the results of a comparison of the
// same strategies at shots images per class (0: all).
func Validate(a *Advice, res *experiment.Results, shots int) (*Validation, error) {
	measured := map[string]float64{}
	for _, s := range res.Summary {
		if s.Shots == shots && s.Runs > s.Failed {
			measured[s.Strategy] = s.MeanAccuracy
		}
	}
	secs := map[string]float64{}
	var all, allGFLOP float64
	counted := true
	for _, r := range res.Runs {
		if r.Shots != shots {
			continue
		}
		secs[r.Strategy] += r.TrainSeconds
		all += r.TrainSeconds
		allGFLOP += r.TrainGFLOP
		counted = counted && r.TrainGFLOP > 0
	}
	v := &Validation{Shots: shots, Advised: a.Recommended.Strategy, AdviseSeconds: a.Compute.MeasureSeconds + a.Compute.RaceSeconds,
		AllSeconds: all, EstimatedFraction: a.Compute.Share, AdviseTie: a.Tie, BaselineRegret: map[string]float64{}}
	var pred, meas []float64
	for i, rk := range a.Ranking {
		m, ok := measured[rk.Strategy]
		if !ok {
			continue
		}
		v.Rows = append(v.Rows, Row{Strategy: rk.Strategy, Predicted: rk.Score, Stage: rk.Stage, Measured: m, TrainSeconds: secs[rk.Strategy]})
		// The ranking's order is the prediction (a strategy the short rung
		// stopped ranks below every one that ran the full budget, whatever
		// its short runs' score).
		pred = append(pred, float64(len(a.Ranking)-i))
		meas = append(meas, m)
	}
	if len(v.Rows) < 2 {
		return nil, fmt.Errorf("the comparison measured %d of the advised strategies at %d shots; at least two are needed", len(v.Rows), shots)
	}
	order := make([]int, len(v.Rows))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return v.Rows[order[i]].Measured > v.Rows[order[j]].Measured })
	for rank, i := range order {
		v.Rows[i].MeasuredRank = rank + 1
	}
	for i := range v.Rows {
		v.Rows[i].PredictedRank = i + 1
	}
	bestRow := v.Rows[order[0]]
	v.Best, v.BestAccuracy = bestRow.Strategy, bestRow.Measured
	adv, ok := measured[v.Advised]
	if !ok {
		return nil, fmt.Errorf("the advised strategy %s was not measured", v.Advised)
	}
	v.AdvisedAccuracy = adv
	v.Regret = 100 * (v.BestAccuracy - adv)
	v.Tau = KendallTau(pred, meas)
	for _, b := range Baselines {
		if m, ok := measured[b]; ok {
			v.BaselineRegret[b] = 100 * (v.BestAccuracy - m)
		}
	}
	for _, w := range res.Winners {
		if w.Shots == shots {
			v.CompareTie = append([]string{w.Strategy}, w.Tied...)
		}
	}
	if len(v.CompareTie) > 0 {
		winner := v.CompareTie[0]
		v.TieAgrees = slices.Contains(a.Tie, winner) || (len(v.CompareTie) == 1 && v.Advised == winner)
	}
	v.validationFloor(res, shots, measured)
	if all > 0 {
		v.ComputeFraction = v.AdviseSeconds / all
	}
	if counted && allGFLOP > 0 && a.Compute.Unit == "gflop" {
		v.AdviseGFLOP, v.AllGFLOP = a.Compute.MeasureGFLOP+a.Compute.RaceGFLOP, allGFLOP
		v.GFLOPComputeFraction = v.AdviseGFLOP / allGFLOP
	}
	return v, nil
}

// validationFloor fills the comparison's own validation choice: each
// strategy's selection score smoothed over neighbouring rates
// (experiment.SmoothedSelectionScore; under RatePooled at the seeds'
// shared rate, experiment.SmoothedScoreAt) averaged over the seeds.
func (v *Validation) validationFloor(res *experiment.Results, shots int, measured map[string]float64) {
	scores := map[string][]float64{}
	for _, r := range res.Runs {
		if r.Shots != shots || r.Status != "ok" {
			continue
		}
		var score float64
		var ok bool
		if res.Spec.RateChoice == experiment.RatePooled {
			// The seeds share one rate, chosen on their mean: score each
			// at it, so the strategy's score is the pooled curve's best.
			score, ok = experiment.SmoothedScoreAt(r.LRSearch, r.Head, r.LR)
		} else {
			score, ok = experiment.SmoothedSelectionScore(r.LRSearch)
		}
		if ok {
			scores[r.Strategy] = append(scores[r.Strategy], score)
		}
	}
	var names []string
	for s := range scores {
		if _, ok := measured[s]; ok {
			names = append(names, s)
		}
	}
	if len(names) < 2 {
		return
	}
	sort.Strings(names)
	mean := map[string]float64{}
	var val, test []float64
	for _, s := range names {
		// Summed in increasing order: two strategies with the same scores
		// on different seeds tie exactly (validation accuracies are counts
		// of images, and such ties happen), not by the order of rounding.
		ss := slices.Sorted(slices.Values(scores[s]))
		var sum float64
		for _, x := range ss {
			sum += x
		}
		mean[s] = sum / float64(len(ss))
		val = append(val, mean[s])
		test = append(test, measured[s])
		if v.ValidationChoice == "" || mean[s] > mean[v.ValidationChoice] {
			v.ValidationChoice = s
		}
	}
	v.ValidationChoiceRegret = 100 * (v.BestAccuracy - measured[v.ValidationChoice])
	v.ValidationTau = KendallTau(val, test)
}
