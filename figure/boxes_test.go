package figure

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// gradient is a w×h test picture no box colour occurs in.
func gradient(w, h int) *image.NRGBA {
	im := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			im.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255})
		}
	}
	return im
}

// TestDrawBoxes: boxes are outlined in their class's colour, the inside
// and the rest of the picture are left alone, the input is not modified,
// and boxes that reach outside (or are not numbers) neither panic nor draw
// outside.
func TestDrawBoxes(t *testing.T) {
	cases := []struct {
		name    string
		boxes   []LabelledBox
		edge    image.Point // a pixel on the outline, or (-1, -1)
		colour  color.NRGBA
		inside  image.Point // a pixel that keeps its colour
		changed bool
	}{
		{"none", nil, image.Pt(-1, -1), color.NRGBA{}, image.Pt(30, 30), false},
		{"one", []LabelledBox{{X1: 20, Y1: 30, X2: 50, Y2: 45, Class: 1, Label: "b"}}, image.Pt(35, 30), BoxColours[1], image.Pt(35, 38), true},
		{"class past the palette", []LabelledBox{{X1: 20, Y1: 30, X2: 50, Y2: 45, Class: 12}}, image.Pt(20, 40), BoxColours[2], image.Pt(35, 38), true},
		{"negative class", []LabelledBox{{X1: 20, Y1: 30, X2: 50, Y2: 45, Class: -1}}, image.Pt(49, 40), BoxColours[9], image.Pt(35, 38), true},
		{"past the edges", []LabelledBox{{X1: -30, Y1: -5, X2: 500, Y2: 20, Class: 0, Label: "a long label that does not fit"}}, image.Pt(30, 19), BoxColours[0], image.Pt(30, 40), true},
		{"outside", []LabelledBox{{X1: 100, Y1: 100, X2: 120, Y2: 130, Label: "x"}}, image.Pt(-1, -1), color.NRGBA{}, image.Pt(30, 30), false},
		{"not numbers", []LabelledBox{{X1: math.NaN(), Y1: 0, X2: math.Inf(1), Y2: 10, Label: "x"}}, image.Pt(-1, -1), color.NRGBA{}, image.Pt(30, 30), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := gradient(64, 48)
			orig := bytes.Clone(in.Pix)
			out := DrawBoxes(in, c.boxes)
			if !bytes.Equal(in.Pix, orig) {
				t.Fatal("DrawBoxes modified its input")
			}
			if out.Bounds() != in.Bounds() {
				t.Fatalf("bounds %v, want %v", out.Bounds(), in.Bounds())
			}
			if changed := !bytes.Equal(out.Pix, in.Pix); changed != c.changed {
				t.Errorf("picture changed: %v, want %v", changed, c.changed)
			}
			if c.edge.X >= 0 {
				if got := out.NRGBAAt(c.edge.X, c.edge.Y); got != c.colour {
					t.Errorf("outline pixel %v is %v, want %v", c.edge, got, c.colour)
				}
			}
			if got, want := out.NRGBAAt(c.inside.X, c.inside.Y), in.NRGBAAt(c.inside.X, c.inside.Y); got != want {
				t.Errorf("pixel %v inside the box became %v, was %v", c.inside, got, want)
			}
		})
	}
}

// TestDrawBoxesGolden holds the drawing (outline widths, tabs above and
// inside, text colour on light and dark tabs) to testdata/boxes.golden.png.
func TestDrawBoxesGolden(t *testing.T) {
	out := DrawBoxes(gradient(240, 160), []LabelledBox{
		{X1: 10.4, Y1: 4, X2: 90, Y2: 60, Class: 0, Label: "stop 0.91"},
		{X1: 120, Y1: 50, X2: 200.6, Y2: 150, Class: 8, Label: "yield 0.55"},
	})
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "boxes.golden.png")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("the drawing differs from testdata/boxes.golden.png; look at it and rerun with -update if the change is meant")
	}
}
