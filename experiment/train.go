package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// TrainOptions are the settings of one classifier training (graft train):
// a fresh architecture or a checkpoint's weights, a validation split that
// chooses the length and, on a small set, a second training on every
// image ("select, then refit"). Their JSON is the checkpoint's training
// record and the fingerprint a resume must match, so a field's name and
// place are part of both.
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
	// Precision is the forward arithmetic (torch.Precision); weights and
	// the checkpoint stay float32. Empty is fp32.
	Precision torch.Precision `json:"precision,omitempty"`

	ArchSet   bool `json:"-"` // Arch was chosen, not defaulted: it must agree with From
	LayoutSet bool `json:"-"` // ChannelsLast was chosen, not defaulted
}

// TrainOptions.Refit values.
const (
	RefitAuto   = "auto"
	RefitAlways = "always"
	RefitNever  = "never"
)

// RefitMaxImages is the largest training set RefitAuto retrains on every
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

// Validate checks Refit against the validation settings (an empty Refit
// is RefitAuto).
func (o TrainOptions) Validate() error {
	switch o.Refit {
	case "", RefitAuto, RefitNever:
		return nil
	case RefitAlways:
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
	case o.Refit == RefitNever:
		return false, "--refit never: the best validation epoch's weights are kept"
	case o.Val != "":
		return false, "--val given: the training set is already all trained on"
	case o.ValSplit <= 0:
		return false, "no validation split: every image is trained on"
	case o.Refit == RefitAlways:
		return true, "--refit always"
	case images > RefitMaxImages:
		return false, fmt.Sprintf("%s images, more than %s (--refit auto): the best validation epoch's weights are kept", Thousands(images), Thousands(RefitMaxImages))
	}
	return true, fmt.Sprintf("%s images, at most %s (--refit auto)", Thousands(images), Thousands(RefitMaxImages))
}

// TrainRefit is what the checkpoint's training record says about refitting.
type TrainRefit struct {
	Mode   string `json:"mode"`  // TrainOptions.Refit
	Refit  bool   `json:"refit"` // the saved model was retrained on every image
	Reason string `json:"reason"`
	// Images the saved model trained on.
	Images int `json:"images"`
	// Epochs of the refit: Selection.Epochs.
	Epochs    int             `json:"epochs,omitempty"`
	Selection *TrainSelection `json:"selection,omitempty"`
}

// TrainSelection is the first stage of a refit: training on the split
// that chose the epoch count.
type TrainSelection struct {
	TrainImages int `json:"train_images"`
	ValImages   int `json:"val_images"`
	// Epochs is the chosen length: the best validation accuracy averaged
	// over Smoothing epochs; ValAcc is that average.
	Epochs    int     `json:"epochs"`
	ValAcc    float64 `json:"val_accuracy"`
	Smoothing int     `json:"smoothing"`
	// BestEpoch is the best single epoch, which RefitNever would keep.
	BestEpoch int              `json:"best_epoch"`
	EpochsRun int              `json:"epochs_run"`
	Seconds   float64          `json:"train_seconds"`
	History   []fit.EpochStats `json:"history"`
}

