package cli

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/torch"
	"github.com/spf13/pflag"
)

// Defaults every command shares. They are compare's and transfer's, which
// produced every figure in docs/ and BENCHMARKS.md; train, pretrain, eval,
// predict and lr-find took 64 (128 in eval), 0.1 and 0 before, and the
// scripts behind documented figures pass those values explicitly.
const (
	defaultBatch    = 32
	defaultValSplit = 0.2
	defaultSeed     = 1
)

// flagMeaning is the one usage text of every flag that more than one
// command takes: a flag name means one thing everywhere. A command adds
// what is particular to it after a semicolon (see withNote);
// TestFlagsHaveOneMeaning holds every command to this.
var flagMeaning = map[string]string{
	"arch":          "architecture: " + strings.Join(arch.Names(), ", "),
	"augment":       "augmentation: none, default (crops, rotation, colour jitter, blur) or affine (rotation, shift, zoom, colour jitter); no flips",
	"base":          "source checkpoint to adapt (required)",
	"batch":         "batch size",
	"bn":            "BatchNorm in frozen stages: frozen (keep statistics) or train",
	"channels-last": "NHWC memory layout for convolutions (default: the architecture's faster layout, see BENCHMARKS.md)",
	"class-map":     "CSV of target,source classes: those head rows start from the source head",
	"device":        "cpu, cuda or cuda:N",
	"epochs":        "maximum epochs per run",
	"folds":         "most validation folds averaged when choosing (refit)",
	"group":         "keep groups of images on one side of every split: auto (GTSRB TRACK_FRAME names), none, or a regular expression over file paths whose first group names the group",
	"lr":            "learning rate (Adam unless --optimizer)",
	"lr-grid":       "learning rates searched for every strategy, extended when the best sits at an edge",
	"momentum":      "SGD momentum",
	"norm":          "input normalisation: unit, symmetric, imagenet or caffe",
	"optimizer":     "sgd, adam or adamw",
	"patience":      "epochs without validation improvement that end a run (or a phase)",
	"plot":          "write the plot to PLOT.svg and PLOT.png",
	"precision":     "forward arithmetic: fp32, bf16 (autocast on CPUs with AVX512-BF16, or CUDA) or fp16 (CUDA); weights and checkpoints stay fp32",
	"rate-choice":   "how each run's rate is chosen from its search: best (the highest validation score), smoothed (the highest on the scores smoothed over neighbouring rates: a plateau beats a lucky spike) or pooled (one rate per strategy and shot count for all seeds: the highest on the seeds' mean scores, smoothed so); the last two need the refit protocol (docs/advise.md)",
	"protocol":      "refit (choose rate and length on validation folds, then train on every image) or holdout (one split, best-epoch weights)",
	"seed":          "random seed; the same seed repeats a CPU run exactly",
	"shots":         "images per class, or all",
	"size":          "side in pixels",
	"strategies":    "strategies, comma-separated, or all",
	"strategy":      "transfer strategy",
	"test":          "test data",
	"threads":       "libtorch compute threads",
	"train":         "training data (required)",
	"val-split":     "fraction of --train held out for validation",
	"weight-decay":  "weight decay (L2 for sgd/adam, decoupled for adamw)",
	"workers":       "data-loading goroutines (default: one per core)",
	"task":          "what is adapted: classify, detect, or auto (detect when the data is coco:, voc: or gtsdb:, or the base a detector checkpoint)",
	"parallel":      "runs side by side, sharing --threads among them (worth it with many cores and small models)",
	"out":           "output",
	"seeds":         "seeds per strategy and shots (different samples and initialisations); verdicts need several",
	"steps":         "steps to run",
}

// withNote is name's shared usage followed by what one command adds.
func withNote(name, note string) string {
	u, ok := flagMeaning[name]
	if !ok {
		panic("flagMeaning has no --" + name) // a programming error, caught by every test
	}
	if note == "" {
		return u
	}
	return u + "; " + note
}

// Engine is the engine group: where and how a model runs.
type Engine struct {
	Threads int
	Device  string
	Workers int // data-loading goroutines; 0: one per core
}

// engineFlags registers the engine group: --threads and --device, and
// --workers where the command loads images itself.
func engineFlags(f *pflag.FlagSet, e *Engine, loader bool) {
	threadsFlag(f, &e.Threads)
	deviceFlag(f, &e.Device)
	if loader {
		loaderFlag(f, &e.Workers)
	}
}

// start sets libtorch's thread count and resolves --device (engine).
func (e Engine) start() (torch.Device, error) { return engine(e.Threads, e.Device) }

func threadsFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, "threads", runtime.NumCPU(), withNote("threads", ""))
}

// precisionFlag is --precision, on the commands that train or run a
// classifier (train, transfer, compare, eval, predict, bench).
func precisionFlag(f *pflag.FlagSet, p *torch.Precision, note string) {
	*p = torch.FP32
	f.StringVar((*string)(p), "precision", string(torch.FP32), withNote("precision", note))
}

// checkPrecision reads --precision into its canonical name and checks
// that dev can run it.
func checkPrecision(p *torch.Precision, dev torch.Device) error {
	v, err := torch.ParsePrecision(string(*p))
	if err != nil {
		return fmt.Errorf("--precision: %w", err)
	}
	if err := v.Check(dev); err != nil {
		return err
	}
	*p = v
	return nil
}

func deviceFlag(f *pflag.FlagSet, p *string) {
	f.StringVar(p, "device", "cpu", withNote("device", ""))
}

