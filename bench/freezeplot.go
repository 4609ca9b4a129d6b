package bench

import (
	"fmt"
	"image/color"

	"github.com/graftml/graft/figure"
	"github.com/graftml/graft/strategy"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FreezeCurve draws epoch time against the number of frozen stages, with
// and without the feature cache, as SVG and PNG.
func FreezeCurve(r *FreezeReport) (svg, png []byte, err error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s — seconds per epoch (%s, %d px, %d images)", strategy.Freeze.Usage(), r.Model, r.Size, r.Images)
	p.X.Label.Text = "K: stages frozen (from the input)"
	p.Y.Label.Text = "seconds per epoch"
	p.Y.Min = 0
	cached := make(plotter.XYs, len(r.Freeze))
	plain := make(plotter.XYs, len(r.Freeze))
	var ticks []plot.Tick
	for i, pt := range r.Freeze {
		cached[i] = plotter.XY{X: float64(pt.K), Y: pt.EpochSeconds}
		plain[i] = plotter.XY{X: float64(pt.K), Y: pt.NoCacheEpochS}
		ticks = append(ticks, plot.Tick{Value: float64(pt.K), Label: fmt.Sprintf("%d (%s)", pt.K, pt.Frozen)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, s := range []struct {
		name string
		xy   plotter.XYs
		c    color.RGBA
		dash bool
	}{
		{"frozen stages cached (default)", cached, color.RGBA{31, 119, 180, 255}, false},
		{"frozen stages recomputed, no gradients", plain, color.RGBA{255, 127, 14, 255}, true},
	} {
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return nil, nil, err
		}
		l.Color, pts.Color = s.c, s.c
		pts.Shape = draw.CircleGlyph{}
		if s.dash {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return figure.Standalone(p)
}
