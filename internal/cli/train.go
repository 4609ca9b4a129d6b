package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/onnx"
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
	Refit    string  `json:"refit"`
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

DATA is ` + data.SpecHelp + `

Without --val, a stratified --val-split of the training set is held out for
validation and early stopping (--patience). On a small set (--refit auto: up
to 10,000 images) that split only chooses the training length: the epoch
with the best validation accuracy, averaged over 5 epochs; a fresh model
(same seed and settings) is then trained on every image for that many
epochs, and that model is saved ("select, then refit"). Otherwise — --val
given, a larger set, or --refit never — the best validation epoch's weights
are kept.`,
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
	f.StringVar(&o.Train, "train", "", withNote("train", ""))
	f.StringVar(&o.Val, "val", "", "validation data (default: a split of --train)")
	valSplitFlag(f, &o.ValSplit, "when --val is not given (0 = none)")
	f.StringVar(&o.Refit, "refit", refitAuto, "after choosing the epoch count on --val-split, retrain on every image: auto (sets up to 10,000 images), always or never")
	f.StringVar(&o.Test, "test", "", withNote("test", "evaluated once at the end"))
	f.StringVar(&o.Out, "out", "", withNote("out", "the checkpoint to write (required)"))
	f.BoolVar(&o.Resume, "resume", false, "continue an interrupted run of the same command from its last epoch")
	f.IntVar(&o.Epochs, "epochs", 10, withNote("epochs", ""))
	batchFlag(f, &o.Batch)
	f.Float64Var(&o.LR, "lr", 1e-3, withNote("lr", "the peak of --schedule"))
	f.StringVar(&o.Optimizer, "optimizer", "adam", withNote("optimizer", ""))
	f.Float64Var(&o.Momentum, "momentum", 0.9, withNote("momentum", ""))
	f.BoolVar(&o.Nesterov, "nesterov", false, "Nesterov momentum (SGD)")
	f.Float64Var(&o.WeightDecay, "weight-decay", 0, withNote("weight-decay", ""))
	f.StringVar(&o.Schedule, "schedule", "onecycle", "learning-rate schedule: constant, step, cosine, onecycle")
	f.Float64Var(&o.Warmup, "warmup", 0, "linear warm-up as a fraction of the run (constant, step, cosine)")
	f.Float64Var(&o.Clip, "clip", 0, "clip the global gradient norm to this value (0 = off)")
	f.Float64Var(&o.LabelSmoothing, "label-smoothing", 0, "label smoothing in [0,1)")
	f.IntVar(&o.Patience, "patience", 0, withNote("patience", "0 = off"))
	seedFlag(f, &o.Seed, "")
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the model's input (default: the architecture's, or the checkpoint's)"))
	f.IntVar(&o.Channels, "channels", 0, "input channels, 1 or 3 (default: the data's)")
	f.StringVar(&o.Norm, "norm", "", withNote("norm", "default: the architecture's"))
	f.StringVar(&o.Resize, "resize", "stretch", "how images are fitted: stretch, letterbox, crop")
	f.StringVar(&o.Augment, "augment", "none", withNote("augment", ""))
	threadsFlag(f, &o.Threads)
	loaderFlag(f, &o.Workers)
	deviceFlag(f, &o.Device)
	f.BoolVar(&o.ChannelsLast, "channels-last", false, withNote("channels-last", ""))
	return cmd
}

// trainSetup is everything runTrain builds before the loop starts.
type trainSetup struct {
	model      *nn.Model
	classes    []string
	pre        data.Preprocess
	train, val *data.Loader
	cfg        fit.Config
	images     int // --train's images, before any validation split
}

// --refit values.
const (
	refitAuto   = "auto"
	refitAlways = "always"
	refitNever  = "never"
)

// RefitMaxImages is the largest training set --refit auto retrains on every
// image. Up to here the held-out fifth is at most 2,000 images, which a
// small set cannot spare (a class of 20 images loses 4 of them), and a
// second training on so few images is cheap. Beyond it the split takes
// little from what the model learns, while a second training doubles a
// long run. graft compare and VTAB-1k refit for the same reason.
const RefitMaxImages = 10_000

// RefitSmoothing is the width, in epochs, of the moving average of
// validation accuracy that chooses the refit's length: one epoch's accuracy
// on a hundred validation images moves by points from noise alone, and the
// length should follow the curve, not its luckiest epoch.
const RefitSmoothing = 5

// checkRefit validates --refit against the validation flags.
func (o TrainOptions) checkRefit() error {
	switch o.Refit {
	case refitAuto, refitNever:
		return nil
	case refitAlways:
		if o.Val != "" {
			return fmt.Errorf("--refit always retrains on the images --val-split holds out, but with --val %s none are held out: drop --val, or use --refit never", o.Val)
		}
		if o.ValSplit <= 0 {
			return fmt.Errorf("--refit always chooses the epoch count on a validation split, but --val-split is 0: set --val-split, e.g. 0.2, or use --refit never")
		}
		return nil
	}
	return fmt.Errorf("--refit %q: choose auto, always or never", o.Refit)
}

// refitDecision says whether a run on images training images refits, and
// why (for the record and the terminal).
func (o TrainOptions) refitDecision(images int) (bool, string) {
	switch {
	case o.Refit == refitNever:
		return false, "--refit never: the best validation epoch's weights are kept"
	case o.Val != "":
		return false, "--val given: the training set is already all trained on"
	case o.ValSplit <= 0:
		return false, "no validation split: every image is trained on"
	case o.Refit == refitAlways:
		return true, "--refit always"
	case images > RefitMaxImages:
		return false, fmt.Sprintf("%s images, more than %s (--refit auto): the best validation epoch's weights are kept", thousands(images), thousands(RefitMaxImages))
	}
	return true, fmt.Sprintf("%s images, at most %s (--refit auto)", thousands(images), thousands(RefitMaxImages))
}

// refitRecord is what the checkpoint's training record says about refitting.
type refitRecord struct {
	Mode   string `json:"mode"`  // --refit
	Refit  bool   `json:"refit"` // the saved model was retrained on every image
	Reason string `json:"reason"`
	// Images the saved model trained on.
	Images int `json:"images"`
	// Epochs of the refit: Selection.Epochs.
	Epochs    int             `json:"epochs,omitempty"`
	Selection *refitSelection `json:"selection,omitempty"`
}

// refitSelection is the first stage of a refit: training on the split
// that chose the epoch count.
type refitSelection struct {
	TrainImages int `json:"train_images"`
	ValImages   int `json:"val_images"`
	// Epochs is the chosen length: the best validation accuracy averaged
	// over Smoothing epochs; ValAcc is that average.
	Epochs    int     `json:"epochs"`
	ValAcc    float64 `json:"val_accuracy"`
	Smoothing int     `json:"smoothing"`
	// BestEpoch is the best single epoch, which --refit never would keep.
	BestEpoch int              `json:"best_epoch"`
	EpochsRun int              `json:"epochs_run"`
	Seconds   float64          `json:"train_seconds"`
	History   []fit.EpochStats `json:"history"`
}

// plural writes "1 epoch", "2 epochs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// thousands writes n with comma separators: 1,070.
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// selectionState is a finished selection stage, kept on disk until the
// refit is saved so that --resume can skip straight to the refit.
type selectionState struct {
	Fingerprint string         `json:"fingerprint"`
	Reason      string         `json:"reason"`
	Selection   refitSelection `json:"selection"`
}

// readSelection reads the state a selection stage left at path; nil when
// there is none.
func readSelection(path, fingerprint string) (*selectionState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st selectionState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %v; rerun without --resume to start over", path, err)
	}
	if st.Fingerprint != fingerprint {
		return nil, fmt.Errorf("%s was saved by a run with other settings or data; rerun without --resume to start over, or repeat the original command", path)
	}
	return &st, nil
}

func runTrain(ctx context.Context, o TrainOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("train", o.Train, "--train", o.Out, "--out"); err != nil {
		return err
	}
	if err := firstErr(atLeast("--epochs", o.Epochs, 1), atLeast("--batch", o.Batch, 1), fraction("--val-split", o.ValSplit, true),
		positive("--lr", o.LR), atLeast("--patience", o.Patience, 0)); err != nil {
		return err
	}
	if err := safefile.CheckDir(filepath.Dir(o.Out)); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	if o.Refit == "" {
		o.Refit = refitAuto
	}
	if err := o.checkRefit(); err != nil {
		return err
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	fp, _ := json.Marshal(o)
	sum := sha256.Sum256(fp)
	fingerprint := hex.EncodeToString(sum[:])
	resumeBase, _ := checkpoint.Paths(o.Out)
	resumeBase = strings.TrimSuffix(resumeBase, ".safetensors")
	// A refit is two resumable stages: the selection (CKPT.resume), whose
	// outcome CKPT.resume-selection.json keeps, then the training on every
	// image (CKPT.resume-refit). --resume continues whichever was cut off.
	selPath := resumeBase + ".resume-selection.json"
	prog := newTrainProgress(stderr, g.quiet)
	say := func(format string, a ...any) {
		if !g.quiet {
			fmt.Fprintf(stderr, format, a...)
		}
	}
	announce := func(su *trainSetup) {
		total, trainable := su.model.CountParams()
		say("training %s (%d params, %d trainable) on %d images, %d classes, %dx%d×%d input, %d threads, %v\n",
			su.model.Arch, total, trainable, su.train.Dataset().Len(), len(su.classes), su.pre.Size, su.pre.Size, su.model.InChannels, torch.NumThreads(), dev)
	}
	train := func(su *trainSetup, res *fit.Resumer) (*fit.Result, error) {
		result, err := fit.Train(ctx, fit.Run{Model: su.model, Train: su.train, Val: su.val, Config: su.cfg, Events: prog, Resume: res})
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return result, err
	}

	rr := refitRecord{Mode: o.Refit}
	var sel *refitSelection
	if o.Resume {
		st, err := readSelection(selPath, fingerprint)
		if err != nil {
			return err
		}
		if st != nil {
			sel, rr.Refit, rr.Reason = &st.Selection, true, st.Reason
		}
	}
	var su *trainSetup
	defer func() {
		if su != nil {
			su.model.Free()
		}
	}()
	var result *fit.Result
	resumed := sel != nil
	if sel == nil {
		if su, err = setupTrain(o, dev); err != nil {
			return err
		}
		rr.Refit, rr.Reason = o.refitDecision(su.images)
		noteGaps(stderr, g.quiet, "--train", su.train.Dataset())
		if rr.Refit {
			say("refit: choosing the epoch count on a %.0f%% validation split (%s of %s images), then retraining on all of them\n",
				100*o.ValSplit, thousands(su.val.Dataset().Len()), thousands(su.images))
		} else if o.Refit == refitAuto && o.Val == "" && o.ValSplit > 0 {
			say("refit: off, %s\n", rr.Reason)
		}
		announce(su)
		res := &fit.Resumer{Path: resumeBase + ".resume", Store: onnx.Checkpoints, Meta: checkpoint.Meta{Classes: su.classes, Preprocess: su.pre},
			Fingerprint: fingerprint, Continue: o.Resume}
		if result, err = train(su, res); err != nil {
			return err
		}
		resumed = res.Resumed
		if rr.Refit {
			epochs, acc := experiment.ChooseEpochs(result.History, RefitSmoothing, su.val.Dataset().Len())
			sel = &refitSelection{TrainImages: su.train.Dataset().Len(), ValImages: su.val.Dataset().Len(),
				Epochs: epochs, ValAcc: acc, Smoothing: RefitSmoothing, BestEpoch: result.BestEpoch,
				EpochsRun: result.Epochs, Seconds: result.Seconds, History: result.History}
			su.model.Free()
			su = nil
			b, _ := json.Marshal(selectionState{Fingerprint: fingerprint, Reason: rr.Reason, Selection: *sel})
			if err := safefile.WriteBytes(selPath, b); err != nil {
				return fmt.Errorf("save the refit's selection: %w", err)
			}
		}
	}
	if sel != nil {
		if sel.Epochs < 1 {
			return fmt.Errorf("refit: the selection stage recorded no validation accuracy to choose an epoch count from; use --refit never")
		}
		ro := o
		ro.ValSplit, ro.Epochs, ro.Patience = 0, sel.Epochs, 0
		if su, err = setupTrain(ro, dev); err != nil {
			return err
		}
		say("refit: %s chosen on validation, retraining on all %s images\n", plural(sel.Epochs, "epoch"), thousands(su.images))
		announce(su)
		rsum := sha256.Sum256(fmt.Appendf(nil, "%s refit %d", fingerprint, sel.Epochs))
		res := &fit.Resumer{Path: resumeBase + ".resume-refit", Store: onnx.Checkpoints, Meta: checkpoint.Meta{Classes: su.classes, Preprocess: su.pre},
			Fingerprint: hex.EncodeToString(rsum[:]), Continue: o.Resume}
		if result, err = train(su, res); err != nil {
			return err
		}
		resumed = resumed || res.Resumed
		rr.Images, rr.Epochs, rr.Selection = su.images, sel.Epochs, sel
	} else {
		rr.Images = su.train.Dataset().Len()
	}

	meta := checkpoint.Meta{Classes: su.classes, Preprocess: su.pre}
	rec, _ := json.Marshal(map[string]any{"options": o, "config": su.cfg, "result": result, "refit": rr})
	meta.Training = rec
	if err := onnx.Checkpoints.Save(o.Out, su.model, meta, nil); err != nil {
		return err
	}
	os.Remove(selPath)
	out := map[string]any{"checkpoint": o.Out, "epochs": result.Epochs, "best_epoch": result.BestEpoch,
		"train_seconds": result.Seconds, "resumed": resumed, "history": result.History, "refit": rr}
	if o.Test != "" {
		test, err := data.Open(o.Test, data.TestPart)
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
	if rr.Selection != nil {
		fmt.Fprintf(stdout, "saved %s (refit on all %s images for %s chosen on validation; %.1fs + %.1fs)\n",
			o.Out, thousands(rr.Images), plural(rr.Epochs, "epoch"), rr.Selection.Seconds, result.Seconds)
	} else {
		fmt.Fprintf(stdout, "saved %s (%d epochs, best epoch %d, %.1fs)\n", o.Out, result.Epochs, result.BestEpoch, result.Seconds)
	}
	if acc, ok := out["test_accuracy"]; ok {
		fmt.Fprintf(stdout, "test accuracy %.2f%%, macro-F1 %.4f on %s\n", 100*acc.(float64), out["test_macro_f1"], o.Test)
	}
	return nil
}

func setupTrain(o TrainOptions, dev torch.Device) (su *trainSetup, err error) {
	trainDS, err := openTrainSet(o.Train, o.Workers)
	if err != nil {
		return nil, err
	}
	classes, images := trainDS.Classes(), trainDS.Len()
	c, _, _, err := nativeShape(trainDS)
	if err != nil {
		return nil, fmt.Errorf("--train %s: %w", o.Train, err)
	}

	m, pre, err := trainModel(o, classes, c)
	if err != nil {
		return nil, err
	}
	// Every later failure frees the model here, once.
	defer func() {
		if err != nil {
			m.Free()
		}
	}()
	if err := pre.Validate(); err != nil {
		return nil, fmt.Errorf("preprocessing: %w", err)
	}
	if err := checkInputSize(m, pre); err != nil {
		return nil, err
	}

	if o.Augment == "" {
		o.Augment = "none"
	}
	aug, err := data.AugmentPreset(o.Augment)
	if err != nil {
		return nil, fmt.Errorf("--augment: %w", err)
	}

	var valDS data.Dataset
	switch {
	case o.Val != "":
		if valDS, err = openDataset(o.Val, false); err != nil {
			return nil, fmt.Errorf("--val: %w", err)
		}
		if err := sameClasses(classes, valDS.Classes(), "--val "+o.Val); err != nil {
			return nil, err
		}
	case o.ValSplit > 0:
		if o.ValSplit >= 1 {
			return nil, fmt.Errorf("--val-split must be in [0,1), got %v", o.ValSplit)
		}
		tr, va, err := data.StratifiedSplit(trainDS, o.ValSplit, o.Seed)
		if err != nil {
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
		return nil, err
	}
	trainL, err := data.NewLoader(trainDS, data.LoaderConfig{
		BatchSize: o.Batch, Shuffle: true, DropLast: trainDS.Len() > o.Batch, Seed: o.Seed,
		Workers: o.Workers, Preprocess: pre, Augment: aug, CacheDecoded: fitsInCache(trainDS.Len(), pre),
	})
	if err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	su = &trainSetup{model: m, classes: classes, pre: pre, train: trainL, cfg: cfg, images: images}
	if valDS != nil {
		if su.val, err = data.NewLoader(valDS, data.LoaderConfig{BatchSize: o.Batch, Workers: o.Workers, Preprocess: pre,
			CacheDecoded: fitsInCache(valDS.Len(), pre)}); err != nil {
			return nil, fmt.Errorf("--val: %w", err)
		}
	}
	return su, nil
}

// trainModel is the model train starts from: --from's checkpoint (with a
// new head when the classes differ) or a fresh --arch, with the
// preprocessing it takes.
func trainModel(o TrainOptions, classes []string, channels int) (*nn.Model, data.Preprocess, error) {
	torch.ManualSeed(o.Seed)
	if o.From != "" {
		ck, err := onnx.Checkpoints.Load(o.From)
		if err != nil {
			return nil, data.Preprocess{}, fmt.Errorf("--from: %w", err)
		}
		m, pre := ck.Model, ck.Meta.Preprocess
		fail := func(err error) (*nn.Model, data.Preprocess, error) {
			m.Free()
			return nil, data.Preprocess{}, err
		}
		if o.archSet && o.Arch != ck.Meta.Arch {
			return fail(fmt.Errorf("--arch %s conflicts with --from %s, which is a %s: drop --arch to fine-tune it, or drop --from to train a %s from scratch", o.Arch, o.From, ck.Meta.Arch, o.Arch))
		}
		// The base model's preprocessing travels with it; a pipeline that
		// disagrees is refused before training rather than silently
		// feeding the network inputs unlike those it learnt from.
		if err := preprocessConflict(o, pre, o.From); err != nil {
			return fail(err)
		}
		if o.Size != 0 {
			pre.Size, pre.Height, pre.Width = o.Size, 0, 0
		}
		if m.NumClasses != len(classes) || !slices.Equal(ck.Meta.Classes, classes) {
			if err := m.ResetClassifier(len(classes)); err != nil {
				return fail(err)
			}
		}
		return m, pre, nil
	}
	spec, err := arch.Lookup(o.Arch)
	if err != nil {
		return nil, data.Preprocess{}, fmt.Errorf("--arch: %w", err)
	}
	ch := o.Channels
	if ch == 0 {
		ch = channels
	}
	size := o.Size
	if size == 0 {
		size = spec.InputSize
	}
	norm := o.Norm
	if norm == "" {
		norm = spec.Norm
	}
	pre := data.Preprocess{Size: size, Channels: ch, Norm: norm, Resize: o.Resize}
	m, err := arch.New(o.Arch, arch.Config{NumClasses: len(classes), InChannels: ch})
	if err != nil {
		return nil, pre, err
	}
	return m, pre, nil
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
