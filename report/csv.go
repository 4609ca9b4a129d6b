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

// DetectionCSVHeader is the header row of a detector comparison's
// results.csv: test_map50 is the run's test_accuracy in results.json
// (mAP@0.5, what strategies are ranked by) and test_map its map (COCO's
// mAP@[.5:.95]), where classifiers have test_accuracy and macro_f1.
var DetectionCSVHeader = []string{
	"strategy", "shots", "seed", "status", "lr", "test_map50", "test_map",
	"train_seconds", "epochs", "best_epoch", "converged", "trainable_params", "img_per_sec",
}

// WriteCSV writes results.csv: one row per run, grouped by shots setting
// and strategy in the report's order, then by seed, so that files of two
// comparisons diff cleanly.
func WriteCSV(w io.Writer, r *experiment.Results) error {
	v := newView(r)
	cw := csv.NewWriter(w)
	header := CSVHeader
	if v.detect() {
		header = DetectionCSVHeader
	}
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("write results.csv: %w", err)
	}
	for _, shots := range v.Shots {
		for _, s := range v.Strategies {
			for _, run := range runsOf(r, s, shots) {
				if err := cw.Write(csvRow(run, v.detect())); err != nil {
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

// csvRow is a run's row; a detector's has its mAP@[.5:.95] where a
// classifier's has macro-F1.
func csvRow(r experiment.Run, detect bool) []string {
	status := r.Status
	if status == "" {
		status = "ok"
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	second := f(r.MacroF1)
	if detect {
		second = f(r.MAP)
	}
	return []string{
		r.Strategy, strconv.Itoa(r.Shots), strconv.Itoa(r.Seed), status, f(r.LR),
		f(r.TestAccuracy), second, f(r.TrainSeconds), strconv.Itoa(r.Epochs),
		strconv.Itoa(r.BestEpoch), strconv.FormatBool(r.Converged),
		strconv.FormatInt(r.TrainableParams, 10), f(r.ImgPerSec),
	}
}
