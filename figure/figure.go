package figure

import (
	"bytes"
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Standalone sizes: a plot that stands on its own (graft lr-find --plot,
// graft bench --plot) is 7×4 inches, its PNG at 110 dpi.
const (
	StandaloneWidth  = 7 * vg.Inch
	StandaloneHeight = 4 * vg.Inch
	StandaloneDPI    = 110
)

// Standalone draws p at the standalone size into SVG and PNG.
func Standalone(p *plot.Plot) (svg, png []byte, err error) {
	return Render(p, StandaloneWidth, StandaloneHeight, StandaloneDPI)
}

// Render draws a gonum plot at w×h into SVG and into a PNG at dpi,
// keeping gonum's own layout.
func Render(p *plot.Plot, w, h vg.Length, dpi int) (svg, png []byte, err error) {
	return RenderFunc(p.Draw, w, h, dpi)
}

// RenderFunc runs drawOn once on an SVG canvas and once on a PNG canvas
// of w×h (the PNG at dpi): for layouts that draw more than one plot.
func RenderFunc(drawOn func(draw.Canvas), w, h vg.Length, dpi int) (svg, png []byte, err error) {
	sc := vgsvg.New(w, h)
	drawOn(draw.New(sc))
	var sb bytes.Buffer
	if _, err := sc.WriteTo(&sb); err != nil {
		return nil, nil, fmt.Errorf("render svg: %w", err)
	}
	ic := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi))
	drawOn(draw.New(ic))
	var pb bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: ic}).WriteTo(&pb); err != nil {
		return nil, nil, fmt.Errorf("render png: %w", err)
	}
	return sb.Bytes(), pb.Bytes(), nil
}
