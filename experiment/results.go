package experiment

import "github.com/graftml/graft/fit"

// SchemaVersion is the version of results.json; docs/results-schema.md
// documents it.
const SchemaVersion = 1

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
	Strategy        string           `json:"strategy"`
	Shots           int              `json:"shots"`
	Seed            int              `json:"seed"`
	Status          string           `json:"status"` // ok, diverged, failed
	Error           string           `json:"error,omitempty"`
	LR              float64          `json:"lr"`        // chosen on the validation split
	LRSearch        []LRTrial        `json:"lr_search"` // every rate tried, with its validation accuracy
	TestAccuracy    float64          `json:"test_accuracy"`
	MacroF1         float64          `json:"macro_f1"`
	TrainSeconds    float64          `json:"train_seconds"`
	Epochs          int              `json:"epochs"`     // epochs run
	BestEpoch       int              `json:"best_epoch"` // epoch whose weights were kept
	Converged       bool             `json:"converged"`  // false: still improving when the budget ran out
	TrainableParams int64            `json:"trainable_params"`
	ImgPerSec       float64          `json:"img_per_sec"`
	History         []fit.EpochStats `json:"history"`
	Confusion       [][]int          `json:"confusion,omitempty"`
}

// LRTrial is one learning rate tried for a run.
type LRTrial struct {
	LR     float64 `json:"lr"`
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
	MeanEpochs       float64 `json:"mean_epochs"`
	TrainableParams  int64   `json:"trainable_params"`
	MeanImgPerSec    float64 `json:"mean_img_per_sec"`
	Runs             int     `json:"runs"`
	Failed           int     `json:"failed"`  // diverged or failed runs
	CutOff           int     `json:"cut_off"` // runs still improving at the end of their budget
}

// Winner is the best strategy for one shots setting.
type Winner struct {
	Shots     int     `json:"shots"`
	Strategy  string  `json:"strategy"`
	Accuracy  float64 `json:"mean_accuracy"`
	Confusion [][]int `json:"confusion"` // of its best run
}
