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
sign followed by harder variants, labelled, to compare styles by eye.`,
		Example: `  graft synth --country de --out signs-de
  graft synth --country it --classes limit30,stop,12 --per-class 50 --size 48 --out small-it
  graft synth --country se --shift 0.3 --difficulty 0.2 --seed 7 --out near-se
  graft synth --country es --sheet --out docs/img`,
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
	if opt.Sheet {
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
