package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// TrainOptions are graft train's flags.
type TrainOptions struct {
	Arch     string  `json:"arch"`
	From     string  `json:"from,omitempty"`
	Train    string  `json:"train"`
	Val      string  `json:"val,omitempty"`
	ValSplit float64 `json:"val_split"`
	Test     string  `json:"test,omitempty"`
	Out      string  `json:"-"`
	Resume   bool    `json:"-"`

	Epochs         int     `json:"epochs"`
	Batch          int     `json:"batch"`
	LR             float64 `json:"lr"`
	Optimizer      string  `json:"optimizer"`
	Momentum       float64 `json:"momentum"`
	Nesterov       bool    `json:"nesterov"`
	WeightDecay    float64 `json:"weight_decay"`
	Schedule       string  `json:"schedule"`
	Warmup         float64 `json:"warmup"`
	Clip           float64 `json:"clip"`
	LabelSmoothing float64 `json:"label_smoothing"`
	Patience       int     `json:"patience"`
	Seed           uint64  `json:"seed"`

	Size     int    `json:"size"`
	Channels int    `json:"channels"`
	Norm     string `json:"norm"`
	Resize   string `json:"resize"`
	Augment  string `json:"augment"`

	Threads      int    `json:"-"`
	Workers      int    `json:"-"`
	Device       string `json:"-"`
	ChannelsLast bool   `json:"channels_last"`

	archSet   bool // --arch given explicitly
	layoutSet bool // --channels-last given explicitly
}

