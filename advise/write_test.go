package advise

import (
	"bytes"
	"testing"
)

func TestWriteValidation(t *testing.T) {
	v := &Validation{Shots: 10, Tau: 0.67, Regret: 1.5, Advised: "lpft", AdvisedAccuracy: 0.8, Best: "finetune", BestAccuracy: 0.815,
		CompareTie: []string{"finetune", "lpft"}, AdviseTie: []string{"lpft"}, BaselineRegret: map[string]float64{"finetune": 0, "discriminative": 2.5},
		AdviseSeconds: 12, AllSeconds: 100, ComputeFraction: 0.12, ValidationChoice: "lpft", ValidationChoiceRegret: 1.5, ValidationTau: 0.33,
		Rows: []Row{{Strategy: "finetune", Predicted: 0.79, Measured: 0.815, PredictedRank: 2, MeasuredRank: 1, TrainSeconds: 50},
			{Strategy: "lpft", Predicted: 0.8, Measured: 0.8, PredictedRank: 1, MeasuredRank: 2, TrainSeconds: 50}}}
	want := `
validation against graft compare (10 images per class):
  strategy  predicted  rank  measured  rank  train s
  finetune  79.0%      2     81.5%     1     50.0
  lpft      80.0%      1     80.0%     2     50.0
Kendall τ 0.67; advised lpft at 80.0%, best finetune at 81.5%: regret 1.5 points (always finetune 0.0, always discriminative 2.5)
ties: the comparison's [finetune lpft], advise's [lpft] (agree: false)
floor: the comparison's own validation (all of its compute, no test) picks lpft: regret 1.5 points, τ 0.33
compute: advise 12.0 s = 12.0% of the comparison's training (100.0 s)
`
	var b bytes.Buffer
	WriteValidation(&b, v)
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	v.Shots, v.ValidationChoice = 0, ""
	b.Reset()
	WriteValidation(&b, v)
	if !bytes.Contains(b.Bytes(), []byte("(all images)")) || bytes.Contains(b.Bytes(), []byte("floor:")) {
		t.Errorf("all images, no floor:\n%s", b.String())
	}
}
