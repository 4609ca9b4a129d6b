package synth

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// SheetOptions controls a contact sheet. Zero values take the defaults
// noted, except Shift and Difficulty.
type SheetOptions struct {
	Size       int     // pixels per sign; default 64
	Variants   int     // signs per class; the first is always clean; default 4
	Columns    int     // classes per row; default 5
	Seed       uint64  // seed of the variants
	Shift      float64 // style shift, as in Config; a sheet of the country's own style wants 1
	Difficulty float64 // difficulty of all variants but the first
	NoLabels   bool    // omit the title and class labels
}

// Sheet renders a contact sheet of every class of a country: one tile per
// class with a clean sign followed by harder variants, labelled with the
// class ID and name, so styles can be compared side by side.
func Sheet(country string, opt SheetOptions) (*image.NRGBA, error) {
	c, err := LookupCountry(country)
	if err != nil {
		return nil, err
	}
	if opt.Size == 0 {
		opt.Size = 64
	}
	if opt.Variants == 0 {
		opt.Variants = 4
	}
	if opt.Columns == 0 {
		opt.Columns = 5
	}
	if err := checkKnobs(opt.Size, opt.Shift, opt.Difficulty); err != nil {
		return nil, fmt.Errorf("sheet: %w", err)
	}
	if opt.Variants < 1 || opt.Columns < 1 {
		return nil, fmt.Errorf("sheet: variants %d and columns %d must be 1 or more", opt.Variants, opt.Columns)
	}
	defs := catalogue(c)
	classes := classesOf(c, defs)
	const margin, gap, pad = 10, 14, 2
	label := 16
	title := 24
	if opt.NoLabels {
		label, title = 0, 0
	}
	tileW := opt.Variants*opt.Size + (opt.Variants-1)*pad
	tileH := label + opt.Size
	rows := (len(defs) + opt.Columns - 1) / opt.Columns
	W := 2*margin + opt.Columns*tileW + (opt.Columns-1)*gap
	H := 2*margin + title + rows*tileH + (rows-1)*gap
	sheet := image.NewNRGBA(image.Rect(0, 0, W, H))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.NRGBA{250, 250, 248, 255}), image.Point{}, draw.Src)
	ink := image.NewUniform(color.NRGBA{30, 30, 30, 255})
	if !opt.NoLabels {
		text(sheet, ink, margin, margin+13, fmt.Sprintf("graft synth: %s (%s), shift %g, difficulty 0 then %g", c.Name, c.Code, opt.Shift, opt.Difficulty))
	}
	buf := make([]float32, 3*opt.Size*opt.Size)
	for k := range defs {
		x0 := margin + (k%opt.Columns)*(tileW+gap)
		y0 := margin + title + (k/opt.Columns)*(tileH+gap)
		if !opt.NoLabels {
			text(sheet, ink, x0, y0+12, fmt.Sprintf("%s %s", classes[k].Dir(), classes[k].Name))
		}
		for v := range opt.Variants {
			d := opt.Difficulty
			if v == 0 {
				d = 0
			}
			render(buf, job{country: &c, def: &defs[k], size: opt.Size, seed: opt.Seed, j: v, shift: opt.Shift, difficulty: d})
			img := toNRGBA(buf, opt.Size, opt.Size)
			at := image.Pt(x0+v*(opt.Size+pad), y0+label)
			draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(image.Pt(opt.Size, opt.Size))}, img, image.Point{}, draw.Src)
		}
	}
	return sheet, nil
}

func text(dst draw.Image, ink image.Image, x, y int, s string) {
	d := font.Drawer{Dst: dst, Src: ink, Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
