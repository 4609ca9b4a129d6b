package experiment

import (
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/metrics"
)

// SchemaVersion is the version of results.json; docs/results-schema.md
// documents it.
const SchemaVersion = 2

// Protocols: how a run turns the training shots into its reported model.
const (
	// ProtocolRefit chooses the rate and the training length on validation
	// (k-fold when a single split would be tiny), then retrains on every
	// shot with them on a fixed schedule and tests that model (VTAB-1k).
	ProtocolRefit = "refit"
	// ProtocolHoldout trains on the training part of one split with early
	// stopping and tests the best-validation-epoch weights: schema 1's
	// only protocol, kept for comparison.
	ProtocolHoldout = "holdout"
	// ProtocolNone trains on every image for the whole budget with no
	// validation at all: the plain recipe (graft transfer --val-split 0).
	ProtocolNone = "none"
)

// Results is results.json: every run of a comparison and their summary.
type Results struct {
	Schema  int       `json:"schema"`
	Command string    `json:"command"` // the graft command that reproduces it
	Spec    Spec      `json:"spec"`
	Env     Env       `json:"env"`
	Runs    []Run     `json:"runs"`
	Summary []Summary `json:"summary"`
	// Winner is the strategy with the best mean test accuracy per shots
	// setting, with the confusion matrix of its best run.
	Winners []Winner `json:"winners"`
	// ShortClasses lists, per shots setting, the classes that had fewer
	// images than asked for and gave all they had; omitted when none.
	ShortClasses []ShortClasses `json:"short_classes,omitempty"`
}

// ShortClasses is one shots setting's classes with fewer images than shots.
type ShortClasses struct {
	Shots   int      `json:"shots"`
	Count   int      `json:"count"`   // how many classes were short
	Classes []string `json:"classes"` // their names
	Fewest  int      `json:"fewest"`  // images in the rarest class
}

// Spec is what was compared.
type Spec struct {
	Base       string    `json:"base"`        // checkpoint transferred from
	BaseSHA256 string    `json:"base_sha256"` // its weights' hash: a resumed comparison must start from the same weights
	Arch       string    `json:"arch"`        // its architecture
	Train      string    `json:"train"`       // target training data
	Test       string    `json:"test"`        // target test data
	Classes    []string  `json:"classes"`     // target classes
	Strategies []string  `json:"strategies"`  // as given, e.g. "freeze:2"
	Shots      []int     `json:"shots"`       // images per class; 0 = all
	Seeds      int       `json:"seeds"`
	Epochs     int       `json:"epochs"`  // maximum budget per run
	LRGrid     []float64 `json:"lr_grid"` // learning rates searched per strategy
	// Protocol is refit or holdout; empty in schema-1 files (holdout).
	Protocol string `json:"protocol,omitempty"`
	// RateChoice is "smoothed" when each run's rate was chosen on its
	// search smoothed over neighbouring rates, "pooled" when one rate per
	// strategy and shot count was chosen for all seeds so
	// (Config.RateChoice); empty for the best unsmoothed rate.
	RateChoice string `json:"rate_choice,omitempty"`
	// Folds is the most validation folds a selection uses (refit).
	Folds int `json:"folds,omitempty"`
	// ShotsStrict refuses classes with fewer images than shots.
	ShotsStrict bool `json:"shots_strict,omitempty"`
	// Groups names how images were grouped so that no group is on both
	// sides of a split ("" none, "gtsrb-track", or a pattern).
	Groups string `json:"groups,omitempty"`
	// The remaining settings a run depends on: with them in the spec, a
	// rerun that changed any of them is refused instead of resuming
	// from runs made another way.
	Batch       int     `json:"batch,omitempty"`
	Patience    int     `json:"patience,omitempty"`
	ValFraction float64 `json:"val_fraction,omitempty"`
	TrainBN     bool    `json:"train_bn,omitempty"` // --bn train
	Augment     string  `json:"augment,omitempty"`  // data.Augment as JSON; "" none
	ClassMap    []int   `json:"class_map,omitempty"`
	// Task is "detect" for a comparison of detectors (scores are mAP@0.5),
	// "" for classifiers.
	Task string `json:"task,omitempty"`
	// DetectionAugment is data.DetectionAugment as JSON; "" none.
	DetectionAugment string `json:"detection_augment,omitempty"`
	// Precision is the forward arithmetic when it is not fp32 ("bf16",
	// "fp16"); empty is fp32, so results from before the flag resume.
	Precision string `json:"precision,omitempty"`
}

// Env records where the results were measured.
type Env struct {
	Graft   string `json:"graft_version"`
	Torch   string `json:"libtorch_version"`
	Device  string `json:"device"`
	Threads int    `json:"threads"`
	Commit  string `json:"git_commit,omitempty"`
	Started string `json:"started"`
}