func newTrainCmd(g *globals) *cobra.Command {
	o := TrainOptions{}
	cmd := &cobra.Command{
		Use:   "train --train DATA --out CKPT [flags]",
		Short: "Train a classifier from scratch or from a checkpoint",
		Long: `Train a classifier on an image data set and save it as a checkpoint
(CKPT.safetensors + CKPT.json).

DATA is ` + datasetHelp + `

Without --val, a stratified --val-split of the training set is held out for
validation, early stopping (--patience) and choosing the best epoch.`,
		Example: `  graft train --train fashion-mnist --test fashion-mnist --arch smallcnn --epochs 5 --out fmnist
  graft train --train signs/ --from base.json --lr 1e-4 --epochs 10 --out adapted`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.archSet = cmd.Flags().Changed("arch")
			o.layoutSet = cmd.Flags().Changed("channels-last")
			return runTrain(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Arch, "arch", "smallcnn", "architecture: "+strings.Join(arch.Names(), ", "))
	f.StringVar(&o.From, "from", "", "start from this checkpoint's weights (its classifier is replaced if the classes differ)")
	f.StringVar(&o.Train, "train", "", "training data (required)")
	f.StringVar(&o.Val, "val", "", "validation data (default: a split of --train)")
	f.Float64Var(&o.ValSplit, "val-split", 0.1, "fraction of --train held out for validation when --val is not given (0 = none)")
	f.StringVar(&o.Test, "test", "", "test data, evaluated once at the end")
	f.StringVar(&o.Out, "out", "", "checkpoint to write (required)")
	f.BoolVar(&o.Resume, "resume", false, "continue an interrupted run of the same command from its last epoch")
	f.IntVar(&o.Epochs, "epochs", 10, "maximum number of epochs")
	f.IntVar(&o.Batch, "batch", 64, "batch size")
	f.Float64Var(&o.LR, "lr", 1e-3, "peak learning rate")
	f.StringVar(&o.Optimizer, "optimizer", "adam", "sgd, adam or adamw")
	f.Float64Var(&o.Momentum, "momentum", 0.9, "SGD momentum")
	f.BoolVar(&o.Nesterov, "nesterov", false, "Nesterov momentum (SGD)")
	f.Float64Var(&o.WeightDecay, "weight-decay", 0, "weight decay (L2 for sgd/adam, decoupled for adamw)")
	f.StringVar(&o.Schedule, "schedule", "onecycle", "learning-rate schedule: constant, step, cosine, onecycle")
	f.Float64Var(&o.Warmup, "warmup", 0, "linear warm-up as a fraction of the run (constant, step, cosine)")
	f.Float64Var(&o.Clip, "clip", 0, "clip the global gradient norm to this value (0 = off)")
	f.Float64Var(&o.LabelSmoothing, "label-smoothing", 0, "label smoothing in [0,1)")
	f.IntVar(&o.Patience, "patience", 0, "stop after this many epochs without validation improvement (0 = off)")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed; the same seed repeats a CPU run exactly")
	f.IntVar(&o.Size, "size", 0, "input side in pixels (default: the architecture's, or the checkpoint's)")
	f.IntVar(&o.Channels, "channels", 0, "input channels, 1 or 3 (default: the data's)")
	f.StringVar(&o.Norm, "norm", "", "normalisation: unit, symmetric, imagenet, caffe (default: the architecture's)")
	f.StringVar(&o.Resize, "resize", "stretch", "how images are fitted: stretch, letterbox, crop")
	f.StringVar(&o.Augment, "augment", "none", "augmentation: none or default (mild crops, rotation, colour jitter, blur; no flips)")
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch compute threads")
	f.IntVar(&o.Workers, "workers", 0, "data-loading goroutines (default: one per core)")
	f.StringVar(&o.Device, "device", "cpu", "cpu, cuda or cuda:N")
	f.BoolVar(&o.ChannelsLast, "channels-last", false, "NHWC memory layout for convolutions (default: the architecture's faster layout, see BENCHMARKS.md)")
	return cmd
}

// trainSetup is everything runTrain builds before the loop starts.
type trainSetup struct {
	model      *nn.Model
	classes    []string
	pre        data.Preprocess
	train, val *data.Loader
	cfg        fit.Config
}

func runTrain(ctx context.Context, o TrainOptions, g *globals, stdout, stderr io.Writer) error {
	if o.Train == "" {
		return fmt.Errorf("--train is required: %s", datasetHelp)
	}
	if o.Out == "" {
		return fmt.Errorf("--out is required: the checkpoint to write")
	}
	if err := safefile.CheckDir(filepath.Dir(o.Out)); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	su, err := setupTrain(o, dev)
	if err != nil {
		return err
	}
	defer su.model.Free()

	fp, _ := json.Marshal(o)
	sum := sha256.Sum256(fp)
	resumeBase, _ := checkpoint.Paths(o.Out)
	meta := checkpoint.Meta{Classes: su.classes, Preprocess: su.pre}
	res := &fit.Resumer{
		Path: strings.TrimSuffix(resumeBase, ".safetensors") + ".resume", Meta: meta,
		Fingerprint: hex.EncodeToString(sum[:]), Continue: o.Resume,
	}
	prog := newTrainProgress(stderr, g.quiet)
	if !g.quiet {
		total, trainable := su.model.CountParams()
		fmt.Fprintf(stderr, "training %s (%d params, %d trainable) on %d images, %d classes, %dx%d×%d input, %d threads, %v\n",
			su.model.Arch, total, trainable, su.train.Dataset().Len(), len(su.classes), su.pre.Size, su.pre.Size, su.model.InChannels, torch.NumThreads(), dev)
	}
	result, err := fit.Train(ctx, fit.Run{Model: su.model, Train: su.train, Val: su.val, Config: su.cfg, Events: prog, Resume: res})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	rec, _ := json.Marshal(map[string]any{"options": o, "config": su.cfg, "result": result})
	meta.Training = rec
	if err := checkpoint.Save(o.Out, su.model, meta, nil); err != nil {
		return err
	}
	out := map[string]any{"checkpoint": o.Out, "epochs": result.Epochs, "best_epoch": result.BestEpoch,
		"train_seconds": result.Seconds, "resumed": res.Resumed, "history": result.History}
	if o.Test != "" {
		test, err := openDataset(o.Test, false)
		if err != nil {
			return fmt.Errorf("--test: %w", err)
		}
		ev, err := evaluateOn(ctx, su.model, test, su.pre, su.classes, su.cfg, o.Workers)
		if err != nil {
			return fmt.Errorf("--test %s: %w", o.Test, err)
		}
		out["test_accuracy"] = ev.Confusion.Accuracy()
		out["test_macro_f1"] = ev.Confusion.MacroF1()
		out["test_loss"] = ev.Loss
	}
	if g.json {
		return writeJSON(stdout, out)
	}
	fmt.Fprintf(stdout, "saved %s (%d epochs, best epoch %d, %.1fs)\n", o.Out, result.Epochs, result.BestEpoch, result.Seconds)
	if acc, ok := out["test_accuracy"]; ok {
		fmt.Fprintf(stdout, "test accuracy %.2f%%, macro-F1 %.4f on %s\n", 100*acc.(float64), out["test_macro_f1"], o.Test)
	}
	return nil
}

func setupTrain(o TrainOptions, dev torch.Device) (*trainSetup, error) {
	trainDS, err := openTrainSet(o.Train, o.Workers)
	if err != nil {
		return nil, err
	}
	classes := trainDS.Classes()
	c, _, _, err := nativeShape(trainDS)
	if err != nil {
		return nil, fmt.Errorf("--train %s: %w", o.Train, err)
	}

	var m *nn.Model
	var pre data.Preprocess
	torch.ManualSeed(o.Seed)
	if o.From != "" {
		ck, err := checkpoint.Load(o.From)
		if err != nil {
			return nil, fmt.Errorf("--from: %w", err)
		}
		if o.archSet && o.Arch != ck.Meta.Arch {
			ck.Model.Free()
			return nil, fmt.Errorf("--arch %s conflicts with --from %s, which is a %s: drop --arch to fine-tune it, or drop --from to train a %s from scratch", o.Arch, o.From, ck.Meta.Arch, o.Arch)
		}
		m, pre = ck.Model, ck.Meta.Preprocess
		// The base model's preprocessing travels with it; a pipeline that
		// disagrees is refused before training rather than silently
		// feeding the network inputs unlike those it learnt from.
		if err := preprocessConflict(o, pre, o.From); err != nil {
			m.Free()
			return nil, err
		}
		if o.Size != 0 {
			pre.Size, pre.Height, pre.Width = o.Size, 0, 0
		}
		if m.NumClasses != len(classes) || !slices.Equal(ck.Meta.Classes, classes) {
			if err := m.ResetClassifier(len(classes)); err != nil {
				m.Free()
				return nil, err
			}
		}
	} else {
		spec, err := arch.Lookup(o.Arch)
		if err != nil {
			return nil, fmt.Errorf("--arch: %w", err)
		}
		ch := o.Channels
		if ch == 0 {
			ch = c
		}
		size := o.Size
		if size == 0 {
			size = spec.InputSize
		}
		norm := o.Norm
		if norm == "" {
			norm = spec.Norm
		}
		pre = data.Preprocess{Size: size, Channels: ch, Norm: norm, Resize: o.Resize}
		if m, err = arch.New(o.Arch, arch.Config{NumClasses: len(classes), InChannels: ch}); err != nil {
			return nil, err
		}
	}
	if err := pre.Validate(); err != nil {
		m.Free()
		return nil, fmt.Errorf("preprocessing: %w", err)
	}
	if err := checkInputSize(m, pre); err != nil {
		m.Free()
		return nil, err
	}

	aug, err := parseAugment(o.Augment)
	if err != nil {
		m.Free()
		return nil, err
	}

	var valDS data.Dataset
	switch {
	case o.Val != "":
		if valDS, err = openDataset(o.Val, false); err != nil {
			m.Free()
			return nil, fmt.Errorf("--val: %w", err)
		}
		if err := sameClasses(classes, valDS.Classes(), "--val "+o.Val); err != nil {
			m.Free()
			return nil, err
		}
	case o.ValSplit > 0:
		if o.ValSplit >= 1 {
			m.Free()
			return nil, fmt.Errorf("--val-split must be in [0,1), got %v", o.ValSplit)
		}
		tr, va, err := data.StratifiedSplit(trainDS, o.ValSplit, o.Seed)
		if err != nil {
			m.Free()
			return nil, fmt.Errorf("--val-split: %w", err)
		}
		trainDS, valDS = tr, va
	}

	if !o.layoutSet {
		o.ChannelsLast = dev == torch.CPU && arch.PrefersChannelsLast(m.Arch)
	}
	cfg := fit.Config{
		Epochs: o.Epochs, BatchSize: o.Batch, Seed: o.Seed, Patience: o.Patience,
		Optimizer: optim.Config{Name: o.Optimizer, LR: o.LR, Momentum: o.Momentum, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay},
		Schedule:  optim.Schedule{Name: o.Schedule, Warmup: o.Warmup},
		ClipNorm:  o.Clip, LabelSmoothing: o.LabelSmoothing, ChannelsLast: o.ChannelsLast, Device: dev,
	}
	if o.Optimizer != "sgd" {
		cfg.Optimizer.Momentum, cfg.Optimizer.Nesterov = 0, false
	}
	if err := cfg.WithDefaults().Validate(); err != nil {
		m.Free()
		return nil, err
	}
	trainL, err := data.NewLoader(trainDS, data.LoaderConfig{
		BatchSize: o.Batch, Shuffle: true, DropLast: trainDS.Len() > o.Batch, Seed: o.Seed,
		Workers: o.Workers, Preprocess: pre, Augment: aug, CacheDecoded: fitsInCache(trainDS.Len(), pre),
	})
	if err != nil {
		m.Free()
		return nil, fmt.Errorf("--train: %w", err)
	}
	su := &trainSetup{model: m, classes: classes, pre: pre, train: trainL, cfg: cfg}
	if valDS != nil {
		if su.val, err = data.NewLoader(valDS, data.LoaderConfig{BatchSize: o.Batch, Workers: o.Workers, Preprocess: pre,
			CacheDecoded: fitsInCache(valDS.Len(), pre)}); err != nil {
			m.Free()
			return nil, fmt.Errorf("--val: %w", err)
		}
	}
	return su, nil
}

// fitsInCache decides whether decoded images are kept in memory: up to
// 2 GiB, which small and few-shot sets always fit.
func fitsInCache(n int, p data.Preprocess) bool {
	side := p.Size
	if side == 0 {
		side = max(p.Height, p.Width)
	}
	ch := max(p.Channels, 3)
	return int64(n)*int64(ch*side*side*4) < 2<<30
}

// checkInputSize rejects inputs the network would shrink to nothing.
func checkInputSize(m *nn.Model, p data.Preprocess) error {
	side := p.Size
	if side == 0 {
		side = min(p.Height, p.Width)
	}
	if side == 0 {
		return nil
	}
	red := 1
	for _, s := range m.Stages[:len(m.Stages)-1] {
		red = max(red, s.Reduction)
	}
	if side < red {
		return fmt.Errorf("input size %d px is too small for %s, which downsamples by %d: use --size %d or more", side, m.Arch, red, red)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// evaluateOn scores a model on a data set with the model's preprocessing.
func evaluateOn(ctx context.Context, m *nn.Model, ds data.Dataset, pre data.Preprocess, classes []string, cfg fit.Config, workers int) (*fit.Evaluation, error) {
	if err := sameClasses(classes, ds.Classes(), "the evaluation set"); err != nil {
		return nil, err
	}
	l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: max(cfg.BatchSize, 64), Workers: workers, Preprocess: pre})
	if err != nil {
		return nil, err
	}
	return fit.Evaluate(ctx, m, l, cfg)
}

// preprocessConflict reports flags that contradict a base checkpoint's
// preprocessing: normalisation and channels must match what its weights
// learnt from; a different size is allowed (convolutions do not care, and
// --size says it on purpose).
func preprocessConflict(o TrainOptions, pre data.Preprocess, from string) error {
	if o.Norm != "" && o.Norm != pre.Norm && len(pre.Mean) == 0 {
		return fmt.Errorf("--norm %s disagrees with --from %s, whose weights expect %q normalisation: drop --norm (graft applies the base model's preprocessing)", o.Norm, from, pre.Norm)
	}
	if o.Channels != 0 && pre.Channels != 0 && o.Channels != pre.Channels {
		return fmt.Errorf("--channels %d disagrees with --from %s, which takes %d-channel input: drop --channels (grey images are repeated to RGB, RGB turned grey, as the base needs)", o.Channels, from, pre.Channels)
	}
	return nil
}
