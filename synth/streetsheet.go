package synth

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
)

// SceneSheetOptions controls a contact sheet of scenes. Zero values take
// the defaults noted.
type SceneSheetOptions struct {
	Images   int  // scenes on the sheet, the set's first; default 8
	Columns  int  // scenes per row; default 4
	NoLabels bool // omit the title and the class IDs over the boxes
}

// boxColours are bright and distinct from each other and from the
// street's muted palette, so every box stands out; a class keeps its
// colour on every scene.
var boxColours = []color.NRGBA{
	{255, 0, 255, 255}, {0, 255, 255, 255}, {255, 255, 0, 255}, {0, 255, 0, 255},
	{255, 128, 0, 255}, {128, 128, 255, 255}, {255, 0, 0, 255}, {255, 255, 255, 255},
}

// SceneSheet draws the set's first scenes at full size in a grid with every
// box outlined in its class's colour and labelled with the class ID: the
// way to check by eye that boxes sit on the signs.
func SceneSheet(s *Scenes, opt SceneSheetOptions) (*image.NRGBA, error) {
	if opt.Images == 0 {
		opt.Images = 8
	}
	if opt.Columns == 0 {
		opt.Columns = 4
	}
	if opt.Images < 1 || opt.Columns < 1 {
		return nil, fmt.Errorf("scene sheet: images %d and columns %d must be 1 or more", opt.Images, opt.Columns)
	}
	count := min(opt.Images, s.Len())
	if count == 0 {
		return nil, fmt.Errorf("scene sheet: the set has no images")
	}
	cols := min(opt.Columns, count)
	rows := (count + cols - 1) / cols
	const margin, gap = 10, 8
	title := 24
	if opt.NoLabels {
		title = 0
	}
	sw, sh := s.cfg.Width, s.cfg.Height
	W := 2*margin + cols*sw + (cols-1)*gap
	H := 2*margin + title + rows*sh + (rows-1)*gap
	sheet := image.NewNRGBA(image.Rect(0, 0, W, H))
	draw.Draw(sheet, sheet.Bounds(), image.NewUniform(color.NRGBA{250, 250, 248, 255}), image.Point{}, draw.Src)
	if !opt.NoLabels {
		c := s.cfg
		text(sheet, image.NewUniform(color.NRGBA{30, 30, 30, 255}), margin, margin+13,
			fmt.Sprintf("graft synth --scenes: %s (%s), %dx%d, seed %d, shift %g, difficulty %g", s.country.Name, s.country.Code, c.Width, c.Height, c.Seed, c.Shift, c.Difficulty))
	}
	for i := range count {
		at := image.Pt(margin+(i%cols)*(sw+gap), margin+title+(i/cols)*(sh+gap))
		img, err := s.NRGBA(i)
		if err != nil {
			return nil, err
		}
		draw.Draw(sheet, image.Rectangle{Min: at, Max: at.Add(image.Pt(sw, sh))}, img, image.Point{}, draw.Src)
		for _, b := range s.Boxes(i) {
			col := boxColours[b.Class%len(boxColours)]
			// The outline sits just outside the box so it hides no sign pixel.
			x0, y0 := at.X+int(math.Floor(b.X1))-1, at.Y+int(math.Floor(b.Y1))-1
			x1, y1 := at.X+int(math.Ceil(b.X2)), at.Y+int(math.Ceil(b.Y2))
			outline(sheet, image.Rect(x0, y0, x1+1, y1+1).Intersect(image.Rectangle{Min: at.Sub(image.Pt(1, 1)), Max: at.Add(image.Pt(sw+1, sh+1))}), col)
			if !opt.NoLabels {
				ty := y0 - 2
				if ty-10 < at.Y {
					ty = y1 + 11
				}
				text(sheet, image.NewUniform(col), x0, ty, s.classes[b.Class].Dir())
			}
		}
	}
	return sheet, nil
}

// outline draws the one-pixel border of r.
func outline(dst *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		dst.SetNRGBA(x, r.Min.Y, c)
		dst.SetNRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		dst.SetNRGBA(r.Min.X, y, c)
		dst.SetNRGBA(r.Max.X-1, y, c)
	}
}
