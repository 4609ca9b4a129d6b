package lrfind

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"github.com/graftml/graft/figure"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot draws the smoothed (and raw) loss against the learning rate on a
// logarithmic axis, with the suggested rates marked, as SVG and PNG.
func Plot(r *Result, title string) (svg, png []byte, err error) {
	if r == nil || len(r.LRs) == 0 {
		return nil, nil, errors.New("lr-find result has no points to plot")
	}
	p := plot.New()
	if title == "" {
		title = "learning-rate range test"
	}
	p.Title.Text = title
	p.X.Label.Text = "learning rate (log scale)"
	p.Y.Label.Text = "training loss"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = decades{}

	raw := make(plotter.XYs, len(r.LRs))
	smooth := make(plotter.XYs, len(r.LRs))
	lo, hi := math.Inf(1), math.Inf(-1)
	// The y range follows the smoothed curve without its last points: the
	// blow-up and raw spikes would flatten the part that matters.
	last := len(r.LRs)
	if last > 10 {
		last -= 5
	}
	for i, lr := range r.LRs {
		raw[i] = plotter.XY{X: lr, Y: r.Losses[i]}
		smooth[i] = plotter.XY{X: lr, Y: r.Smoothed[i]}
		if i < last {
			lo, hi = min(lo, r.Smoothed[i], r.Losses[i]), max(hi, r.Smoothed[i])
		}
	}
	pad := 0.05 * (hi - lo)
	if pad == 0 {
		pad = 0.05*math.Abs(hi) + 1e-3
	}
	p.Y.Min, p.Y.Max = lo-pad, hi+pad

	rl, err := plotter.NewLine(clip(raw, p.Y.Min, p.Y.Max))
	if err != nil {
		return nil, nil, err
	}
	rl.Color = color.RGBA{180, 180, 180, 255}
	sl, err := plotter.NewLine(clip(smooth, p.Y.Min, p.Y.Max))
	if err != nil {
		return nil, nil, err
	}
	sl.Color = color.RGBA{31, 119, 180, 255}
	sl.Width = vg.Points(1.5)
	p.Add(plotter.NewGrid(), rl, sl)
	p.Legend.Add("loss per batch", rl)
	p.Legend.Add("smoothed loss", sl)

	mark := func(lr float64, name string, c color.RGBA, shape draw.GlyphDrawer) error {
		if lr < r.LRs[0] || lr > r.LRs[len(r.LRs)-1] {
			return nil // off the curve (min/10 can lie below the start)
		}
		sc, err := plotter.NewScatter(plotter.XYs{{X: lr, Y: interp(r.LRs, r.Smoothed, lr)}})
		if err != nil {
			return err
		}
		sc.Color = c
		sc.Shape = shape
		sc.Radius = vg.Points(4)
		p.Add(sc)
		p.Legend.Add(fmt.Sprintf("%s %.2g", name, lr), sc)
		return nil
	}
	if err := mark(r.Suggested, "steepest", color.RGBA{214, 39, 40, 255}, draw.CircleGlyph{}); err != nil {
		return nil, nil, err
	}
	if err := mark(r.MinOver10, "min/10", color.RGBA{44, 160, 44, 255}, draw.TriangleGlyph{}); err != nil {
		return nil, nil, err
	}
	p.Legend.Top = true

	return figure.Standalone(p)
}

func clip(xy plotter.XYs, lo, hi float64) plotter.XYs {
	out := make(plotter.XYs, len(xy))
	for i, v := range xy {
		out[i] = plotter.XY{X: v.X, Y: min(max(v.Y, lo), hi)}
	}
	return out
}

// interp reads y at x on the curve, linearly in log(x).
func interp(xs, ys []float64, x float64) float64 {
	for i := 1; i < len(xs); i++ {
		if x <= xs[i] {
			t := (math.Log(x) - math.Log(xs[i-1])) / (math.Log(xs[i]) - math.Log(xs[i-1]))
			return ys[i-1] + t*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

// decades ticks a log axis at powers of ten, labelled 1e-05 … 10.
type decades struct{}

func (decades) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for e := math.Floor(math.Log10(min)); e <= math.Ceil(math.Log10(max)); e++ {
		v := math.Pow(10, e)
		if v >= min && v <= max {
			ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', -1, 64)})
		}
	}
	return ts
}
