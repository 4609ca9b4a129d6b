package report_test

import (
	"os"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/report"
)

func ExampleLeaderboard() {
	res := &experiment.Results{
		Spec: experiment.Spec{Strategies: []string{"finetune", "scratch"}, Shots: []int{20}, Seeds: 1, Epochs: 10},
		Runs: []experiment.Run{
			{Strategy: "finetune", Shots: 20, Seed: 1, Status: "ok", TestAccuracy: 0.912, MacroF1: 0.905,
				TrainSeconds: 12.3, Epochs: 10, BestEpoch: 7, LR: 3e-4, Converged: true, TrainableParams: 11_181_642, ImgPerSec: 850},
			{Strategy: "scratch", Shots: 20, Seed: 1, Status: "ok", TestAccuracy: 0.634, MacroF1: 0.611,
				TrainSeconds: 11.8, Epochs: 10, BestEpoch: 10, LR: 3e-3, Converged: false, TrainableParams: 11_181_642, ImgPerSec: 870},
		},
	}
	if err := report.Leaderboard(os.Stdout, res); err != nil {
		panic(err)
	}
	// Output:
	// 20 images per class — 1 seed, mean test accuracy
	//   #  strategy  accuracy %  macro-F1  train s  epochs (best)    lr  trainable  img/s  notes
	//   -  --------  ----------  --------  -------  -------------  ----  ---------  -----  -----------
	// * 1  finetune        91.2     0.905     12.3         10 (7)  3e-4      11.2M    850  winner
	//   2  scratch         63.4     0.611     11.8        10 (10)  3e-3      11.2M    870  cut off 1/1
	// Winner: finetune, +27.8 points over scratch (runner-up).
	// cut off a/b: a of the b successful runs were still improving when the 10-epoch budget ran out; their accuracy is a lower bound. Rerun with more epochs.
}