// Plural writes "1 epoch", "2 epochs".
func Plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Thousands writes n with comma separators: 1,070.
func Thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + Thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// selectionState is a finished selection stage, kept on disk until the
// refit is saved so that a resume can skip straight to the refit.
type selectionState struct {
	Fingerprint string         `json:"fingerprint"`
	Reason      string         `json:"reason"`
	Selection   TrainSelection `json:"selection"`
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

// TrainHooks are where a training runs and what it tells on the way; every
// field may be left zero.
type TrainHooks struct {
	Device torch.Device
	Events fit.Events
	// Say receives the lines a terminal shows: the refit decision and what
	// each training trains on.
	Say func(format string, a ...any)
	// Opened sees the training data once it is open, before any split.
	Opened func(train data.Dataset)
}

// Trained is a finished training, saved at TrainOptions.Out. The caller
// frees Model.
type Trained struct {
	Model      *nn.Model
	Classes    []string
	Preprocess data.Preprocess
	Config     fit.Config
	// Result is the saved model's training: the refit's when it refit.
	Result  *fit.Result
	Refit   TrainRefit
	Resumed bool // a stage continued from an interrupted run
}

// Train trains a classifier as o says and saves it at o.Out, with its
// training record. With a refit it is two resumable stages: the selection
// (OUT.resume), whose outcome OUT.resume-selection.json keeps, then the
// training on every image (OUT.resume-refit); o.Resume continues
// whichever was cut off.
func Train(ctx context.Context, o TrainOptions, h TrainHooks) (tr *Trained, err error) {
	if o.Refit == "" {
		o.Refit = RefitAuto
	}
	if h.Say == nil {
		h.Say = func(string, ...any) {}
	}
	fp, _ := json.Marshal(o)
	sum := sha256.Sum256(fp)
	fingerprint := hex.EncodeToString(sum[:])
	resumeBase, _ := checkpoint.Paths(o.Out)
	resumeBase = strings.TrimSuffix(resumeBase, ".safetensors")
	selPath := resumeBase + ".resume-selection.json"
	announce := func(su *trainSetup) {
		total, trainable := su.model.CountParams()
		h.Say("training %s (%d params, %d trainable) on %d images, %d classes, %dx%d×%d input, %d threads, %v\n",
			su.model.Arch, total, trainable, su.train.Dataset().Len(), len(su.classes), su.pre.Size, su.pre.Size, su.model.InChannels, torch.NumThreads(), h.Device)
	}
	train := func(su *trainSetup, res *fit.Resumer) (*fit.Result, error) {
		result, err := fit.Train(ctx, fit.Run{Model: su.model, Train: su.train, Val: su.val, Config: su.cfg, Events: h.Events, Resume: res})
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return result, err
	}

	rr := TrainRefit{Mode: o.Refit}
	var sel *TrainSelection
	if o.Resume {
		st, err := readSelection(selPath, fingerprint)
		if err != nil {
			return nil, err
		}
		if st != nil {
			sel, rr.Refit, rr.Reason = &st.Selection, true, st.Reason
		}
	}
	var su *trainSetup
	defer func() {
		if su != nil && err != nil {
			su.model.Free()
		}
	}()
	var result *fit.Result
	resumed := sel != nil
	if sel == nil {
		if su, err = setupTrain(o, h.Device); err != nil {
			return nil, err
		}
		rr.Refit, rr.Reason = o.refitDecision(su.images)
		if h.Opened != nil {
			h.Opened(su.train.Dataset())
		}
		if rr.Refit {
			h.Say("refit: choosing the epoch count on a %.0f%% validation split (%s of %s images), then retraining on all of them\n",
				100*o.ValSplit, Thousands(su.val.Dataset().Len()), Thousands(su.images))
		} else if o.Refit == RefitAuto && o.Val == "" && o.ValSplit > 0 {
			h.Say("refit: off, %s\n", rr.Reason)
		}
		announce(su)
		res := &fit.Resumer{Path: resumeBase + ".resume", Store: onnx.Checkpoints, Meta: checkpoint.Meta{Classes: su.classes, Preprocess: su.pre},
			Fingerprint: fingerprint, Continue: o.Resume}
		if result, err = train(su, res); err != nil {
			return nil, err
		}
		resumed = res.Resumed
		if rr.Refit {
			epochs, acc := ChooseEpochs(result.History, RefitSmoothing, su.val.Dataset().Len())
			sel = &TrainSelection{TrainImages: su.train.Dataset().Len(), ValImages: su.val.Dataset().Len(),
				Epochs: epochs, ValAcc: acc, Smoothing: RefitSmoothing, BestEpoch: result.BestEpoch,
				EpochsRun: result.Epochs, Seconds: result.Seconds, History: result.History}
			su.model.Free()
			su = nil
			b, _ := json.Marshal(selectionState{Fingerprint: fingerprint, Reason: rr.Reason, Selection: *sel})
			if err := safefile.WriteBytes(selPath, b); err != nil {
				return nil, fmt.Errorf("save the refit's selection: %w", err)
			}
		}
	}
	if sel != nil {
		if sel.Epochs < 1 {
			return nil, fmt.Errorf("refit: the selection stage recorded no validation accuracy to choose an epoch count from; use --refit never")
		}
		ro := o
		ro.ValSplit, ro.Epochs, ro.Patience = 0, sel.Epochs, 0
		if su, err = setupTrain(ro, h.Device); err != nil {
			return nil, err
		}
		h.Say("refit: %s chosen on validation, retraining on all %s images\n", Plural(sel.Epochs, "epoch"), Thousands(su.images))
		announce(su)
		rsum := sha256.Sum256(fmt.Appendf(nil, "%s refit %d", fingerprint, sel.Epochs))
		res := &fit.Resumer{Path: resumeBase + ".resume-refit", Store: onnx.Checkpoints, Meta: checkpoint.Meta{Classes: su.classes, Preprocess: su.pre},
			Fingerprint: hex.EncodeToString(rsum[:]), Continue: o.Resume}
		if result, err = train(su, res); err != nil {
			return nil, err
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
		return nil, err
	}
	os.Remove(selPath)
	return &Trained{Model: su.model, Classes: su.classes, Preprocess: su.pre, Config: su.cfg, Result: result, Refit: rr, Resumed: resumed}, nil
}

// trainSetup is everything Train builds before the loop starts.
type trainSetup struct {
	model      *nn.Model
	classes    []string
	pre        data.Preprocess
	train, val *data.Loader
	cfg        fit.Config
	images     int // the training set's images, before any validation split
}

func setupTrain(o TrainOptions, dev torch.Device) (su *trainSetup, err error) {
	trainDS, err := data.OpenTraining(o.Train, o.Workers)
	if err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	classes, images := trainDS.Classes(), trainDS.Len()
	c, _, _, err := data.NativeShape(trainDS)
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
	if err := CheckInputSize(m, pre); err != nil {
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
		if valDS, err = data.Open(o.Val, data.TestPart); err != nil {
			return nil, fmt.Errorf("--val: %w", err)
		}
		if err := data.SameClasses(classes, valDS.Classes(), "--val "+o.Val); err != nil {
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

	if !o.LayoutSet {
		o.ChannelsLast = dev == torch.CPU && arch.PrefersChannelsLast(m.Arch)
	}
	cfg := fit.Config{
		Epochs: o.Epochs, BatchSize: o.Batch, Seed: o.Seed, Patience: o.Patience,
		Optimizer: optim.Config{Name: o.Optimizer, LR: o.LR, Momentum: o.Momentum, Nesterov: o.Nesterov, WeightDecay: o.WeightDecay},
		Schedule:  optim.Schedule{Name: o.Schedule, Warmup: o.Warmup},
		ClipNorm:  o.Clip, LabelSmoothing: o.LabelSmoothing, ChannelsLast: o.ChannelsLast, Device: dev,
		Precision: o.Precision,
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

// trainModel is the model Train starts from: From's checkpoint (with a
// new head when the classes differ) or a fresh Arch, with the
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
		if o.ArchSet && o.Arch != ck.Meta.Arch {
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

// CheckInputSize rejects inputs the network would shrink to nothing.
func CheckInputSize(m *nn.Model, p data.Preprocess) error {
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

// preprocessConflict reports settings that contradict a base checkpoint's
// preprocessing: normalisation and channels must match what its weights
// learnt from; a different size is allowed (convolutions do not care, and
// Size says it on purpose).
func preprocessConflict(o TrainOptions, pre data.Preprocess, from string) error {
	if o.Norm != "" && o.Norm != pre.Norm && len(pre.Mean) == 0 {
		return fmt.Errorf("--norm %s disagrees with --from %s, whose weights expect %q normalisation: drop --norm (graft applies the base model's preprocessing)", o.Norm, from, pre.Norm)
	}
	if o.Channels != 0 && pre.Channels != 0 && o.Channels != pre.Channels {
		return fmt.Errorf("--channels %d disagrees with --from %s, which takes %d-channel input: drop --channels (grey images are repeated to RGB, RGB turned grey, as the base needs)", o.Channels, from, pre.Channels)
	}
	return nil
}
