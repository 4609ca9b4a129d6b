package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// errPoints is what plotter.NewYErrorBars wants: points with their
// spreads.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// shotsTicks places the shots settings at 0, 1, 2…: evenly spaced
// categories, since "all" has no position on a numeric axis.
func shotsTicks(v *view) plot.Ticker {
	ticks := make([]plot.Tick, len(v.Shots))
	for i, s := range v.Shots {
		ticks[i] = plot.Tick{Value: float64(i), Label: shotsShort(s)}
	}
	return plot.ConstantTicks(ticks)
}

// accVsShotsFigure draws mean test accuracy ± one standard deviation per
// strategy across the shots settings. Strategies are nudged sideways so
// their error bars do not hide each other.
func accVsShotsFigure(v *view) (*Figure, error) {
	if len(v.Shots) < 2 {
		return nil, nil
	}
	title, ylabel, what := "Test accuracy by training set size", "test accuracy (%)", "Mean test accuracy"
	if v.detect() {
		title, ylabel, what = "Test mAP@0.5 by training set size", "test mAP@0.5 (%)", "Mean test mAP@0.5"
	}
	p := newChart(title, "images per class", ylabel)
	p.Add(lightGrid())
	lo, hi := 100.0, 0.0
	n := len(v.Strategies)
	spread := false // with one seed there are no error bars to keep apart
	for _, g := range v.Groups {
		for _, e := range g.Entries {
			spread = spread || (e.succeeded() && e.Sum.StdAccuracy > 0)
		}
	}
	drawn := 0
	for k, s := range v.Strategies {
		dx := 0.0
		if n > 1 && spread {
			dx = (float64(k) - float64(n-1)/2) * math.Min(0.06, 0.5/float64(n))
		}
		var pts errPoints
		for i, g := range v.Groups {
			for _, e := range g.Entries {
				if e.Strategy != s || !e.succeeded() {
					continue
				}
				m, sd := 100*e.Sum.MeanAccuracy, 100*e.Sum.StdAccuracy
				pts.XYs = append(pts.XYs, plotter.XY{X: float64(i) + dx, Y: m})
				pts.YErrors = append(pts.YErrors, struct{ Low, High float64 }{sd, sd})
				lo, hi = math.Min(lo, m-sd), math.Max(hi, m+sd)
			}
		}
		if len(pts.XYs) == 0 {
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts.XYs)
		if err != nil {
			return nil, fmt.Errorf("accuracy vs shots %s: %w", s, err)
		}
		l.LineStyle = lineStyle(k, 1.8, false)
		sc.GlyphStyle = draw.GlyphStyle{Color: strategyColor(k), Radius: vg.Points(2.6), Shape: draw.CircleGlyph{}}
		p.Add(l, sc)
		if spread {
			eb, err := plotter.NewYErrorBars(pts)
			if err != nil {
				return nil, fmt.Errorf("accuracy vs shots %s: %w", s, err)
			}
			eb.LineStyle = lineStyle(k, 1.1, false)
			eb.CapWidth = vg.Points(5)
			p.Add(eb)
		}
		p.Key.Add(s, l, sc)
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	percentAxis(p.Plot, lo, hi)
	p.X.Min, p.X.Max = -0.4, float64(len(v.Shots)-1)+0.4
	p.X.Tick.Marker = shotsTicks(v)
	caption := what + " over seeds for each strategy and number of training images per class " +
		"(\"all\": the whole training set). Settings are evenly spaced, not to scale. "
	if spread {
		caption += "Error bars are ± one standard deviation over seeds; points are nudged sideways so that they stay visible."
	} else {
		caption += "No error bars: each point has a single seed."
	}
	return finish(p, accVsShotsName, title, caption, 6*vg.Inch, 3.7*vg.Inch)
}
