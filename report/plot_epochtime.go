package report

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// epochTimeFigure draws mean seconds per training epoch as grouped bars:
// one group per shots setting, one bar per strategy. Epoch cost grows with
// the number of images, so settings are kept apart rather than averaged;
// the legend gives each strategy's trainable parameters, which is what
// freezing reduces.
func epochTimeFigure(v *view) (*Figure, error) {
	const plotW = 6 * vg.Inch
	title := "Time per training epoch"
	p := newChart(title, "images per class", "seconds per epoch")
	p.Add(lightGrid())
	n := len(v.Strategies)
	// Bars are sized in points, so spread them over roughly the width of
	// the data area (the figure less the y axis and the legend): 65% of
	// each group's slot, shared by the strategies.
	slot := (plotW - 200) / vg.Length(len(v.Shots))
	barW := slot * 0.7 / vg.Length(max(n, 1))
	top, drawn := 0.0, 0
	for k, s := range v.Strategies {
		vals := make(plotter.Values, len(v.Shots))
		var params int64
		any := false
		for i, g := range v.Groups {
			for _, e := range g.Entries {
				if e.Strategy == s && e.HasSecPerEp {
					vals[i], any = e.SecPerEpoch, true
					top = math.Max(top, e.SecPerEpoch)
				}
				if e.Strategy == s && params == 0 {
					params = e.Sum.TrainableParams
				}
			}
		}
		if !any {
			continue
		}
		b, err := plotter.NewBarChart(vals, barW)
		if err != nil {
			return nil, fmt.Errorf("epoch time %s: %w", s, err)
		}
		b.Color = strategyColor(k)
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(k)-float64(n-1)/2) * barW
		p.Add(b)
		if err := addBarValues(p, vals, b.Offset, barW); err != nil {
			return nil, fmt.Errorf("epoch time %s: %w", s, err)
		}
		label := s
		if params > 0 {
			label += " (" + humanCount(params) + " trainable)"
		}
		p.Key.Add(label, b)
		drawn++
	}
	if drawn == 0 || top == 0 {
		return nil, nil
	}
	p.Y.Min, p.Y.Max = 0, top*1.12 // room for the values above the bars
	p.X.Min, p.X.Max = -0.5, float64(len(v.Shots))-0.5
	p.X.Tick.Marker = shotsTicks(v)
	caption := "Mean wall-clock seconds per training epoch over each strategy's successful runs, from the per-epoch history " +
		"(training and validation pass), by number of training images per class. " +
		"The legend gives each strategy's trainable parameters: frozen layers need no gradients or optimizer updates."
	return finish(p, epochTimeName, title, caption, plotW, 3.7*vg.Inch)
}

// addBarValues prints each bar's seconds above it: settings with many
// images dwarf the few-shot bars, whose values would otherwise be
// unreadable. Values wider than their bar would overlap their neighbours',
// so then there are none.
func addBarValues(p *chart, vals plotter.Values, offset, barW vg.Length) error {
	sty := text.Style{Font: font.From(sansFont, 8), Color: axisColor, XAlign: draw.XCenter, Handler: p.TextHandler}
	var lab plotter.XYLabels
	for i, x := range vals {
		if x > 0 {
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(i), Y: x})
			lab.Labels = append(lab.Labels, seconds(x))
			if sty.Width(seconds(x)) > barW+vg.Points(2) {
				return nil
			}
		}
	}
	if len(lab.XYs) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(lab)
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i] = sty
	}
	l.Offset = vg.Point{X: offset, Y: vg.Points(2)}
	p.Add(l)
	return nil
}
