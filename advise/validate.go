package advise

import (
	"fmt"
	"sort"

	"github.com/graftml/graft/experiment"
)

// Validation compares advice with what graft compare measured.
type Validation struct {
	Shots int `json:"shots"`
	// Tau is Kendall's τ-b between predicted and measured accuracies over
	// the strategies compared.
	Tau float64 `json:"kendall_tau"`
	// Regret is the best measured accuracy less the advised strategy's,
	// in points.
	Regret          float64 `json:"regret_points"`
	Advised         string  `json:"advised"`
	AdvisedAccuracy float64 `json:"advised_accuracy"`
	Best            string  `json:"best"`
	BestAccuracy    float64 `json:"best_accuracy"`
	// Compute: advise's own seconds plus training the advised strategy
	// (its whole learning-rate search, every seed), against training every
	// strategy the same way.
	AdviseSeconds   float64 `json:"advise_seconds"`
	AdvisedSeconds  float64 `json:"advised_train_seconds"`
	AllSeconds      float64 `json:"all_train_seconds"`
	ComputeFraction float64 `json:"compute_fraction"`
	Rows            []Row   `json:"rows"`
}

// Row is one strategy, predicted and measured.
type Row struct {
	Strategy      string  `json:"strategy"`
	Predicted     float64 `json:"predicted"`
	Measured      float64 `json:"measured"`
	PredictedRank int     `json:"predicted_rank"`
	MeasuredRank  int     `json:"measured_rank"`
	TrainSeconds  float64 `json:"train_seconds"`
	ChosenLR      float64 `json:"chosen_lr"` // compare's search, first seed
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
	lr := map[string]float64{}
	var all float64
	for _, r := range res.Runs {
		if r.Shots != shots {
			continue
		}
		secs[r.Strategy] += r.TrainSeconds
		all += r.TrainSeconds
		if r.Seed == 1 {
			lr[r.Strategy] = r.LR
		}
	}
	v := &Validation{Shots: shots, Advised: a.Recommended.Strategy, AdviseSeconds: a.Measurements.TotalSeconds(), AllSeconds: all}
	var pred, meas []float64
	for i, rk := range a.Ranking {
		m, ok := measured[rk.Strategy]
		if !ok {
			continue
		}
		v.Rows = append(v.Rows, Row{Strategy: rk.Strategy, Predicted: rk.Score, Measured: m, PredictedRank: i + 1,
			TrainSeconds: secs[rk.Strategy], ChosenLR: lr[rk.Strategy]})
		pred = append(pred, rk.Score)
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
	// Predicted ranks among the strategies measured.
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
	v.AdvisedSeconds = secs[v.Advised]
	if all > 0 {
		v.ComputeFraction = (v.AdviseSeconds + v.AdvisedSeconds) / all
	}
	return v, nil
}
