package figure

import (
	"bytes"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// Both formats come out, and drawing twice gives the same bytes: golden
// files (report's, and the lr-find and bench plots) depend on it.
func TestStandaloneIsDeterministic(t *testing.T) {
	draw := func() ([]byte, []byte) {
		p := plot.New()
		p.Title.Text = "t"
		l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 3}})
		if err != nil {
			t.Fatal(err)
		}
		p.Add(l)
		svg, png, err := Standalone(p)
		if err != nil {
			t.Fatal(err)
		}
		return svg, png
	}
	svg1, png1 := draw()
	svg2, png2 := draw()
	if !bytes.HasPrefix(svg1, []byte("<?xml")) || !bytes.HasPrefix(png1, []byte("\x89PNG")) {
		t.Fatalf("svg starts %q, png starts %q", svg1[:min(10, len(svg1))], png1[:min(4, len(png1))])
	}
	if !bytes.Equal(svg1, svg2) || !bytes.Equal(png1, png2) {
		t.Error("two renderings of the same plot differ")
	}
}
