package figure

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// LabelledBox is a box to draw on an image: its corners in the image's
// pixels (x1, y1, x2, y2, as detectors give them), the class that picks
// its colour, and the label written over it (e.g. "stop 0.91").
type LabelledBox struct {
	X1, Y1, X2, Y2 float64
	Class          int
	Label          string
}

// BoxColours are the classes' colours, by class index modulo their count:
// Tableau's ten, which stay apart from each other on photographs and for
// the common colour blindnesses.
var BoxColours = []color.NRGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255}, {148, 103, 189, 255},
	{140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255},
}

// labelFace is the labels' font: a bitmap face, so that drawing is
// deterministic and needs no font file.
var labelFace = basicfont.Face7x13

// DrawBoxes returns a copy of img with every box outlined in its class's
// colour and its label on a tab of that colour, above the box where there
// is room and inside it otherwise. Boxes are drawn in order, so the last
// is on top: give them worst first to keep the best readable. Boxes
// reaching past the image are clipped to it; img is not modified.
func DrawBoxes(img image.Image, boxes []LabelledBox) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Src)
	// Lines two pixels wide from 200 px up, where one is lost on a photo.
	width := 1
	if min(b.Dx(), b.Dy()) >= 200 {
		width = 2
	}
	for _, bx := range boxes {
		if !finite(bx.X1, bx.Y1, bx.X2, bx.Y2) {
			continue
		}
		col := BoxColours[((bx.Class%len(BoxColours))+len(BoxColours))%len(BoxColours)]
		r := image.Rect(int(math.Floor(bx.X1)), int(math.Floor(bx.Y1)), int(math.Ceil(bx.X2)), int(math.Ceil(bx.Y2))).Intersect(out.Bounds())
		if r.Empty() {
			continue
		}
		for k := range width {
			outline(out, r.Inset(k), col)
		}
		if bx.Label != "" {
			label(out, r, col, bx.Label)
		}
	}
	return out
}

// label writes s on a tab of colour col at the top left corner of box r.
func label(dst *image.NRGBA, r image.Rectangle, col color.NRGBA, s string) {
	const pad, height, ascent = 2, 13, 10
	w := font.MeasureString(labelFace, s).Ceil() + 2*pad
	top := r.Min.Y - height
	if top < 0 {
		top = r.Min.Y // no room above: inside the box
	}
	left := min(r.Min.X, dst.Bounds().Dx()-w)
	tab := image.Rect(left, top, left+w, top+height).Intersect(dst.Bounds())
	draw.Draw(dst, tab, image.NewUniform(col), image.Point{}, draw.Src)
	ink := color.NRGBA{255, 255, 255, 255}
	// Dark text on light tabs (Rec. 601 luma), light on dark.
	if 299*int(col.R)+587*int(col.G)+114*int(col.B) > 150_000 {
		ink = color.NRGBA{0, 0, 0, 255}
	}
	d := font.Drawer{Dst: dst, Src: image.NewUniform(ink), Face: labelFace, Dot: fixed.P(left+pad, top+ascent)}
	d.DrawString(s)
}

// outline draws the one-pixel border of r.
func outline(dst *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	if r.Empty() {
		return
	}
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetNRGBA(x, r.Min.Y, c)
		dst.SetNRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetNRGBA(r.Min.X, y, c)
		dst.SetNRGBA(r.Max.X-1, y, c)
	}
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
