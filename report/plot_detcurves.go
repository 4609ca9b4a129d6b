package report

import (
	"fmt"

	"github.com/graftml/graft/fit"
)

// lossPrefix names a detector's multibox-loss figures.
const lossPrefix = "loss-curves-"

// detectionCurves are a detector's learning curves for one shots setting,
// those that have data: validation mAP@0.5 per epoch (no training
// counterpart: the loop does not score detections while training), and
// the multibox loss, training and validation, which every run has even
// without a validation split.
func detectionCurves(g *group) ([]Figure, error) {
	shots := lowerFirst(shotsTitle(g.Shots))
	const mean = "Each line is the mean over the strategy's successful seeds; at each epoch over the runs that reached it, " +
		"so runs that stopped early do not pull later epochs down. Diverged and failed runs are left out."
	mAP, err := lineFigure(g, curveSpec{
		name: curvesPrefix + shotsSlug(g.Shots), title: "Validation mAP@0.5 — " + shots, ylabel: "validation mAP@0.5 (%)",
		of:      func(h fit.EpochStats) (train, val float64) { return 0, h.ValAcc },
		noTrain: true, percent: true,
		caption: func(bool) string {
			return fmt.Sprintf("Validation mAP@0.5 (COCO's definition) per epoch, %s: the score that chose each run's length. %s", shots, mean)
		},
	})
	if err != nil {
		return nil, err
	}
	loss, err := lineFigure(g, curveSpec{
		name: lossPrefix + shotsSlug(g.Shots), title: "Multibox loss — " + shots, ylabel: "multibox loss",
		of: func(h fit.EpochStats) (train, val float64) { return h.TrainLoss, h.ValLoss },
		caption: func(anyVal bool) string {
			what := "Validation (solid) and training (dashed) multibox loss"
			if !anyVal {
				what = "Training multibox loss (dashed; these runs had no validation split)"
			}
			return fmt.Sprintf("%s per epoch, %s: box regression (smooth L1) plus classification with hard-negative mining. "+
				"Training loss is measured while training (with augmentation, if any). %s", what, shots, mean)
		},
	})
	if err != nil {
		return nil, err
	}
	var out []Figure
	for _, f := range []*Figure{mAP, loss} {
		if f != nil { // no curve to draw
			out = append(out, *f)
		}
	}
	return out, nil
}
