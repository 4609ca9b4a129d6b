package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/graftml/graft/advise"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/safefile"
	"github.com/spf13/cobra"
)

// AdviseOptions are graft advise's flags.
type AdviseOptions struct {
	Adaptation
	Source     string
	Shots      int
	MaxImages  int
	Strategies string
	Budget     float64
	Ties       string
	RateChoice string
	Validate   bool
	Against    string
	Seeds      int
	Parallel   int
}

// AdviseReport is graft advise --json: the advice, and with --validate
// or --against how it held.
type AdviseReport struct {
	*advise.Advice
	Base string `json:"base"` // the base advised (the best of several)
	// Bases, when several were given: each one's scores at its head.
	Bases         []advise.BaseScore `json:"bases,omitempty"`
	BaseAgreement []advise.Agreement `json:"base_agreement,omitempty"`
	Validation    *advise.Validation `json:"validation,omitempty"`
}

func newAdviseCmd(g *globals) *cobra.Command {
	o := AdviseOptions{}
	cmd := &cobra.Command{
		Use:   "advise --base CKPT --train DATA [--source DATA] [flags]",
		Short: "Measure a target against a base and advise a transfer strategy",
		Long: `Advise a transfer strategy for a target data set, by measurement, on a
small share of what graft compare would spend.

First, without training: one inference pass over (a sample of) the
target gives, at every stage, cross-validated linear-probe and k-NN
accuracies on the frozen features, LogME, H-score and TransRate, and the
shift from the source (BatchNorm statistics, or with --source the Fréchet
distance and kernel MMD between feature distributions); the source
classifier gives LEEP, NCE, confidence and entropy. These place the
target in the four-case chart (small or large × similar or different),
order the candidates and prune head-only cuts whose features are
measurably worse than another's.

Then a race, on the validation folds graft compare would use and with its
selection rule: every strategy at every learning rate of the grid for a
sixth of the epochs (each keeps its best rate), every strategy at its rate
for the whole budget (and its runner-up rate where the short run could not
separate the two), and, on further seeds, every strategy the leader cannot yet be said to beat — while the compute stays within --budget of the full
comparison's, measurements included. The best is recommended, with its
rate and training length; where its paired interval cannot separate it
from others, the advice is a tie: it names the tied set, recommends the
best on validation and names the cheapest member beside it (--ties
cheapest recommends the cheapest instead).

--validate runs graft compare on the same data (--test, --out) and scores
the advice against it; --against scores it against a comparison already
run (its results.json). With --out, advice.json and race.json are
written there, and an interrupted advise resumes.

DATA is ` + data.SpecHelp,
		Example: `  graft advise --base be-src --train de-train/
  graft advise --base fm-src --train 'fashion-mnist?classes=5-9' --shots 10 --json
  graft advise --base be-src --train se-train/ --shots 20 --validate --test se-test/ --out se-advise`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runAdvise),
	}
	f := cmd.Flags()
	adaptationFlags(f, &o.Adaptation, defaultGrid, map[string]string{"base": "several, comma-separated, are measured and the best-probing one raced",
		"test": "for --validate", "out": "a folder for advice.json and race.json (resumed when rerun), and --validate's comparison",
		"epochs": "as graft compare --epochs", "patience": "as graft compare --patience", "lr-grid": "raced, as graft compare searches them",
		"val-split": "per validation fold", "folds": "as graft compare --folds", "group": "as graft compare --group"})
	f.StringVar(&o.Source, "source-data", "", "a sample of the source data: distances between feature distributions")
	shotsFlag(f, &o.Shots, "sampled as graft compare --shots samples them")
	f.IntVar(&o.MaxImages, "max-images", 1000, "images the training-free measurements use at most (a random sample, every class kept)")
	f.StringVar(&o.Strategies, "strategies", "all", withNote("strategies", "the candidates"))
	f.Float64Var(&o.Budget, "budget", experiment.DefaultRaceBudget, "compute advise may spend, as a share of the full comparison's (measurements included)")
	f.StringVar(&o.RateChoice, "rate-choice", experiment.RateBest, withNote("rate-choice", "the race's, as the comparison it stands for chooses"))
	f.StringVar(&o.Ties, "ties", advise.TieBest, "what a tie recommends: best (the best on validation, naming the cheapest beside it) or cheapest (the tied strategy with the least training work)")
	f.BoolVar(&o.Validate, "validate", false, "run graft compare on the same data and score the advice against it")
	f.StringVar(&o.Against, "against", "", "score the advice against a comparison already run: its results.json")
	f.IntVar(&o.Seeds, "seeds", 3, withNote("seeds", "those of the comparison advise stands in for: the race's last rung runs the best on them"))
	f.IntVar(&o.Parallel, "parallel", 1, withNote("parallel", "comparison runs of --validate"))
	return cmd
}

