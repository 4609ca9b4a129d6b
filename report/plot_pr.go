package report

import (
	"fmt"

	"github.com/graftml/graft/experiment"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// prCurvesPrefix names the precision–recall figures, one per shots setting.
const prCurvesPrefix = "pr-curves-"

// unitTicks label 0, 0.2, …, 1 and mark the tenths between.
var unitTicks = plot.TickerFunc(func(_, _ float64) []plot.Tick {
	var ticks []plot.Tick
	for i := 0; i <= 10; i++ {
		t := plot.Tick{Value: float64(i) / 10}
		if i%2 == 0 {
			t.Label = fmt.Sprintf("%.1f", t.Value)
		}
		ticks = append(ticks, t)
	}
	return ticks
})

// prCurve is a detector strategy's precision at COCO's 101 recall levels
// (0:.01:1): the mean over its runs of each run's class-averaged
// interpolated curve at IoU 0.5, the curve whose mean over the levels is
// mAP@0.5.
type prCurve struct {
	Recall, Precision []float64
	Runs              int // the runs averaged
}

// meanPRCurve averages the curves of e's successful runs that have usable
// AP records; ok is false when none has.
func meanPRCurve(e *entry) (c prCurve, ok bool) {
	for _, r := range e.OK {
		if r.APRecords == nil || r.APRecords.Check() != nil {
			continue
		}
		rec, prec := r.APRecords.MeanPRCurve()
		if prec == nil {
			continue // no class with ground truth
		}
		if c.Runs == 0 {
			c.Recall, c.Precision = rec, make([]float64, len(prec))
		}
		for i, p := range prec {
			c.Precision[i] += p
		}
		c.Runs++
	}
	if c.Runs == 0 {
		return prCurve{}, false
	}
	for i := range c.Precision {
		c.Precision[i] /= float64(c.Runs)
	}
	return c, true
}

// mean is the curve's mean precision over the recall levels: the
// strategy's mean mAP@0.5.
func (c prCurve) mean() float64 {
	var s float64
	for _, p := range c.Precision {
		s += p
	}
	return s / float64(len(c.Precision))
}

// PRCurvesPlot draws the precision–recall curves of a detector comparison
// at one shots setting (0: all training images): a line per strategy, the
// mean over its successful runs of the class-averaged 101-point
// interpolated precision at IoU 0.5 that mAP@0.5 averages, so the area
// under each line is the strategy's mean mAP@0.5. It returns nil when no
// run of that setting has AP records (classifiers, or files from before
// them).
func PRCurvesPlot(r *experiment.Results, shots int) (*Figure, error) {
	v := newView(r)
	for _, g := range v.Groups {
		if g.Shots == shots {
			return prCurvesFigure(v, g)
		}
	}
	return nil, nil
}

// prCurvesFigure is PRCurvesPlot for one group, in the form Plots adds.
func prCurvesFigure(v *view, g *group) (*Figure, error) {
	title := "Precision–recall at IoU 0.5 — " + lowerFirst(shotsTitle(g.Shots))
	p := newChart(title, "recall", "precision")
	p.Add(lightGrid())
	drawn, runs, runsAll := 0, 0, 0
	for _, e := range byColor(g.Entries) {
		c, ok := meanPRCurve(e)
		if !ok {
			continue
		}
		xys := make(plotter.XYs, len(c.Recall))
		for i := range c.Recall {
			xys[i] = plotter.XY{X: c.Recall[i], Y: c.Precision[i]}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("precision–recall %s: %w", e.Strategy, err)
		}
		l.LineStyle = lineStyle(e.Color, 1.8, false)
		p.Add(l)
		p.Key.Add(fmt.Sprintf("%s (%.3f)", e.Strategy, c.mean()), l)
		drawn++
		runs += c.Runs
		runsAll += len(e.OK)
	}
	if drawn == 0 {
		return nil, nil
	}
	// A little headroom keeps a perfect detector's line off the frame.
	p.X.Min, p.X.Max = 0, 1
	p.Y.Min, p.Y.Max = 0, 1.02
	p.X.Tick.Marker, p.Y.Tick.Marker = unitTicks, unitTicks
	caption := fmt.Sprintf("Precision against recall on the test images at IoU 0.5, %s, as COCO computes it: "+
		"each class's precision made non-increasing from the right and read at the 101 recall levels 0, 0.01, …, 1, "+
		"then averaged over the classes with ground truth. Each line is the mean over the strategy's successful seeds, "+
		"so the area under it — the number in the legend — is its mean mAP@0.5. "+
		"A line that ends early drops to 0: that recall was never reached.",
		lowerFirst(shotsTitle(g.Shots)))
	if runs < runsAll {
		caption += fmt.Sprintf(" %s of these strategies' %d successful runs have no AP records and are left out.", plural(runsAll-runs, "run", "runs"), runsAll)
	}
	return finish(p, prCurvesPrefix+shotsSlug(g.Shots), title, caption, 6*vg.Inch, 3.7*vg.Inch)
}