// Run is one strategy × shots × seed.
type Run struct {
	Strategy     string    `json:"strategy"`
	Shots        int       `json:"shots"`
	Seed         int       `json:"seed"`
	Status       string    `json:"status"` // ok, diverged, failed
	Error        string    `json:"error,omitempty"`
	LR           float64   `json:"lr"`            // chosen on the validation split
	LRSearch     []LRTrial `json:"lr_search"`     // every rate tried, with its validation accuracy
	TestAccuracy float64   `json:"test_accuracy"` // the test score strategies are ranked by: accuracy, or a detector's mAP@0.5 (COCO's definition)
	MacroF1      float64   `json:"macro_f1"`
	TrainSeconds float64   `json:"train_seconds"`
	// TrainGFLOP is the same training's arithmetic (fit.Result.FLOPs), the
	// rate search and the refit; 0 where it cannot be counted.
	TrainGFLOP      float64          `json:"train_gflop,omitempty"`
	Epochs          int              `json:"epochs"`     // epochs run
	BestEpoch       int              `json:"best_epoch"` // epoch whose weights were kept
	Converged       bool             `json:"converged"`  // false: still improving when the budget ran out
	TrainableParams int64            `json:"trainable_params"`
	ImgPerSec       float64          `json:"img_per_sec"`
	History         []fit.EpochStats `json:"history"`
	Confusion       [][]int          `json:"confusion,omitempty"`
	// Selection is how the rate and length were chosen (refit protocol).
	Selection *Selection `json:"selection,omitempty"`
	// Refit is the final training on every shot (refit protocol).
	Refit *Refit `json:"refit,omitempty"`
	// LRExtended are the rates tried beyond spec.lr_grid because the best
	// rate sat at an edge of it; omitted when none.
	LRExtended []float64 `json:"lr_extended,omitempty"`
	// Head is how a new head on frozen features was trained, chosen on
	// validation: "standardized" or "raw"; omitted for other strategies.
	Head string `json:"head,omitempty"`
	// PreciseBN: evaluations used BatchNorm statistics re-estimated over
	// the run's training images instead of the running averages.
	PreciseBN bool `json:"precise_bn,omitempty"`
	// CutOff: the run used its whole budget while smoothed validation
	// accuracy was still improving; its accuracy is a lower bound.
	CutOff bool `json:"cut_off,omitempty"`
	// TestCorrect is a bitset over the test images (bit i of byte i/8,
	// least significant first), set where the prediction was right: what
	// the paired comparison of strategies resamples. Base64 in JSON.
	TestCorrect []byte `json:"test_correct,omitempty"`
	// MAP is a detector's COCO mAP@[.5:.95] on the test images, and
	// ClassAP its AP@0.5 per class (-1: no test image shows the class).
	MAP     float64   `json:"map,omitempty"`
	ClassAP []float64 `json:"class_ap,omitempty"`
	// APRecords are a detector's test detections reduced to what mAP@0.5
	// needs under any reweighting of the test images: what the intervals
	// and the paired comparison of detectors resample, as TestCorrect is
	// for classifiers. Omitted for classifiers.
	APRecords *metrics.APRecords `json:"ap_records,omitempty"`
}

// Selection records how a refit run chose its settings on validation.
type Selection struct {
	Folds     int     `json:"folds"`        // validation folds averaged
	ValImages int     `json:"val_images"`   // validation images over all folds
	Epochs    int     `json:"epochs"`       // chosen training length
	ValAcc    float64 `json:"val_accuracy"` // smoothed mean validation accuracy at that length
	Smoothing int     `json:"smoothing"`    // epochs in the moving average
	MinEpochs int     `json:"min_epochs"`   // no early stop before this epoch
}

// Refit records the final training on every shot.
type Refit struct {
	Images  int     `json:"images"` // training images (every shot)
	Epochs  int     `json:"epochs"`
	LR      float64 `json:"lr"`
	Seconds float64 `json:"seconds"`
}

// LRTrial is one learning rate tried for a run.
type LRTrial struct {
	LR     float64 `json:"lr"`
	Head   string  `json:"head,omitempty"` // standardized or raw, where both are tried
	ValAcc float64 `json:"val_accuracy"`
	Epochs int     `json:"epochs"`
	Status string  `json:"status"`
}

// Summary aggregates one strategy × shots over seeds.
type Summary struct {
	Strategy         string  `json:"strategy"`
	Shots            int     `json:"shots"`
	MeanAccuracy     float64 `json:"mean_accuracy"`
	StdAccuracy      float64 `json:"std_accuracy"`
	MeanMacroF1      float64 `json:"mean_macro_f1"`
	MeanTrainSeconds float64 `json:"mean_train_seconds"`
	// MeanTrainGFLOP is the mean train_gflop over the ok runs, where every
	// one counted it.
	MeanTrainGFLOP  float64 `json:"mean_train_gflop,omitempty"`
	MeanEpochs      float64 `json:"mean_epochs"`
	TrainableParams int64   `json:"trainable_params"`
	MeanImgPerSec   float64 `json:"mean_img_per_sec"`
	Runs            int     `json:"runs"`
	Failed          int     `json:"failed"`  // diverged or failed runs
	CutOff          int     `json:"cut_off"` // runs still improving at the end of their budget
	// CILow/CIHigh bound the mean test accuracy (95%, bootstrap over test
	// images and seeds); omitted in schema-1 files.
	CILow  float64 `json:"ci_low,omitempty"`
	CIHigh float64 `json:"ci_high,omitempty"`
}

// Winner is the best strategy for one shots setting.
type Winner struct {
	Shots     int     `json:"shots"`
	Strategy  string  `json:"strategy"`
	Accuracy  float64 `json:"mean_accuracy"`
	Confusion [][]int `json:"confusion"` // of its best run
	// Tied lists the strategies whose paired difference from the winner
	// has a 95% interval containing 0: the data cannot separate them.
	// Empty (not omitted) when the winner is clear.
	Tied []string `json:"tied"`
	// Margins is the winner's paired margin over every rival.
	Margins []Margin `json:"margins,omitempty"`
}

// Margin is the winner's accuracy minus a rival's, paired over the same
// test images and seeds, with a 95% bootstrap interval.
type Margin struct {
	Strategy string  `json:"strategy"`
	Diff     float64 `json:"diff"`
	Low      float64 `json:"low"`
	High     float64 `json:"high"`
	Tied     bool    `json:"tied"`
}
