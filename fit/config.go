// Package fit trains graft models. It executes a plan of phases — which
// stages train, at which learning rate, with BatchNorm in which mode — and
// owns the things every run needs: the step loop, validation, early
// stopping, divergence detection, resumable checkpoints and progress events.
package fit

import (
	"fmt"
	"math"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// Config is one training run's settings. Zero values take the documented
// defaults; Validate names any bad field.
type Config struct {
	// Epochs is the maximum number of epochs over all phases when Phases
	// is empty (a single phase training every stage).
	Epochs int `json:"epochs"`
	// BatchSize for training and evaluation; default 64.
	BatchSize int `json:"batch_size"`
	// Optimizer; default Adam at 1e-3.
	Optimizer optim.Config `json:"optimizer"`
	// Schedule of the learning rate within each phase; default one-cycle,
	// fastai's default for training CNNs.
	Schedule optim.Schedule `json:"schedule"`
	// ClipNorm rescales gradients whose global L2 norm exceeds it (0 = off).
	ClipNorm float64 `json:"clip_norm,omitempty"`
	// LabelSmoothing in [0,1) softens the cross-entropy targets.
	LabelSmoothing float64 `json:"label_smoothing,omitempty"`
	// Patience stops a phase after this many epochs without validation
	// improvement and restores the best weights (0 = train every epoch).
	Patience int `json:"patience,omitempty"`
	// MinShare in [0,1] keeps patience from ending a phase before it has
	// run this share of its epochs, rounded up (epochs carried over from
	// an earlier phase that stopped early count): a slow starter is not
	// stopped at epoch 6 of 100. 0 = no floor.
	MinShare float64 `json:"min_share,omitempty"`
	// PreciseBN re-estimates the running statistics of the BatchNorms
	// that train over one pass of the training data before every
	// validation, and at the end of a run without validation ("precise
	// BN", Wu & Johnson 2021). With few steps per epoch the moving
	// averages lag the weights, and inference-mode accuracy then measures
	// the lag rather than the network. Costs one forward pass over the
	// training set per epoch.
	PreciseBN bool `json:"precise_bn,omitempty"`
	// Seed makes CPU runs repeat exactly: initialisation, order,
	// augmentation and dropout all derive from it.
	Seed uint64 `json:"seed"`
	// ChannelsLast lays convolutions out NHWC (faster oneDNN kernels on
	// most CPUs).
	ChannelsLast bool `json:"channels_last,omitempty"`
	// L2SP is the strength α of the L2-SP penalty α/2·‖w − w₀‖² toward
	// the starting weights of every stage but the head (0 = off).
	L2SP float64 `json:"l2sp,omitempty"`
	// Device runs the model on the CPU (default) or a CUDA device.
	Device torch.Device `json:"-"`
	// Precision runs forward passes in mixed precision (torch.Precision:
	// bf16 autocast on CPUs with AVX512-BF16 or CUDA, fp16 on CUDA);
	// weights, optimizer state and checkpoints stay float32. Empty is
	// fp32. In bf16 on the CPU, convolutions and dense layers compute
	// with bf16 copies of their weights kept through the run
	// (nn.Model.KeepLowWeights), whose gradients stay bf16: the values
	// autocast's per-step casts would give, without the casts.
	Precision torch.Precision `json:"precision,omitempty"`
	// CastWeights turns the bf16 copies off: autocast casts every weight
	// on every forward and every gradient back, as PyTorch's autocast
	// does. For measuring what the copies save, and for tests.
	CastWeights bool `json:"-"`
	// Phases overrides the single default phase.
	Phases []Phase `json:"phases,omitempty"`
}

// Phase is a stretch of training with one set of trainable stages.
type Phase struct {
	Name   string `json:"name"`
	Epochs int    `json:"epochs"`
	// StageLR is a learning-rate multiplier per stage (index-aligned with
	// the model's stages); 0 freezes the stage. Nil trains every stage at
	// the base rate.
	StageLR []float64 `json:"stage_lr,omitempty"`
	// TrainBN keeps BatchNorm in training mode inside frozen stages
	// (fastai's train_bn); by default frozen BatchNorms keep their
	// statistics.
	TrainBN bool `json:"train_bn,omitempty"`
	// LRScale multiplies the base learning rate for this phase (default 1).
	LRScale float64 `json:"lr_scale,omitempty"`
}

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.BatchSize == 0 {
		c.BatchSize = 64
	}
	if c.Optimizer.Name == "" {
		c.Optimizer.Name = "adam"
	}
	if c.Optimizer.LR == 0 {
		c.Optimizer.LR = 1e-3
	}
	if c.Schedule.Name == "" {
		c.Schedule.Name = "onecycle"
	}
	if len(c.Phases) == 0 {
		c.Phases = []Phase{{Name: "train", Epochs: c.Epochs}}
	}
	// Training adjusts phases (carried-over epochs); never the caller's.
	c.Phases = append([]Phase(nil), c.Phases...)
	for i := range c.Phases {
		if c.Phases[i].LRScale == 0 {
			c.Phases[i].LRScale = 1
		}
	}
	return c
}

// Validate checks a defaulted configuration.
func (c Config) Validate() error {
	if c.BatchSize < 1 {
		return fmt.Errorf("batch size must be at least 1, got %d", c.BatchSize)
	}
	if err := c.Optimizer.Validate(); err != nil {
		return err
	}
	if err := c.Schedule.Validate(); err != nil {
		return err
	}
	if c.LabelSmoothing < 0 || c.LabelSmoothing >= 1 {
		return fmt.Errorf("label smoothing must be in [0,1), got %v", c.LabelSmoothing)
	}
	if c.ClipNorm < 0 {
		return fmt.Errorf("gradient clip norm must not be negative, got %v", c.ClipNorm)
	}
	if c.Patience < 0 {
		return fmt.Errorf("patience must not be negative, got %d", c.Patience)
	}
	if !(c.MinShare >= 0 && c.MinShare <= 1) {
		return fmt.Errorf("minimum share of a phase's epochs before early stopping must be in [0,1], got %v", c.MinShare)
	}
	total := 0
	for _, p := range c.Phases {
		if p.Epochs < 0 {
			return fmt.Errorf("phase %q: epochs must not be negative", p.Name)
		}
		total += p.Epochs
	}
	if total < 1 {
		return fmt.Errorf("nothing to train: set at least 1 epoch (--epochs)")
	}
	return nil
}

// minEpochs is the number of epochs a phase of n epochs runs before
// patience may end it.
func (c Config) minEpochs(n int) int {
	// The tolerance keeps 0.3×10 at 3, not 4.
	return int(math.Ceil(c.MinShare*float64(n) - 1e-9))
}

// TotalEpochs sums the phases' epochs.
func (c Config) TotalEpochs() int {
	n := 0
	for _, p := range c.Phases {
		n += p.Epochs
	}
	return n
}

// usePrecision sets the model's forward precision to cfg's, as Train sets
// its device and layout, after checking the device can run it.
func usePrecision(m *nn.Model, cfg Config) error {
	if err := cfg.Precision.Check(cfg.Device); err != nil {
		return err
	}
	m.Precision = cfg.Precision
	return nil
}
