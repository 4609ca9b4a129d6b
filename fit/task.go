package fit

import (
	"context"

	"github.com/graftml/graft/torch"
)

// Task is a second kind of model Train can train: one whose batches and
// loss are not an image classifier's — a detector's boxes and multibox
// loss (package detect). Everything else is the same code for both kinds:
// the phases, freezing and per-stage rates over Run.Model's stages, the
// schedule, L2-SP, clipping, divergence checks, early stopping on the
// validation score, the best weights, and resume. With a Task, Run.Train
// and Run.Val are unused, Run.Cache is not used (a detector's prefix
// outputs are several maps, which a FeatureCache cannot hold: a task that
// can cache them itself is a PrefixTask), and PreciseBN is refused.
type Task interface {
	// Batches is the number of training batches per epoch.
	Batches() int
	// EachTrain runs the model in training mode on every training batch
	// of epoch (1-based), each in its own scope, and hands f the batch's
	// loss (a scalar in that scope) and its number of examples.
	EachTrain(ctx context.Context, epoch int, cfg Config, f func(loss *torch.Tensor, n int) error) error
	// HasVal says whether Validate has data.
	HasVal() bool
	// Validate scores the model in evaluation mode on the validation
	// data: the mean loss, and the score that selects the best epoch
	// (higher is better; for a detector, mAP).
	Validate(ctx context.Context, cfg Config) (loss, score float64, err error)
}

// PrefixTask is a Task that serves its model's frozen leading stages from a
// cache of its own, as FeatureCache does for a classifier: stages [0, k)
// then run once per image instead of once per image per epoch.
//
// Train calls SetPrefix at the start of every phase (a resumed run's
// included) with k, the number of leading stages the phase leaves
// untouched — frozen (stage rate 0), not trained by an earlier phase, with
// BatchNorm frozen — or 0 under Run.NoCache; and with 0 once more when it
// returns, so that nothing cached outlives the weights it was computed
// with. k counts Run.Model's stages and never reaches the last (the head).
// Train cannot see a task's loader, so the rule's third condition is the
// task's: when its training images are augmented the prefix's outputs
// differ every epoch, and SetPrefix must behave as for 0 (serve nothing
// from a cache, and say so in its doc).
//
// With k > 0, EachTrain and Validate must give what they give without a
// cache (to rounding), running only stages [k, ...) on the cached outputs.
// SetPrefix(0) turns the cache off and frees it.
type PrefixTask interface {
	Task
	SetPrefix(ctx context.Context, k int, cfg Config) error
}
