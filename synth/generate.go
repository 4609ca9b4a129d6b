package synth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Request is one thing graft synth writes into a folder: a data set of
// sign crops (the default), a contact sheet of every class (Sheet), street
// scenes with COCO boxes (Scenes), or a contact sheet of scenes (both).
// Zero PerClass, Size and Images take the defaults of the kind.
type Request struct {
	Country    string  // country code
	Classes    string  // comma-separated class names or IDs, "all" or "shared"
	PerClass   int     // images per class (default 100), or variants per class with Sheet (default 4)
	Size       int     // pixels (default 32, or 64 with Sheet)
	Seed       uint64  // the same request and seed give the same bytes
	Shift      float64 // 0 base style .. 1 the country's own
	Difficulty float64 // 0 clean .. 1 hard
	Out        string  // the folder to write
	Sheet      bool    // a contact sheet instead of a data set
	Scenes     bool    // street scenes with boxes instead of sign crops
	Images     int     // scenes to draw with Scenes (default 200; 8 with Sheet)
	SceneSize  string  // WIDTHxHEIGHT of a scene
}

// Written is what Generate wrote (graft synth --json).
type Written struct {
	Out        string  `json:"out"`
	Country    string  `json:"country"`
	Classes    int     `json:"classes"`
	Images     int     `json:"images,omitempty"`
	Sheet      string  `json:"sheet,omitempty"`
	Size       int     `json:"size"`
	Seed       uint64  `json:"seed"`
	Shift      float64 `json:"shift"`
	Difficulty float64 `json:"difficulty"`
	SceneSize  string  `json:"scene_size,omitempty"`
	Boxes      int     `json:"boxes,omitempty"`
	COCO       string  `json:"annotations,omitempty"`
}

// Generate writes what r asks for into r.Out.
func Generate(ctx context.Context, r Request) (Written, error) {
	country, err := LookupCountry(r.Country)
	if err != nil {
		return Written{}, err
	}
	res := Written{Out: r.Out, Country: country.Code, Seed: r.Seed, Shift: r.Shift, Difficulty: r.Difficulty}
	switch {
	case r.Scenes:
		err = r.writeScenes(ctx, country, &res)
	case r.Sheet:
		err = r.writeSheet(country, &res)
	default:
		err = r.writeTree(ctx, country, &res)
	}
	return res, err
}

func (r Request) writeTree(ctx context.Context, country Country, res *Written) error {
	if r.PerClass == 0 {
		r.PerClass = 100
	}
	if r.PerClass < 0 {
		return fmt.Errorf("--per-class %d: use 1 or more images per class", r.PerClass)
	}
	if r.Size == 0 {
		r.Size = 32
	}
	set, err := New(Config{Country: country.Code, Classes: classList(r.Classes), PerClass: r.PerClass, Size: r.Size,
		Seed: r.Seed, Shift: r.Shift, Difficulty: r.Difficulty})
	if err != nil {
		return err
	}
	if err := WriteTree(ctx, set, r.Out, nil); err != nil {
		return err
	}
	res.Classes, res.Images, res.Size = len(set.Classes()), set.Len(), r.Size
	return nil
}

func (r Request) writeSheet(country Country, res *Written) error {
	if c := strings.TrimSpace(r.Classes); c != "" && !strings.EqualFold(c, "all") {
		return fmt.Errorf("--classes %q does not apply to --sheet, which draws every class; drop --classes", r.Classes)
	}
	if r.PerClass < 0 {
		return fmt.Errorf("--per-class %d: use 1 or more variants per class", r.PerClass)
	}
	if r.Size == 0 {
		r.Size = 64
	}
	img, err := Sheet(country.Code, SheetOptions{Size: r.Size, Variants: r.PerClass, Seed: r.Seed, Shift: r.Shift, Difficulty: r.Difficulty})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", r.Out, err)
	}
	path := filepath.Join(r.Out, "synth-"+country.Code+".png")
	if err := WritePNG(path, img); err != nil {
		return err
	}
	cat, err := Catalogue(country.Code)
	if err != nil {
		return err
	}
	res.Classes, res.Sheet, res.Size = len(cat), path, r.Size
	return nil
}

// classList splits a comma-separated list, dropping empty items.
func classList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// writeScenes writes street scenes with their COCO annotations, or with
// Sheet a contact sheet of the first ones with their boxes drawn.
func (r Request) writeScenes(ctx context.Context, country Country, res *Written) error {
	if r.PerClass != 0 || r.Size != 0 {
		return errors.New("--per-class and --size do not apply to --scenes; use --images and --scene-size")
	}
	var w, h int
	if _, err := fmt.Sscanf(r.SceneSize, "%dx%d", &w, &h); err != nil || fmt.Sprintf("%dx%d", w, h) != r.SceneSize {
		return fmt.Errorf("--scene-size %q: want WIDTHxHEIGHT in pixels, e.g. 320x240", r.SceneSize)
	}
	if r.Images < 0 {
		return fmt.Errorf("--images %d: use 1 or more", r.Images)
	}
	images := r.Images
	if images == 0 && r.Sheet {
		images = 8
	}
	scenes, err := NewScenes(SceneConfig{Country: country.Code, Classes: classList(r.Classes), Images: images,
		Width: w, Height: h, Seed: r.Seed, Shift: r.Shift, Difficulty: r.Difficulty})
	if err != nil {
		return err
	}
	res.Classes, res.Images, res.SceneSize = len(scenes.Classes()), scenes.Len(), r.SceneSize
	if err := os.MkdirAll(r.Out, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", r.Out, err)
	}
	if r.Sheet {
		img, err := SceneSheet(scenes, SceneSheetOptions{Images: images})
		if err != nil {
			return err
		}
		res.Sheet = filepath.Join(r.Out, "scenes-"+country.Code+".png")
		return WritePNG(res.Sheet, img)
	}
	if err := WriteScenes(ctx, scenes, r.Out, nil); err != nil {
		return err
	}
	for i := range scenes.Len() {
		res.Boxes += len(scenes.Boxes(i))
	}
	res.COCO = filepath.Join(r.Out, SceneAnnotations)
	return nil
}