// compareOptions is the comparison an advice stands in for.
func (o AdviseOptions) compareOptions() CompareOptions {
	shots := "all"
	if o.Shots > 0 {
		shots = fmt.Sprint(o.Shots)
	}
	return CompareOptions{Adaptation: o.Adaptation, Strategies: o.Strategies, Shots: shots, Seeds: o.Seeds, BN: "frozen", Augment: "none",
		Parallel: o.Parallel, Args: os.Args, Protocol: experiment.ProtocolRefit, RateChoice: o.RateChoice}
}

func runAdvise(ctx context.Context, o AdviseOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("advise", o.Base, "--base", o.Train, "--train"); err != nil {
		return err
	}
	if o.Validate {
		if err := required("advise --validate", o.Test, "--test", o.Out, "--out"); err != nil {
			return err
		}
	}
	if o.Validate && o.Against != "" {
		return fmt.Errorf("--validate runs a comparison and --against reads one: give one of them")
	}
	if err := atLeast("--max-images", o.MaxImages, 10); err != nil {
		return err
	}
	if o.Ties != advise.TieBest && o.Ties != advise.TieCheapest {
		return fmt.Errorf("--ties %q: choose %s or %s", o.Ties, advise.TieBest, advise.TieCheapest)
	}
	if !(o.Budget > 0 && o.Budget <= 1) {
		return fmt.Errorf("--budget %g: give a share of the full comparison in (0, 1], e.g. 0.25", o.Budget)
	}
	var against *experiment.Results
	if o.Against != "" {
		var err error
		if against, err = experiment.ReadResults(o.Against); err != nil {
			return fmt.Errorf("--against: %w", err)
		}
	}
	dev, err := o.start()
	if err != nil {
		return err
	}
	train, err := openTrain(g, stderr, o.Train, 0)
	if err != nil {
		return err
	}
	measured := train
	if o.Shots > 0 {
		// The sample graft compare's first seed draws.
		if measured, err = data.KShot(train, o.Shots, 1, data.AllowFewer()); err != nil {
			return fmt.Errorf("--shots %d: %w", o.Shots, err)
		}
	}
	var source data.Dataset
	if o.Source != "" {
		if source, err = openTest("--source-data", o.Source); err != nil {
			return err
		}
	}
	// Several bases: each is measured; the one whose frozen head probes
	// best is raced.
	var paths []string
	for _, path := range strings.Split(o.Base, ",") {
		paths = append(paths, strings.TrimSpace(path))
	}
	mb, err := advise.MeasureBases(ctx, paths, measured, advise.Options{MaxImages: o.MaxImages, Seed: 1, Device: dev, Source: source, ValFraction: o.ValSplit},
		func(path, arch string) {
			say(g, stderr, "measuring %s (%s) on %s: %d images, %d classes…\n", path, arch, o.Train, measured.Len(), len(measured.Classes()))
		})
	if err != nil {
		return err
	}
	meas, bases, spent := mb.Best, mb.Scores, mb.Best.Seconds
	o.Base = mb.Base
	cfg, err := compareConfig(o.compareOptions(), dev)
	if err != nil {
		return err
	}
	ro := advise.RunOptions{Shots: o.Shots, Budget: o.Budget, Spent: spent, SpentGFLOP: meas.GFLOP, Ties: o.Ties}
	if o.Out != "" {
		if err := os.MkdirAll(o.Out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		ro.State = filepath.Join(o.Out, "race.json")
	}
	if !g.quiet {
		ro.Racing = func(raced, pruned int) {
			fmt.Fprintf(stderr, "racing %d strategies (%d pruned by measurement) × %d rates, within %.0f%% of the full comparison's compute…\n",
				raced, pruned, len(cfg.LRGrid), 100*o.Budget)
		}
		ro.Log = func(line string) { fmt.Fprintln(stderr, "  "+line) }
	}
	adv, err := advise.Run(ctx, meas, cfg, ro)
	if err != nil {
		if ctx.Err() != nil && ro.State != "" {
			return fmt.Errorf("%w: the race so far is in %s; rerun the same command to resume", ctx.Err(), ro.State)
		}
		return err
	}
	rep := AdviseReport{Advice: adv, Base: o.Base}
	if len(bases) > 1 {
		rep.Bases, rep.BaseAgreement = bases, advise.AgreeBases(bases)
	}
	writeRep := func() error {
		if o.Out == "" {
			return nil
		}
		return safefile.Write(filepath.Join(o.Out, "advice.json"), func(w io.Writer) error { return writeJSON(w, rep) })
	}
	// The advice is written before validation, which may fail or be
	// interrupted: what was measured is kept.
	if err := writeRep(); err != nil {
		return err
	}
	if o.Validate {
		if against, err = compareRun(ctx, cfg, g, stderr); err != nil {
			return err
		}
	}
	if against != nil {
		if rep.Validation, err = advise.Validate(adv, against, o.Shots); err != nil {
			return err
		}
		if err := writeRep(); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	if len(bases) > 1 {
		advise.WriteBases(stdout, rep.Bases, rep.BaseAgreement, rep.Base)
	}
	advise.Write(stdout, o.Train, adv)
	if rep.Validation != nil {
		advise.WriteValidation(stdout, rep.Validation)
		if o.Validate {
			fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(o.Out, "report.html"))
		}
	}
	return nil
}
