package report

import (
	"bytes"
	"image/color"
	"regexp"
	"strings"

	"github.com/graftml/graft/figure"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure is one plot, rendered both ways: SVG for the HTML report and for
// scaling, PNG for places that cannot show SVG (some Markdown viewers).
type Figure struct {
	Name    string // file name without extension, e.g. "learning-curves-5-shot"
	Title   string
	Caption string // what the figure shows and how it was computed
	SVG     []byte
	PNG     []byte
}

// pngDPI makes the PNGs sharp on high-density screens without being huge.
const pngDPI = 144

// strategyColors is Tableau 10: distinguishable, colour-blind friendlier
// than the default palettes, and printable.
var strategyColors = []color.RGBA{
	{0x4e, 0x79, 0xa7, 0xff}, {0xf2, 0x8e, 0x2b, 0xff}, {0xe1, 0x57, 0x59, 0xff},
	{0x76, 0xb7, 0xb2, 0xff}, {0x59, 0xa1, 0x4f, 0xff}, {0xed, 0xc9, 0x48, 0xff},
	{0xb0, 0x7a, 0xa1, 0xff}, {0xff, 0x9d, 0xa7, 0xff}, {0x9c, 0x75, 0x5f, 0xff},
	{0xba, 0xb0, 0xac, 0xff},
}

// strategyColor is the colour of the i-th strategy of the canonical
// order, so that a strategy has the same colour in every figure.
func strategyColor(i int) color.RGBA { return strategyColors[i%len(strategyColors)] }

var (
	gridColor = color.RGBA{0xe3, 0xe6, 0xea, 0xff}
	axisColor = color.RGBA{0x55, 0x5b, 0x63, 0xff}
	textColor = color.RGBA{0x22, 0x26, 0x2b, 0xff}
	sansFont  = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// chart is a plot with its legend kept apart, to be drawn to the right of
// the data area: inside it, a legend hides lines wherever it is put.
type chart struct {
	*plot.Plot
	Key plot.Legend
}

// newChart is a plot in the report's house style: sans-serif text, grey
// axes, a light grid drawn by the caller where it helps reading values.
func newChart(title, xlabel, ylabel string) *chart {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sansFont, 12.5)
	p.Title.TextStyle.Color = textColor
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 11)
		a.Label.TextStyle.Color = textColor
		a.Tick.Label.Font = font.From(sansFont, 10)
		a.Tick.Label.Color = axisColor
		a.Color = axisColor
		a.Tick.Color = axisColor
	}
	p.X.Label.Text, p.Y.Label.Text = xlabel, ylabel
	key := plot.NewLegend()
	key.TextStyle.Font = font.From(sansFont, 10)
	key.TextStyle.Color = textColor
	key.ThumbnailWidth = vg.Points(22)
	key.Padding = vg.Points(3)
	key.Top, key.Left = true, true
	return &chart{Plot: p, Key: key}
}

// render draws c at w×h into both formats.
func render(c *chart, w, h vg.Length) (svg, png []byte, err error) {
	svg, png, err = renderWith(c.draw, w, h, pngDPI)
	if err != nil {
		return nil, nil, err
	}
	return fixSVGFonts(svg), png, nil
}

func renderWith(drawOn func(draw.Canvas), w, h vg.Length, dpi int) (svg, png []byte, err error) {
	return figure.RenderFunc(drawOn, w, h, dpi)
}

// draw centres the title over the whole figure, then gives the legend a
// column on the right, level with the top of the data area, and the plot
// the rest.
func (c *chart) draw(dc draw.Canvas) {
	if title := c.Title.Text; title != "" {
		sty := c.Title.TextStyle
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4)}, title)
		dc = draw.Crop(dc, 0, 0, 0, -(sty.Height(title) + c.Title.Padding + vg.Points(4)))
		c.Title.Text = "" // drawn; restored for the next rendering
		defer func() { c.Title.Text = title }()
	}
	// A margin on the right keeps the last tick label and the data off
	// the figure's edge.
	dc = draw.Crop(dc, 0, -vg.Points(10), 0, 0)
	keyW := c.Key.Rectangle(dc).Size().X
	if keyW == 0 {
		c.Plot.Draw(dc)
		return
	}
	gap := vg.Points(14)
	c.Plot.Draw(draw.Crop(dc, 0, -(keyW + gap), 0, 0))
	c.Key.Draw(draw.Crop(dc, dc.Size().X-keyW-gap/2, 0, 0, -vg.Points(2)))
}

// fixSVGFonts gives the SVG's font families fallbacks. The layout was
// measured with Liberation's metrics; Arimo and Arial share them, so text
// keeps fitting where Liberation is not installed.
func fixSVGFonts(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;"))
}

var (
	xmlDecl   = regexp.MustCompile(`^\s*<\?xml[^>]*\?>\s*`)
	xmlComent = regexp.MustCompile(`^\s*<!--.*?-->\s*`)
	svgSize   = regexp.MustCompile(`^<svg width="[^"]*" height="[^"]*"`)
)

// inlineSVG prepares a standalone SVG for embedding in HTML: no XML
// declaration, and no fixed size so CSS can scale it to its column (the
// viewBox keeps the aspect ratio).
func inlineSVG(svg []byte, label string) string {
	s := xmlDecl.ReplaceAllString(string(svg), "")
	s = xmlComent.ReplaceAllString(s, "")
	s = svgSize.ReplaceAllString(s, `<svg role="img" aria-label="`+htmlAttr(label)+`"`)
	return strings.TrimSpace(s)
}

func htmlAttr(s string) string {
	return strings.NewReplacer(`&`, "&amp;", `"`, "&quot;", `<`, "&lt;", `>`, "&gt;").Replace(s)
}
