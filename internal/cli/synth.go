package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/graftml/graft/synth"
	"github.com/spf13/cobra"
)

// SynthOptions are graft synth's flags: what synth.Generate writes.
type SynthOptions = synth.Request

func newSynthCmd(g *globals) *cobra.Command {
	o := SynthOptions{Country: synth.Base, Classes: "all", Seed: 1, Shift: 1, Difficulty: 0.5}
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
		RunE: runE(g, &o, runSynth),
	}
	f := cmd.Flags()
	f.StringVar(&o.Country, "country", o.Country, "sign style: "+strings.Join(synth.CountryCodes(), ", "))
	f.StringVar(&o.Classes, "classes", o.Classes, `comma-separated class names or IDs, "all", or "shared" (the classes every country has)`)
	f.IntVar(&o.PerClass, "per-class", 0, "images per class (default 100; variants per class with --sheet, default 4)")
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the images written (default 32; 64 with --sheet)"))
	seedFlag(f, &o.Seed, "")
	f.Float64Var(&o.Shift, "shift", o.Shift, "style from the base country (0) to the chosen country's (1)")
	f.Float64Var(&o.Difficulty, "difficulty", o.Difficulty, "nuisances from none (0) to hard (1)")
	f.StringVar(&o.Out, "out", "", withNote("out", "the folder to write (required)"))
	f.BoolVar(&o.Sheet, "sheet", false, "write a contact sheet of every class instead of a data set")
	f.BoolVar(&o.Scenes, "scenes", false, "draw street scenes with boxes (COCO JSON) for detection")
	f.IntVar(&o.Images, "images", 0, "scenes to draw with --scenes (default 200; 8 with --sheet)")
	f.StringVar(&o.SceneSize, "scene-size", "320x240", "WIDTHxHEIGHT of a scene with --scenes")
	return cmd
}

func runSynth(ctx context.Context, o SynthOptions, g *globals, stdout, stderr io.Writer) error {
	if o.Out == "" {
		return errors.New("synth needs --out: the folder to write the images (or the sheet) into")
	}
	res, err := synth.Generate(ctx, o)
	if err != nil {
		return err
	}
	switch {
	case g.json:
		return writeJSON(stdout, res)
	case g.quiet:
		return nil
	case o.Scenes && o.Sheet:
		_, err = fmt.Fprintf(stdout, "wrote contact sheet of %d scenes (%s, %s, difficulty %g) with their boxes to %s\n",
			res.Images, res.Country, res.SceneSize, o.Difficulty, res.Sheet)
	case o.Scenes:
		_, err = fmt.Fprintf(stdout, "wrote %d scenes with %d signs of %d classes (%s, %s, seed %d, shift %g, difficulty %g) to %s; open them as coco:%s\n",
			res.Images, res.Boxes, res.Classes, res.Country, res.SceneSize, o.Seed, o.Shift, o.Difficulty, o.Out, res.COCO)
	case o.Sheet:
		_, err = fmt.Fprintf(stdout, "wrote contact sheet of %d classes (%s, shift %g, difficulty %g) to %s\n",
			res.Classes, res.Country, o.Shift, o.Difficulty, res.Sheet)
	default:
		classes := "classes"
		if res.Classes == 1 {
			classes = "class"
		}
		_, err = fmt.Fprintf(stdout, "wrote %d images of %d %s (%s, %d px, seed %d, shift %g, difficulty %g) to %s\n",
			res.Images, res.Classes, classes, res.Country, res.Size, o.Seed, o.Shift, o.Difficulty, o.Out)
	}
	return err
}
