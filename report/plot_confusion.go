package report

import (
	"fmt"
	"image/color"
	"math"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// maxNamedClasses is the most classes whose names fit on the axes and
// whose counts fit in the cells; beyond it the axes show indices.
const maxNamedClasses = 20

// confGrid shows a confusion matrix with the first true class at the top,
// as it is printed, coloured by the share of its row (recall), so that
// rare and common classes are comparable.
type confGrid struct{ m [][]int }

func (g confGrid) Dims() (c, r int) { return len(g.m), len(g.m) }
func (g confGrid) X(c int) float64  { return float64(c) }
func (g confGrid) Y(r int) float64  { return float64(r) }
func (g confGrid) Z(c, r int) float64 {
	row := g.m[len(g.m)-1-r]
	return share(row[c], row)
}

func share(n int, row []int) float64 {
	total := 0
	for _, x := range row {
		total += x
	}
	if total == 0 {
		return 0
	}
	return float64(n) / float64(total)
}

// blues is a white-to-blue ramp: one hue, so the eye reads it as an
// amount, and white for zero so empty cells disappear.
type blues struct{}

func (blues) Colors() []color.Color {
	const n = 64
	lo, hi := color.RGBA{0xf7, 0xfb, 0xff, 0xff}, color.RGBA{0x08, 0x45, 0x94, 0xff}
	out := make([]color.Color, n)
	for i := range out {
		t := float64(i) / (n - 1)
		mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + t*(float64(b)-float64(a)))) }
		out[i] = color.RGBA{mix(lo.R, hi.R), mix(lo.G, hi.G), mix(lo.B, hi.B), 0xff}
	}
	return out
}

// validConfusion reports whether m is a square matrix worth drawing.
func validConfusion(m [][]int) bool {
	if len(m) == 0 {
		return false
	}
	for _, row := range m {
		if len(row) != len(m) {
			return false
		}
	}
	return true
}

// classNames are the axis labels: the spec's names when they match the
// matrix and fit, indices otherwise.
func classNames(classes []string, n int) ([]string, bool) {
	names := make([]string, n)
	named := len(classes) == n && n <= maxNamedClasses
	for i := range names {
		if named {
			names[i] = classes[i]
		} else {
			names[i] = strconv.Itoa(i)
		}
	}
	return names, named
}

func confusionFigure(v *view, g *group) (*Figure, error) {
	if g.Win == nil || !validConfusion(g.Win.Confusion) {
		return nil, nil
	}
	m := g.Win.Confusion
	n := len(m)
	names, named := classNames(v.R.Spec.Classes, n)
	title := fmt.Sprintf("Confusion matrix — %s, %s", g.Win.Strategy, lowerFirst(shotsTitle(g.Shots)))
	p := newChart(title, "predicted class", "true class")
	hm := plotter.NewHeatMap(confGrid{m}, blues{})
	hm.Min, hm.Max = 0, 1
	p.Add(hm)

	if n <= maxNamedClasses {
		if err := addCounts(p.Plot, m); err != nil {
			return nil, fmt.Errorf("confusion %s: %w", shotsSlug(g.Shots), err)
		}
	}
	step := 1
	for n/step > maxNamedClasses {
		step++
	}
	var xt, yt []plot.Tick
	for i := 0; i < n; i++ {
		label := ""
		if i%step == 0 {
			label = names[i]
		}
		xt = append(xt, plot.Tick{Value: float64(i), Label: label})
		yt = append(yt, plot.Tick{Value: float64(n - 1 - i), Label: label})
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.ConstantTicks(xt), plot.ConstantTicks(yt)
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(n)-0.5
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.Label.Padding = vg.Points(6)
	// Invisible ticks: their length still spaces the labels off the
	// matrix, which rotated labels need.
	p.X.Tick.Length, p.Y.Tick.Length = vg.Points(5), vg.Points(3)
	p.X.Tick.Width, p.Y.Tick.Width = 0, 0
	p.X.Width, p.Y.Width = 0, 0
	// Large matrices keep a moderate size and lose their counts and names
	// instead: at the report's column width, a bigger figure only makes
	// its text smaller.
	side := vg.Length(math.Min(7, math.Max(4.2, 1.6+0.2*float64(n)))) * vg.Inch
	// Rotate the names only when they would collide: a cell is roughly
	// the figure, less the y axis, over the number of classes.
	if named && widestLabel(p.X.Tick.Label, names) > 0.8*(side-1.3*vg.Inch)/vg.Length(n) {
		// Aligned by its top right corner, the rotated text hangs below
		// the tick instead of poking into the matrix.
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YTop
	}

	caption := fmt.Sprintf("Test-set confusion matrix of %s's best run with %s. Rows are true classes, columns predictions; "+
		"colour is the share of the row (per-class recall)%s.%s",
		g.Win.Strategy, lowerFirst(shotsTitle(g.Shots)), countsNote(n), weakestClasses(m, v.R.Spec.Classes))
	return finish(p, confusionPrefix+shotsSlug(g.Shots), title, caption, side+0.3*vg.Inch, side)
}

// addCounts writes each cell's count in it, white on dark cells; zeros
// are left blank so the errors stand out.
func addCounts(p *plot.Plot, m [][]int) error {
	n := len(m)
	var lab plotter.XYLabels
	var styles []text.Style
	size := vg.Points(math.Max(6, math.Min(10, 140/float64(n))))
	for i, row := range m {
		for j, c := range row {
			if c == 0 {
				continue
			}
			lab.XYs = append(lab.XYs, plotter.XY{X: float64(j), Y: float64(n - 1 - i)})
			lab.Labels = append(lab.Labels, strconv.Itoa(c))
			clr := color.Color(textColor)
			if share(c, row) > 0.55 {
				clr = color.White
			}
			styles = append(styles, text.Style{Color: clr, Font: font.From(sansFont, size),
				XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler})
		}
	}
	if len(lab.XYs) == 0 {
		return nil
	}
	l, err := plotter.NewLabels(lab)
	if err != nil {
		return err
	}
	l.TextStyle = styles
	p.Add(l)
	return nil
}

func countsNote(n int) string {
	if n <= maxNamedClasses {
		return "; numbers are counts of test images, zeros left blank"
	}
	return fmt.Sprintf("; %d classes are too many to print counts, see the table below", n)
}

func widestLabel(sty text.Style, names []string) vg.Length {
	var w vg.Length
	for _, s := range names {
		w = max(w, sty.Width(s))
	}
	return w
}

// weakestClasses names the classes with the lowest recall, the first
// thing to look at in a confusion matrix.
func weakestClasses(m [][]int, classes []string) string {
	type rc struct {
		i      int
		recall float64
		n      int
	}
	var rs []rc
	for i, row := range m {
		total := 0
		for _, x := range row {
			total += x
		}
		if total > 0 {
			rs = append(rs, rc{i, share(row[i], row), total})
		}
	}
	sort.SliceStable(rs, func(a, b int) bool { return rs[a].recall < rs[b].recall })
	var parts []string
	for _, r := range rs[:min(3, len(rs))] {
		if r.recall >= 1 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %s%% (%d of %d)", className(classes, r.i, len(m)), pct(r.recall), m[r.i][r.i], r.n))
	}
	if len(parts) == 0 {
		return " Every class was recognised perfectly."
	}
	return " Lowest recall: " + strings.Join(parts, ", ") + "."
}

func className(classes []string, i, n int) string {
	if len(classes) == n {
		return classes[i]
	}
	return "class " + strconv.Itoa(i)
}
