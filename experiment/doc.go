// Package experiment adapts a pretrained base to target data with a
// strategy, and compares strategies fairly: the same splits, the same
// budget, the same learning-rate search and selection rule for each.
//
// # One executor
//
// Every command that trains a strategy runs the same code, so that what
// one measures is what another saves:
//
//	Start              the model a strategy starts from: the base's weights (fresh for
//	                   scratch), cut where the plan cuts, a new head, standardised where
//	                   the plan says (strategy.Plan.StandardizeHead)
//	Trial.Run          Start, then the plan's phases (fit.Train), then the head's
//	                   standardisation folded back into its weights
//	Config.selectRate  one rate on every validation fold of a split (Trial.Run per fold),
//	                   scored by the smoothed-curve selection rule
//	Config.adapt       the rate search (selectRate over the grid, extended at its edges),
//	                   then the refit on every shot at the chosen rate and length
//	Adapt              adapt for one strategy, with the checkpoint metadata of its model
//
// and the commands call them:
//
//	graft transfer     Adapt                                    (internal/cli/transfer.go)
//	graft compare      Compare → runOne → Config.adapt, test    (compare.go)
//	graft advise       Race → Config.selectRate                 (race.go; no refit, no test)
//	graft lr-find      RangeTest → Start, then lrfind.Run at the plan's stage rates (rangetest.go)
//	graft doctor       Base.Model and the plan, for its checks  (doctor/doctor.go)
//
// A detector is the executor's second kind of head, not a second
// executor (detector.go): a Config whose Train and Test are
// data.ImagesOf detection sets, on a base made ready with
// Base.ForDetection, samples annotated images (KShotDetection), splits and
// refits them as it does classifiers' images, starts each trial with
// StartDetector where Start builds a classifier, trains it through
// fit.Train with detect.Task (the multibox loss; the frozen prefix served
// by the task's own cache), and tests it by COCO mAP@0.5, with the AP
// records the intervals resample.
//
// # Protocols
//
// ProtocolRefit (the default) chooses the rate and training length on k
// validation folds and retrains on every shot; ProtocolHoldout keeps the
// best epoch of one split; ProtocolNone trains a fixed schedule on every
// image. docs/protocol.md says why.
package experiment
