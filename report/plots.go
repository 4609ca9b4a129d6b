package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/graftml/graft/experiment"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure name prefixes; the HTML report places confusion matrices in
// their own section.
const (
	curvesPrefix    = "learning-curves-"
	confusionPrefix = "confusion-"
	accVsShotsName  = "accuracy-vs-shots"
	epochTimeName   = "epoch-time"
)

// Plots renders every figure of the report, in the order the HTML shows
// them: learning curves per shots setting (for detectors validation mAP
// and the multibox loss, then precision–recall curves), accuracy (mAP) against shots (when there are
// several), seconds per epoch, and each winner's confusion matrix
// (classifiers only). A figure without data (no history, no confusion
// matrix) is left out rather than drawn empty.
func Plots(r *experiment.Results) ([]Figure, error) {
	v := newView(r)
	var figs []Figure
	add := func(f *Figure, err error) error {
		if err != nil {
			return err
		}
		if f != nil {
			figs = append(figs, *f)
		}
		return nil
	}
	for _, g := range v.Groups {
		if v.detect() {
			curves, err := detectionCurves(g)
			if err != nil {
				return nil, err
			}
			figs = append(figs, curves...)
			continue
		}
		if err := add(curvesFigure(g)); err != nil {
			return nil, err
		}
	}
	// A detector comparison's precision–recall curves at IoU 0.5, one
	// figure per shots setting (none for classifiers: no run has AP
	// records).
	for _, g := range v.Groups {
		if !v.detect() {
			break
		}
		if err := add(prCurvesFigure(v, g)); err != nil {
			return nil, err
		}
	}
	if err := add(accVsShotsFigure(v)); err != nil {
		return nil, err
	}
	if err := add(epochTimeFigure(v)); err != nil {
		return nil, err
	}
	for _, g := range v.Groups {
		if err := add(confusionFigure(v, g)); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// finish renders p into a Figure, naming the figure in errors.
func finish(p *chart, name, title, caption string, w, h vg.Length) (*Figure, error) {
	svg, png, err := render(p, w, h)
	if err != nil {
		return nil, fmt.Errorf("figure %s: %w", name, err)
	}
	return &Figure{Name: name, Title: title, Caption: caption, SVG: svg, PNG: png}, nil
}

// lightGrid draws horizontal guide lines only: vertical ones add noise to
// plots whose x axis is epochs or categories.
func lightGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = nil
	g.Horizontal.Color = gridColor
	g.Horizontal.Width = vg.Points(0.6)
	return g
}

// integerTicks marks every whole number (epochs) up to about 30 of them,
// and labels the first and round multiples: 1, 5, 10, 15… rather than
// 1, 5, 9, 13.
func integerTicks(lo, hi int) plot.Ticker {
	return plot.TickerFunc(func(_, _ float64) []plot.Tick {
		step := 1
		for _, s := range []int{1, 2, 5, 10, 20, 50, 100, 200, 500} {
			step = s
			if (hi-lo)/s <= 8 {
				break
			}
		}
		mark := max(1, step/5)
		var ticks []plot.Tick
		for i := lo; i <= hi; i++ {
			if i != lo && i%mark != 0 {
				continue
			}
			label := ""
			if i == lo || i%step == 0 {
				label = fmt.Sprint(i)
			}
			// Keep the first label clear of a round neighbour (1 next to 2).
			if i != lo && i-lo < step/2 {
				label = ""
			}
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: label})
		}
		return ticks
	})
}

// percentAxis fits the y axis to [lo, hi] percent rounded out to tens,
// never beyond 0–100.
func percentAxis(p *plot.Plot, lo, hi float64) {
	p.Y.Min = math.Max(0, math.Floor(lo/10)*10)
	p.Y.Max = math.Min(100, math.Ceil(hi/10)*10)
	if p.Y.Max <= p.Y.Min {
		p.Y.Min, p.Y.Max = math.Max(0, p.Y.Max-10), math.Min(100, p.Y.Min+10)
	}
}

// byColor puts entries back in the canonical strategy order, so that
// legends list strategies in the same order in every figure.
func byColor(es []*entry) []*entry {
	out := slices.Clone(es)
	slices.SortStableFunc(out, func(a, b *entry) int { return cmp.Compare(a.Color, b.Color) })
	return out
}

func lineStyle(colorIdx int, width float64, dashed bool) draw.LineStyle {
	s := draw.LineStyle{Color: strategyColor(colorIdx), Width: vg.Points(width)}
	if dashed {
		s.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return s
}
