package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
	"github.com/schollz/progressbar/v3"
)

// compareProgress shows one bar over the runs of a comparison (strategy ×
// shots × seed; each searches rates, possibly beyond the grid, then
// refits) with rate and ETA, the current trial, and a line per finished run.
type compareProgress struct {
	w      io.Writer
	quiet  bool
	bar    *progressbar.ProgressBar
	trials int
	label  string
}

func newCompareProgress(w io.Writer, quiet bool, trials int) *compareProgress {
	p := &compareProgress{w: w, quiet: quiet, trials: trials}
	if !quiet && isTerminal(w) {
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

func (p *compareProgress) RunStart(i, n int, strategy string, shots, seed int, lr float64) {
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

func (p *compareProgress) Step(s fit.StepInfo) {}

func (p *compareProgress) Epoch(e fit.EpochStats) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s epoch %d val %.3f", p.label, e.Epoch, e.ValAcc))
}

func (p *compareProgress) RunDone(i, n int, r experiment.Run) {
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

func (p *compareProgress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
