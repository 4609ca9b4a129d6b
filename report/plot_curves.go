package report

import (
	"fmt"
	"image/color"
	"math"

	"github.com/graftml/graft/fit"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// curve is a strategy's mean accuracy (or another measure) per epoch
// over its successful runs.
type curve struct {
	Epochs     []int
	Val, Train []float64 // 0–1 for accuracy; Val is NaN at epochs without validation
}

// accuracyOf is what a classifier's learning curves show.
func accuracyOf(h fit.EpochStats) (train, val float64) { return h.TrainAcc, h.ValAcc }

// meanCurve averages each epoch's accuracy over the runs that reached it.
func meanCurve(e *entry) (curve, bool) { return meanSeries(e, accuracyOf) }

// meanSeries averages each epoch's measure (of is the training and the
// validation one) over the runs that reached it: runs that stopped early
// do not pull later epochs down.
func meanSeries(e *entry, of func(fit.EpochStats) (train, val float64)) (curve, bool) {
	n := 0
	for _, r := range e.OK {
		for i, h := range r.History {
			n = max(n, epochNumber(h, i))
		}
	}
	if n == 0 {
		return curve{}, false
	}
	valSum, trainSum := make([]float64, n+1), make([]float64, n+1)
	valN, trainN := make([]int, n+1), make([]int, n+1)
	for _, r := range e.OK {
		for i, h := range r.History {
			k := epochNumber(h, i)
			train, val := of(h)
			trainSum[k] += train
			trainN[k]++
			if h.HasVal {
				valSum[k] += val
				valN[k]++
			}
		}
	}
	var c curve
	for k := 1; k <= n; k++ {
		if trainN[k] == 0 {
			continue
		}
		val := math.NaN()
		if valN[k] > 0 {
			val = valSum[k] / float64(valN[k])
		}
		c.Epochs = append(c.Epochs, k)
		c.Train = append(c.Train, trainSum[k]/float64(trainN[k]))
		c.Val = append(c.Val, val)
	}
	return c, len(c.Epochs) > 0
}

// maxPointEpochs is the longest curve still drawn with a point per epoch.
const maxPointEpochs = 15

// curveSpec is what a learning-curve figure plots per epoch.
type curveSpec struct {
	name, title, ylabel string
	of                  func(fit.EpochStats) (train, val float64)
	// noTrain leaves the training measure out where it means nothing
	// (a detector's training accuracy is not measured).
	noTrain bool
	percent bool // 0–1 fractions, drawn in percent
	caption func(anyVal bool) string
}

// curvesFigure draws validation (solid, with points) and training
// (dashed) accuracy per epoch for each strategy of one shots setting.
func curvesFigure(g *group) (*Figure, error) {
	shots := lowerFirst(shotsTitle(g.Shots))
	return lineFigure(g, curveSpec{
		name: curvesPrefix + shotsSlug(g.Shots), title: "Learning curves — " + shots, ylabel: "accuracy (%)",
		of: accuracyOf, percent: true,
		caption: func(anyVal bool) string {
			what := "Validation accuracy (solid) and training accuracy (dashed)"
			if !anyVal {
				what = "Training accuracy (dashed; these runs had no validation split)"
			}
			return fmt.Sprintf("%s per epoch, %s. Each line is the mean over the strategy's successful seeds; "+
				"at each epoch over the runs that reached it, so runs that stopped early do not pull later epochs down. "+
				"Training accuracy is measured while training (with augmentation, if any). Diverged and failed runs are left out.",
				what, shots)
		},
	})
}

// lineFigure draws k's measure per epoch for each strategy of one shots
// setting: validation solid, with points, and training dashed.
func lineFigure(g *group, k curveSpec) (*Figure, error) {
	p := newChart(k.title, "epoch", k.ylabel)
	p.Add(lightGrid())
	scale := 1.0
	if k.percent {
		scale = 100
	}
	lo, hi, maxEpoch, anyVal := 100.0, 0.0, 0, false
	drawn := 0
	type withCurve struct {
		e *entry
		c curve
	}
	var cs []withCurve
	longest := 0
	for _, e := range byColor(g.Entries) {
		if c, ok := meanSeries(e, k.of); ok {
			cs = append(cs, withCurve{e, c})
			longest = max(longest, len(c.Epochs))
		}
	}
	for _, x := range cs {
		e, c := x.e, x.c
		var val, train plotter.XYs
		for i, ep := range c.Epochs {
			if !k.noTrain {
				train = append(train, plotter.XY{X: float64(ep), Y: scale * c.Train[i]})
			}
			if !math.IsNaN(c.Val[i]) {
				val = append(val, plotter.XY{X: float64(ep), Y: scale * c.Val[i]})
			}
			maxEpoch = max(maxEpoch, ep)
		}
		for _, xy := range append(append(plotter.XYs{}, val...), train...) {
			lo, hi = math.Min(lo, xy.Y), math.Max(hi, xy.Y)
		}
		if len(train) > 0 {
			tl, err := plotter.NewLine(train)
			if err != nil {
				return nil, fmt.Errorf("learning curves %s: %w", e.Strategy, err)
			}
			tl.LineStyle = lineStyle(e.Color, 1.1, true)
			p.Add(tl)
			if len(val) == 0 {
				p.Key.Add(e.Strategy, tl)
				drawn++
				continue
			}
		}
		if len(val) == 0 {
			continue
		}
		anyVal = true
		vl, vp, err := plotter.NewLinePoints(val)
		if err != nil {
			return nil, fmt.Errorf("learning curves %s: %w", e.Strategy, err)
		}
		vl.LineStyle = lineStyle(e.Color, 1.8, false)
		vp.GlyphStyle = draw.GlyphStyle{Color: strategyColor(e.Color), Radius: vg.Points(2.2), Shape: draw.CircleGlyph{}}
		if longest > maxPointEpochs {
			p.Add(vl) // points on long curves are only clutter
			p.Key.Add(e.Strategy, vl)
		} else {
			p.Add(vl, vp)
			p.Key.Add(e.Strategy, vl, vp)
		}
		drawn++
	}
	if drawn == 0 {
		return nil, nil
	}
	if anyVal && !k.noTrain {
		// Explain the dashes in the legend itself: captions get separated
		// from PNGs that are pasted elsewhere.
		key, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}})
		if err != nil {
			return nil, err
		}
		key.LineStyle = draw.LineStyle{Color: color.Gray{0x70}, Width: vg.Points(1.1), Dashes: []vg.Length{vg.Points(4), vg.Points(3)}}
		p.Key.Add("train (dashed)", key)
	}
	if k.percent {
		percentAxis(p.Plot, lo, hi)
	} else {
		// From 0, so that a loss that halves looks halved.
		p.Y.Min, p.Y.Max = 0, math.Max(hi, 1e-9)*1.08
	}
	p.X.Min, p.X.Max = 1, math.Max(2, float64(maxEpoch))
	p.X.Tick.Marker = integerTicks(1, int(p.X.Max))
	return finish(p, k.name, k.title, k.caption(anyVal), 6*vg.Inch, 3.7*vg.Inch)
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
