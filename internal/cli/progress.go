package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/graftml/graft/fit"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: progress bars redraw
// themselves with carriage returns, which a log file or a pipe keeps as
// thousands of frames, so elsewhere only the line per epoch (or per run)
// is written.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// trainProgress draws one progress bar per epoch (rate and ETA included) and
// prints a summary line when the epoch ends.
type trainProgress struct {
	w     io.Writer
	quiet bool
	bar   *progressbar.ProgressBar
	epoch int
	lines bool // not a terminal: epoch lines only, no bar
}

func newTrainProgress(w io.Writer, quiet bool) *trainProgress {
	return &trainProgress{w: w, quiet: quiet, lines: !isTerminal(w)}
}

func (p *trainProgress) Step(s fit.StepInfo) {
	if p.quiet || p.lines {
		return
	}
	if p.bar == nil || p.epoch != s.Epoch {
		p.epoch = s.Epoch
		p.bar = progressbar.NewOptions(s.Steps,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetRenderBlankState(true),
		)
	}
	p.bar.Describe(fmt.Sprintf("epoch %d/%d %s loss %.4f acc %.3f %4.0f img/s", s.Epoch, s.Epochs, s.Phase, s.Loss, s.Accuracy, s.ImgPerSec))
	_ = p.bar.Set(s.Step)
}

func (p *trainProgress) Epoch(e fit.EpochStats) {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	if p.quiet {
		return
	}
	val := ""
	if e.HasVal {
		val = fmt.Sprintf("  val loss %.4f acc %.3f", e.ValLoss, e.ValAcc)
	}
	fmt.Fprintf(p.w, "epoch %3d %-8s train loss %.4f acc %.3f%s  %.1fs (%.0f img/s)\n",
		e.Epoch, e.Phase, e.TrainLoss, e.TrainAcc, val, e.Seconds, e.ImgPerSec)
}
