package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/graftml/graft/synth"
	"github.com/spf13/cobra"
)

// SynthOptions are the settings of `graft synth`. Zero PerClass and Size
// take the defaults of the mode (a data set or a contact sheet).
type SynthOptions struct {
	Country    string  // country code
	Classes    string  // comma-separated class names or IDs, or "all"
	PerClass   int     // images per class (default 100), or variants per class with Sheet (default 4)
	Size       int     // pixels (default 32, or 64 with Sheet)
	Seed       uint64  // data set seed
	Shift      float64 // 0 base style .. 1 the country's own
	Difficulty float64 // 0 clean .. 1 hard
	Out        string  // output folder
	Sheet      bool    // write a contact sheet instead of a data set
	Scenes     bool    // street scenes with boxes (COCO) instead of sign crops
	Images     int     // scenes to draw with Scenes (default 200)
	SceneSize  string  // WIDTHxHEIGHT of a scene (default 320x240)
	Quiet      bool
	JSON       bool
}

func newSynthCmd(g *globals) *cobra.Command {
	opt := SynthOptions{Country: synth.Base, Classes: "all", Seed: 1, Shift: 1, Difficulty: 0.5}
	cmd := &cobra.Command{
		Use:   "synth --out DIR [flags]",
		Short: "Generate synthetic traffic signs in a country's style",
		Long: `Generate a traffic-sign data set with no download: the same classes drawn
in the style of one country, with seeded nuisances (perspective, clutter,
occlusion, blur, noise, compression, faded paint).

The output is an image-folder tree: one folder per class named by its
zero-padded ID (00, 01, ...; the ID is the label), NNNNNN.png files inside,
plus classes.csv (id,name,shape,meaning) and classmap.csv (the ID of every
meaning in every country, empty where a country lacks it).

--shift dials the style from the base country "be" (0) to the chosen
country's own (1); --difficulty dials the nuisances from a clean centred
sign (0) to hard (1). The same flags and seed always give the same bytes.

With --sheet, writes DIR/synth-COUNTRY.png instead: every class, a clean
sign followed by harder variants, labelled, to compare styles by eye.

With --scenes, draws street scenes for detection instead: procedural
streets (sky, buildings, road, trees, clutter) with 1 to 4 signs on poles
each, 12 to 120 px across, turned, faded, occluded and blurred more as
--difficulty rises. Writes DIR/images/NNNNNN.png and DIR/annotations.json
(COCO: open it as coco:DIR/annotations.json); --sheet with --scenes writes
DIR/scenes-COUNTRY.png, the first scenes with their boxes drawn.`,
		Example: `  graft synth --country de --out signs-de
  graft synth --country it --classes limit30,stop,12 --per-class 50 --size 48 --out small-it
  graft synth --country se --shift 0.3 --difficulty 0.2 --seed 7 --out near-se
  graft synth --country es --sheet --out docs/img
  graft synth --scenes --country de --images 200 --out scenes-de`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Quiet, opt.JSON = g.quiet, g.json
			return runSynth(cmd.Context(), opt, cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Country, "country", opt.Country, "sign style: "+strings.Join(synth.CountryCodes(), ", "))
	f.StringVar(&opt.Classes, "classes", opt.Classes, `comma-separated class names or IDs, "all", or "shared" (the classes every country has)`)
	f.IntVar(&opt.PerClass, "per-class", 0, "images per class (default 100; variants per class with --sheet, default 4)")
	f.IntVar(&opt.Size, "size", 0, withNote("size", "of the images written (default 32; 64 with --sheet)"))
	seedFlag(f, &opt.Seed, "")
	f.Float64Var(&opt.Shift, "shift", opt.Shift, "style from the base country (0) to the chosen country's (1)")
	f.Float64Var(&opt.Difficulty, "difficulty", opt.Difficulty, "nuisances from none (0) to hard (1)")
	f.StringVar(&opt.Out, "out", "", withNote("out", "the folder to write (required)"))
	f.BoolVar(&opt.Sheet, "sheet", false, "write a contact sheet of every class instead of a data set")
	f.BoolVar(&opt.Scenes, "scenes", false, "draw street scenes with boxes (COCO JSON) for detection")
	f.IntVar(&opt.Images, "images", 0, "scenes to draw with --scenes (default 200; 8 with --sheet)")
	f.StringVar(&opt.SceneSize, "scene-size", "320x240", "WIDTHxHEIGHT of a scene with --scenes")
	return cmd
}

// synthResult is what --json prints.
type synthResult struct {
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

func runSynth(ctx context.Context, opt SynthOptions, stdout io.Writer) error {
	if opt.Out == "" {
		return errors.New("synth needs --out: the folder to write the images (or the sheet) into")
	}
	country, err := synth.LookupCountry(opt.Country)
	if err != nil {
		return err
	}
	res := synthResult{Out: opt.Out, Country: country.Code, Seed: opt.Seed, Shift: opt.Shift, Difficulty: opt.Difficulty}
	if opt.Scenes {
		if err := synthScenes(ctx, opt, country, &res); err != nil {
			return err
		}
	} else if opt.Sheet {
		if err := synthSheet(opt, country, &res); err != nil {
			return err
		}
	} else if err := synthTree(ctx, opt, country, &res); err != nil {
		return err
	}
	switch {
	case opt.JSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case opt.Quiet:
		return nil
	case opt.Scenes && opt.Sheet:
		_, err = fmt.Fprintf(stdout, "wrote contact sheet of %d scenes (%s, %s, difficulty %g) with their boxes to %s\n",
			res.Images, country.Code, res.SceneSize, opt.Difficulty, res.Sheet)
	case opt.Scenes:
		_, err = fmt.Fprintf(stdout, "wrote %d scenes with %d signs of %d classes (%s, %s, seed %d, shift %g, difficulty %g) to %s; open them as coco:%s\n",
			res.Images, res.Boxes, res.Classes, country.Code, res.SceneSize, opt.Seed, opt.Shift, opt.Difficulty, opt.Out, res.COCO)
	case opt.Sheet:
		_, err = fmt.Fprintf(stdout, "wrote contact sheet of %d classes (%s, shift %g, difficulty %g) to %s\n",
			res.Classes, country.Code, opt.Shift, opt.Difficulty, res.Sheet)
	default:
		classes := "classes"
		if res.Classes == 1 {
			classes = "class"
		}
		_, err = fmt.Fprintf(stdout, "wrote %d images of %d %s (%s, %d px, seed %d, shift %g, difficulty %g) to %s\n",
			res.Images, res.Classes, classes, country.Code, res.Size, opt.Seed, opt.Shift, opt.Difficulty, opt.Out)
	}
	return err
}

func synthTree(ctx context.Context, opt SynthOptions, country synth.Country, res *synthResult) error {
	if opt.PerClass == 0 {
		opt.PerClass = 100
	}
	if opt.PerClass < 0 {
		return fmt.Errorf("--per-class %d: use 1 or more images per class", opt.PerClass)
	}
	if opt.Size == 0 {
		opt.Size = 32
	}
	set, err := synth.New(synth.Config{
		Country:    country.Code,
		Classes:    synthClassList(opt.Classes),
		PerClass:   opt.PerClass,
		Size:       opt.Size,
		Seed:       opt.Seed,
		Shift:      opt.Shift,
		Difficulty: opt.Difficulty,
	})
	if err != nil {
		return err
	}
	if err := synth.WriteTree(ctx, set, opt.Out, nil); err != nil {
		return err
	}
	res.Classes, res.Images, res.Size = len(set.Classes()), set.Len(), opt.Size
	return nil
}

func synthSheet(opt SynthOptions, country synth.Country, res *synthResult) error {
	if c := strings.TrimSpace(opt.Classes); c != "" && !strings.EqualFold(c, "all") {
		return fmt.Errorf("--classes %q does not apply to --sheet, which draws every class; drop --classes", opt.Classes)
	}
	if opt.PerClass < 0 {
		return fmt.Errorf("--per-class %d: use 1 or more variants per class", opt.PerClass)
	}
	if opt.Size == 0 {
		opt.Size = 64
	}
	img, err := synth.Sheet(country.Code, synth.SheetOptions{
		Size: opt.Size, Variants: opt.PerClass, Seed: opt.Seed, Shift: opt.Shift, Difficulty: opt.Difficulty,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", opt.Out, err)
	}
	path := filepath.Join(opt.Out, "synth-"+country.Code+".png")
	if err := synth.WritePNG(path, img); err != nil {
		return err
	}
	cat, err := synth.Catalogue(country.Code)
	if err != nil {
		return err
	}
	res.Classes, res.Sheet, res.Size = len(cat), path, opt.Size
	return nil
}

// synthClassList splits a comma-separated flag value, dropping empty items.
func synthClassList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// synthScenes writes street scenes with their COCO annotations, or with
// --sheet a contact sheet of the first ones with their boxes drawn.
func synthScenes(ctx context.Context, opt SynthOptions, country synth.Country, res *synthResult) error {
	if opt.PerClass != 0 || opt.Size != 0 {
		return errors.New("--per-class and --size do not apply to --scenes; use --images and --scene-size")
	}
	var w, h int
	if _, err := fmt.Sscanf(opt.SceneSize, "%dx%d", &w, &h); err != nil || fmt.Sprintf("%dx%d", w, h) != opt.SceneSize {
		return fmt.Errorf("--scene-size %q: want WIDTHxHEIGHT in pixels, e.g. 320x240", opt.SceneSize)
	}
	if opt.Images < 0 {
		return fmt.Errorf("--images %d: use 1 or more", opt.Images)
	}
	images := opt.Images
	if images == 0 && opt.Sheet {
		images = 8
	}
	scenes, err := synth.NewScenes(synth.SceneConfig{
		Country: country.Code, Classes: synthClassList(opt.Classes), Images: images,
		Width: w, Height: h, Seed: opt.Seed, Shift: opt.Shift, Difficulty: opt.Difficulty,
	})
	if err != nil {
		return err
	}
	res.Classes, res.Images, res.SceneSize = len(scenes.Classes()), scenes.Len(), opt.SceneSize
	if err := os.MkdirAll(opt.Out, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", opt.Out, err)
	}
	if opt.Sheet {
		img, err := synth.SceneSheet(scenes, synth.SceneSheetOptions{Images: images})
		if err != nil {
			return err
		}
		res.Sheet = filepath.Join(opt.Out, "scenes-"+country.Code+".png")
		return synth.WritePNG(res.Sheet, img)
	}
	if err := synth.WriteScenes(ctx, scenes, opt.Out, nil); err != nil {
		return err
	}
	for i := range scenes.Len() {
		res.Boxes += len(scenes.Boxes(i))
	}
	res.COCO = filepath.Join(opt.Out, synth.SceneAnnotations)
	return nil
}
