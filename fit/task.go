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
// and Run.Val are unused, the frozen-prefix cache is off (a detector's
// prefix outputs are several maps), and PreciseBN is refused.
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
