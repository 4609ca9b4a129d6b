// Package progress shows a long command's progress on the terminal: a
// progress bar that redraws itself where stderr is a terminal, a line per
// epoch, run or measurement where it is a file or a pipe (a log keeps
// every frame of a bar), and nothing but those lines with --quiet. The
// commands in internal/cli give these values to the library's progress
// hooks (fit.Events, experiment.Progress, bench.Progress).
package progress

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal: progress bars redraw
// themselves with carriage returns, which a log file or a pipe keeps as
// thousands of frames, so elsewhere only the line per epoch (or per run)
// is written.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Train draws one progress bar per epoch (rate and ETA included) and
// prints a summary line when the epoch ends.
type Train struct {
	w     io.Writer
	quiet bool
	bar   *progressbar.ProgressBar
	epoch int
	lines bool // not a terminal: epoch lines only, no bar
	// detector: the score is validation mAP@0.5, and there is no
	// training accuracy to show.
	detector bool
}

// NewTrain is the progress of a training on w.
func NewTrain(w io.Writer, quiet bool) *Train {
	return &Train{w: w, quiet: quiet, lines: !IsTerminal(w)}
}

// Detector makes p a detector's training's progress: losses, and
// validation mAP@0.5 where a classifier's shows accuracy.
func (p *Train) Detector() *Train {
	p.detector = true
	return p
}

func (p *Train) Step(s fit.StepInfo) {
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
	if p.detector {
		p.bar.Describe(fmt.Sprintf("epoch %d/%d %s loss %.4f %4.0f img/s", s.Epoch, s.Epochs, s.Phase, s.Loss, s.ImgPerSec))
	} else {
		p.bar.Describe(fmt.Sprintf("epoch %d/%d %s loss %.4f acc %.3f %4.0f img/s", s.Epoch, s.Epochs, s.Phase, s.Loss, s.Accuracy, s.ImgPerSec))
	}
	_ = p.bar.Set(s.Step)
}

// RunStart and RunDone make a training's progress a comparison's
// (experiment.Progress) for commands that adapt one model: the bar and
// lines are its epochs'.
func (p *Train) RunStart(int, int, string, int, int, float64) {}
func (p *Train) RunDone(int, int, experiment.Run)             {}

func (p *Train) Epoch(e fit.EpochStats) {
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
	if p.detector {
		if e.HasVal {
			val = fmt.Sprintf("  val loss %.4f mAP@0.5 %.3f", e.ValLoss, e.ValAcc)
		}
		fmt.Fprintf(p.w, "epoch %3d %-8s train loss %.4f%s  %.1fs (%.0f img/s)\n", e.Epoch, e.Phase, e.TrainLoss, val, e.Seconds, e.ImgPerSec)
		return
	}
	fmt.Fprintf(p.w, "epoch %3d %-8s train loss %.4f acc %.3f%s  %.1fs (%.0f img/s)\n",
		e.Epoch, e.Phase, e.TrainLoss, e.TrainAcc, val, e.Seconds, e.ImgPerSec)
}

// Compare shows one bar over the runs of a comparison (strategy ×
// shots × seed; each searches rates, possibly beyond the grid, then
// refits) with rate and ETA, the current trial, and a line per finished run.
type Compare struct {
	w      io.Writer
	quiet  bool
	bar    *progressbar.ProgressBar
	trials int
	label  string
}

// NewCompare is the progress of a comparison of trials runs on w.
func NewCompare(w io.Writer, quiet bool, trials int) *Compare {
	p := &Compare{w: w, quiet: quiet, trials: trials}
	if !quiet && IsTerminal(w) {
		p.bar = progressbar.NewOptions(trials,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionSetItsString("runs"),
		)
	}
	return p
}

func (p *Compare) RunStart(i, n int, strategy string, shots, seed int, lr float64) {
	if p.bar == nil {
		return
	}
	shotsS := "all"
	if shots > 0 {
		shotsS = fmt.Sprint(shots)
	}
	p.label = fmt.Sprintf("run %d/%d %s shots=%s seed=%d lr=%g", i, n, strategy, shotsS, seed, lr)
	p.bar.Describe(p.label)
}

func (p *Compare) Step(s fit.StepInfo) {}

func (p *Compare) Epoch(e fit.EpochStats) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s epoch %d val %.3f", p.label, e.Epoch, e.ValAcc))
}

func (p *Compare) RunDone(i, n int, r experiment.Run) {
	if p.quiet {
		return
	}
	if p.bar != nil {
		_ = p.bar.Add(1)
		p.bar.Clear()
	}
	shots := "all"
	if r.Shots > 0 {
		shots = fmt.Sprint(r.Shots)
	}
	note := ""
	if len(r.LRExtended) > 0 {
		note = fmt.Sprintf("  (grid extended to %g)", r.LRExtended[len(r.LRExtended)-1])
	}
	if r.CutOff {
		note += "  cut off"
	}
	cr := ""
	if p.bar != nil {
		cr = "\r" // over the bar's last frame
	}
	fmt.Fprintf(p.w, "%s%-22s shots=%-4s seed=%d  %-8s test %.1f%%  lr %g  %d epochs  %.1fs%s\n",
		cr, r.Strategy, shots, r.Seed, r.Status, 100*r.TestAccuracy, r.LR, r.Epochs, r.TrainSeconds, note)
}

// Finish ends the bar; the comparison is over.
func (p *Compare) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}

// Bench is a progress bar on a terminal, a line per measurement on a
// file or pipe, or nothing with --quiet. It stays with --json: the JSON
// goes to stdout, and a run takes minutes.
type Bench struct {
	pb    *progressbar.ProgressBar
	lines io.Writer // not a terminal: one line per measurement
}

// NewBench is the progress of n measurements on w.
func NewBench(w io.Writer, quiet bool, n int) Bench {
	if quiet || n <= 0 {
		return Bench{}
	}
	if !IsTerminal(w) {
		return Bench{lines: w}
	}
	return Bench{pb: progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// The progress bar's errors are write errors on stderr, which nothing can
// report; they are dropped.
func (b Bench) Describe(s string) {
	if b.lines != nil {
		fmt.Fprintf(b.lines, "measuring %s\n", s)
	}
	if b.pb != nil {
		b.pb.Describe(fmt.Sprintf("%-16s", s))
		_ = b.pb.RenderBlank()
	}
}

func (b Bench) Add(n int) {
	if b.pb != nil {
		_ = b.pb.Add(n)
	}
}

func (b Bench) Set(n int) {
	if b.pb != nil {
		_ = b.pb.Set(n)
	}
}

func (b Bench) Clear() {
	if b.pb != nil {
		_ = b.pb.Clear()
	}
}

func (b Bench) Finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}

// Steps is a bar over the steps of a short run (lr-find's mini-batches),
// drawn only on a terminal and not with --quiet.
type Steps struct {
	pb *progressbar.ProgressBar
	w  io.Writer
}

// NewSteps is the progress of n steps on w.
func NewSteps(w io.Writer, quiet bool, n int) *Steps {
	if quiet || !IsTerminal(w) {
		return &Steps{}
	}
	return &Steps{w: w, pb: progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionShowCount(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

// Set shows step and what it says.
func (s *Steps) Set(step int, desc string) {
	if s.pb != nil {
		s.pb.Describe(desc)
		_ = s.pb.Set(step)
	}
}

// Finish ends the bar and its line.
func (s *Steps) Finish() {
	if s.pb != nil {
		_ = s.pb.Finish()
		fmt.Fprintln(s.w)
	}
}