// loaderFlag is --workers: goroutines that decode and batch images.
func loaderFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, "workers", 0, withNote("workers", ""))
}

// The split group: how training data is cut and batched.

func batchFlag(f *pflag.FlagSet, p *int) {
	f.IntVar(p, "batch", defaultBatch, withNote("batch", ""))
}

func valSplitFlag(f *pflag.FlagSet, p *float64, note string) {
	f.Float64Var(p, "val-split", defaultValSplit, withNote("val-split", note))
}

func seedFlag(f *pflag.FlagSet, p *uint64, note string) {
	f.Uint64Var(p, "seed", defaultSeed, withNote("seed", note))
}

// engine sets libtorch's thread count and resolves --device, the first
// step of every command that computes.
func engine(threads int, device string) (torch.Device, error) {
	if err := torch.SetNumThreads(max(threads, 1)); err != nil {
		return torch.CPU, err
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return torch.CPU, fmt.Errorf("--device: %w", err)
	}
	return dev, nil
}

// Adaptation is the flag group of the commands that adapt a base to
// target data (compare, transfer, advise): the data, the budget and the
// validation, with one default each.
type Adaptation struct {
	Base, Train, Test, Out string
	Epochs, Patience       int
	LRGrid                 string
	ValSplit               float64
	Batch, Folds           int
	Group                  string
	Engine
}

// defaultGrid is the learning rates compare searches (and advise races).
const defaultGrid = "1e-2,3e-3,1e-3,3e-4"

// adaptationFlags registers the group, each flag with what the command
// adds to its meaning (notes, by flag name); grid is --lr-grid's default.
func adaptationFlags(f *pflag.FlagSet, a *Adaptation, grid string, notes map[string]string) {
	f.StringVar(&a.Base, "base", "", withNote("base", notes["base"]))
	f.StringVar(&a.Train, "train", "", withNote("train", notes["train"]))
	f.StringVar(&a.Test, "test", "", withNote("test", notes["test"]))
	f.StringVar(&a.Out, "out", "", withNote("out", notes["out"]))
	f.IntVar(&a.Epochs, "epochs", 30, withNote("epochs", notes["epochs"]))
	f.IntVar(&a.Patience, "patience", 5, withNote("patience", notes["patience"]))
	f.StringVar(&a.LRGrid, "lr-grid", grid, withNote("lr-grid", notes["lr-grid"]))
	valSplitFlag(f, &a.ValSplit, notes["val-split"])
	batchFlag(f, &a.Batch)
	f.IntVar(&a.Folds, "folds", experiment.DefaultFolds, withNote("folds", notes["folds"]))
	f.StringVar(&a.Group, "group", "auto", withNote("group", notes["group"]))
	engineFlags(f, &a.Engine, false)
	for name := range notes {
		if f.Lookup(name) == nil {
			panic("a note for --" + name + ", which the group lacks") // a programming error, caught by every test
		}
	}
}

// check refuses a budget or split out of range; zeroSplit allows
// --val-split 0 (no validation).
func (a Adaptation) check(zeroSplit bool) error {
	return firstErr(atLeast("--epochs", a.Epochs, 1), atLeast("--batch", a.Batch, 1), atLeast("--patience", a.Patience, 0),
		atLeast("--folds", a.Folds, 1), fraction("--val-split", a.ValSplit, zeroSplit))
}

// Shared validators: the same mistake gets the same message everywhere.

// atLeast refuses an integer flag below min.
func atLeast(flag string, v, min int) error {
	if v < min {
		return fmt.Errorf("%s %d: must be at least %d", flag, v, min)
	}
	return nil
}

// positive refuses a rate or scale that is not above 0.
func positive(flag string, v float64) error {
	if !(v > 0) {
		return fmt.Errorf("%s %g: must be positive", flag, v)
	}
	return nil
}

// fraction refuses a value outside (0,1), or [0,1) when zero (meaning
// none) is allowed.
func fraction(flag string, v float64, zeroOK bool) error {
	if zeroOK && v == 0 {
		return nil
	}
	if !(v > 0 && v < 1) {
		if zeroOK {
			return fmt.Errorf("%s %g: want a fraction in (0,1), e.g. 0.2, or 0 for none", flag, v)
		}
		return fmt.Errorf("%s %g: want a fraction in (0,1), e.g. 0.2", flag, v)
	}
	return nil
}

// firstErr returns the first failed check.
func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// required reports the first empty required flag; pairs are value, flag.
func required(cmd string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			return fmt.Errorf("%s is required (see graft %s --help)", pairs[i+1], cmd)
		}
	}
	return nil
}

// shotsValue is a single --shots value: images per class, or all (0).
type shotsValue struct{ p *int }

func (v shotsValue) String() string {
	if v.p == nil || *v.p == 0 {
		return "all"
	}
	return fmt.Sprint(*v.p)
}

func (v shotsValue) Set(s string) error {
	if strings.TrimSpace(s) == "0" { // 0 meant all before "all" was accepted
		*v.p = 0
		return nil
	}
	n, err := experiment.ParseShots(s)
	if err != nil || len(n) != 1 {
		return fmt.Errorf("expected images per class like 20, or all")
	}
	*v.p = n[0]
	return nil
}

func (shotsValue) Type() string { return "shots" }

// shotsFlag is --shots for commands that take one value (0: all).
func shotsFlag(f *pflag.FlagSet, p *int, note string) {
	f.Var(shotsValue{p}, "shots", withNote("shots", note))
}
