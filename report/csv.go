package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/graftml/graft/experiment"
)

// CSVHeader is the header row of results.csv. Values are as in
// results.json: accuracies and macro-F1 are fractions in [0, 1].
var CSVHeader = []string{
	"strategy", "shots", "seed", "status", "lr", "test_accuracy", "macro_f1",
	"train_seconds", "epochs", "best_epoch", "converged", "trainable_params", "img_per_sec",
}

// WriteCSV writes results.csv: one row per run, grouped by shots setting
// and strategy in the report's order, then by seed, so that files of two
// comparisons diff cleanly.
func WriteCSV(w io.Writer, r *experiment.Results) error {
	v := newView(r)
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("write results.csv: %w", err)
	}
	for _, shots := range v.Shots {
		for _, s := range v.Strategies {
			for _, run := range runsOf(r, s, shots) {
				if err := cw.Write(csvRow(run)); err != nil {
					return fmt.Errorf("write results.csv: %w", err)
				}
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write results.csv: %w", err)
	}
	return nil
}

func csvRow(r experiment.Run) []string {
	status := r.Status
	if status == "" {
		status = "ok"
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return []string{
		r.Strategy, strconv.Itoa(r.Shots), strconv.Itoa(r.Seed), status, f(r.LR),
		f(r.TestAccuracy), f(r.MacroF1), f(r.TrainSeconds), strconv.Itoa(r.Epochs),
		strconv.Itoa(r.BestEpoch), strconv.FormatBool(r.Converged),
		strconv.FormatInt(r.TrainableParams, 10), f(r.ImgPerSec),
	}
}
