package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/buildinfo"
	"github.com/graftml/graft/internal/progress"
	"github.com/graftml/graft/report"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// CompareOptions are graft compare's flags.
type CompareOptions struct {
	Adaptation
	Strategies  string
	Shots       string
	Seeds       int
	ClassMap    string
	BN          string
	Augment     string
	Parallel    int
	Protocol    string
	RateChoice  string
	ShotsStrict bool
	Task        string
	Precision   torch.Precision
	Args        []string // the command line, recorded in the report
}

func newCompareCmd(g *globals) *cobra.Command {
	o := CompareOptions{}
	cmd := &cobra.Command{
		Use:   "compare --base CKPT --train DATA --test DATA --out DIR [flags]",
		Short: "Run transfer strategies side by side and report which works best",
		Long: `Run every strategy × shots × seed on identical splits of the target data.

Every strategy, scratch included, gets the same epoch budget and the same
learning-rate search (--lr-grid, extended when the best rate sits at its
edge). With --protocol refit (the default) each strategy × shots × seed
chooses its rate and training length on validation folds carved from the
training shots — never on the test set; several folds when one would hold
few images (--folds) — then trains again on every shot with them, and that
model is the one tested. --protocol holdout keeps one validation split and
tests the best-validation-epoch weights. The winner's margin over each
rival comes with a 95% interval (paired bootstrap over seeds and test
images); where it includes 0 the verdict is a tie. Frozen stages' outputs
are computed once and reused. Writes results.json, results.csv, plots (SVG, PNG)
and report.html into --out; rerunning the same command resumes an
interrupted comparison.

Strategies: ` + strategyList() + `

DATA is ` + data.SpecHelp,
		Example: `  graft compare --base be.json --train de-train/ --test de-test/ --strategies all --shots 5,20 --seeds 3 --out cmp
  graft compare --base src.json --train fashion-mnist --test fashion-mnist --strategies probe,finetune,scratch --shots 10 --out fm`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runCompare, func(cmd *cobra.Command, _ []string) {
			o.Args = os.Args
		}),
	}
	f := cmd.Flags()
	adaptationFlags(f, &o.Adaptation, defaultGrid, map[string]string{"test": "required", "out": "the folder to write (required)",
		"epochs": "the same for every strategy", "patience": "under refit at least a fifth of --epochs, and never before 30% of them",
		"lr-grid": "Adam", "val-split": "of the shots, per validation fold", "folds": "fewer when one fold holds 100 images"})
	f.StringVar(&o.Strategies, "strategies", "all", withNote("strategies", ""))
	f.StringVar(&o.Shots, "shots", "all", withNote("shots", "several, comma-separated (e.g. 5,20), are compared side by side"))
	f.IntVar(&o.Seeds, "seeds", 3, withNote("seeds", ""))
	f.StringVar(&o.ClassMap, "class-map", "", withNote("class-map", ""))
	f.StringVar(&o.BN, "bn", "frozen", withNote("bn", ""))
	f.StringVar(&o.Augment, "augment", "none", withNote("augment", "anything but none disables the frozen-feature cache"))
	f.StringVar(&o.Protocol, "protocol", experiment.ProtocolRefit, withNote("protocol", ""))
	f.StringVar(&o.RateChoice, "rate-choice", experiment.RateBest, withNote("rate-choice", ""))
	f.BoolVar(&o.ShotsStrict, "shots-strict", false, "refuse classes with fewer images than --shots (by default they give all they have, and are reported)")
	f.IntVar(&o.Parallel, "parallel", 1, withNote("parallel", ""))
	f.StringVar(&o.Task, "task", "auto", withNote("task", ""))
	precisionFlag(f, &o.Precision, "every trial and test; recorded in results.json")
	return cmd
}

func strategyList() string {
	var out []string
	for _, in := range strategy.Catalogue {
		n := in.Name
		if in.HasArg {
			n += ":K"
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ") + ` (combine with +l2sp, e.g. freeze:2+l2sp)`
}

func runCompare(ctx context.Context, o CompareOptions, g *globals, stdout, stderr io.Writer) error {
	if err := required("compare", o.Base, "--base", o.Train, "--train", o.Test, "--test", o.Out, "--out"); err != nil {
		return err
	}
	dev, err := o.start()
	if err != nil {
		return err
	}
	cfg, err := compareConfig(o, dev)
	if err != nil {
		return err
	}
	res, err := compareRun(ctx, cfg, g, stderr)
	if err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, res)
	}
	if err := report.Leaderboard(stdout, res); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(o.Out, "report.html"))
	return nil
}

// compareRun runs a prepared comparison with a progress bar and writes its
// reports.
func compareRun(ctx context.Context, cfg experiment.Config, g *globals, stderr io.Writer) (*experiment.Results, error) {
	prog := progress.NewCompare(stderr, g.quiet, len(cfg.Strategies)*len(cfg.Shots)*cfg.Seeds)
	cfg.Progress = prog
	if !g.quiet {
		fmt.Fprintf(stderr, "comparing %d strategies × %d shots settings × %d seeds, %d learning rates each, on %s (%d classes); base %s (%s)\n",
			len(cfg.Strategies), len(cfg.Shots), cfg.Seeds, len(cfg.LRGrid), cfg.Spec.Train, len(cfg.Spec.Classes), cfg.Spec.Base, cfg.Base.Meta.Arch)
		cfg.DescribeProtocol(stderr)
		noteGaps(stderr, g.quiet, "--train", cfg.Train)
	}
	res, err := experiment.Compare(ctx, cfg)
	prog.Finish()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := report.WriteAll(cfg.Out, res); err != nil {
		return nil, err
	}
	return res, nil
}

// compareConfig checks compare's flags and opens what they name.
func compareConfig(o CompareOptions, dev torch.Device) (experiment.Config, error) {
	var none experiment.Config
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return none, err
	}
	if err := firstErr(o.check(false), atLeast("--seeds", o.Seeds, 1), atLeast("--parallel", o.Parallel, 1)); err != nil {
		return none, err
	}
	base, err := experiment.LoadBase(o.Base)
	if err != nil {
		return none, fmt.Errorf("--base: %w", err)
	}
	detecting, err := detectionTask(o.Task, base, o.Train)
	if err != nil {
		return none, err
	}
	var train, test data.Dataset
	if detecting {
		if err := base.ForDetection(); err != nil {
			return none, fmt.Errorf("--base: %w", err)
		}
		if train, test, err = openDetectionSets(o.Train, o.Test); err != nil {
			return none, err
		}
	} else {
		if train, err = openTrainSet(o.Train, 0); err != nil {
			return none, err
		}
		// No test set is a race (graft advise): it never tests.
		if o.Test != "" {
			if test, err = openTest("--test", o.Test); err != nil {
				return none, err
			}
		}
	}
	if test != nil {
		if err := data.SameClasses(train.Classes(), test.Classes(), "--test "+o.Test); err != nil {
			return none, err
		}
	}
	shape := base.Shape()
	strats, err := strategy.Expand(o.Strategies, shape)
	if err != nil {
		return none, fmt.Errorf("--strategies: %w", err)
	}
	if detecting {
		if strats, err = detectionStrategies(strats, o.Strategies); err != nil {
			return none, err
		}
	}
	shots, err := experiment.ParseShots(o.Shots)
	if err != nil {
		return none, fmt.Errorf("--shots %w", err)
	}
	grid, err := experiment.ParseRates(o.LRGrid)
	if err != nil {
		return none, fmt.Errorf("--lr-grid %w", err)
	}
	var classMap []int
	if o.ClassMap != "" {
		if classMap, err = experiment.ReadClassMap(o.ClassMap, train.Classes(), base.Meta.Classes); err != nil {
			return none, fmt.Errorf("--class-map: %w", err)
		}
	}
	if o.BN != "frozen" && o.BN != "train" {
		return none, fmt.Errorf("--bn %q: choose frozen or train", o.BN)
	}
	var aug data.Augment
	var detAug data.DetectionAugment
	if detecting {
		if detAug, err = data.DetectionAugmentPreset(o.Augment); err != nil {
			return none, fmt.Errorf("--augment: %w", err)
		}
	} else if aug, err = data.AugmentPreset(o.Augment); err != nil {
		return none, fmt.Errorf("--augment: %w", err)
	}
	var names []string
	for _, s := range strats {
		names = append(names, s.Name)
	}
	if o.Protocol != experiment.ProtocolRefit && o.Protocol != experiment.ProtocolHoldout {
		return none, fmt.Errorf("--protocol %q: choose refit or holdout", o.Protocol)
	}
	switch {
	case o.RateChoice != experiment.RateBest && o.RateChoice != experiment.RateSmoothed && o.RateChoice != experiment.RatePooled:
		return none, fmt.Errorf("--rate-choice %q: choose %s, %s or %s", o.RateChoice, experiment.RateBest, experiment.RateSmoothed, experiment.RatePooled)
	case o.RateChoice != experiment.RateBest && o.Protocol == experiment.ProtocolHoldout:
		return none, fmt.Errorf("--rate-choice %s needs --protocol refit: holdout keeps the model trained at the best rate", o.RateChoice)
	}
	_, groupName, err := data.Grouping(train, o.Group)
	if err != nil {
		return none, fmt.Errorf("--group: %w", err)
	}
	spec := experiment.Spec{Base: o.Base, BaseSHA256: base.Meta.SHA256, Arch: base.Meta.Arch, Train: o.Train, Test: o.Test, Classes: train.Classes(),
		Strategies: names, Shots: shots, Seeds: o.Seeds, Epochs: o.Epochs, LRGrid: grid, Groups: groupName}
	cfg := experiment.Config{
		Base: base, Train: train, Test: test, Strategies: strats, Shots: shots, Seeds: o.Seeds,
		Budget: strategy.Budget{Epochs: o.Epochs, Patience: o.Patience}, LRGrid: grid, ValFraction: o.ValSplit,
		Batch: o.Batch, ClassMap: classMap, TrainBN: o.BN == "train", Augment: aug, DetectionAugment: detAug, Device: dev, Precision: o.Precision, Out: o.Out,
		Spec: spec, Command: experiment.CommandLine(o.Args), Workers: o.Parallel,
		Protocol: o.Protocol, RateChoice: o.RateChoice, Folds: o.Folds, ShotsStrict: o.ShotsStrict, Group: o.Group,
		Env: runEnv(dev, time.Now()),
	}
	return cfg, nil
}

// runEnv is where a comparison runs, for its results.
func runEnv(dev torch.Device, started time.Time) experiment.Env {
	return experiment.Env{Graft: buildinfo.Version(), Torch: torch.Version(), Device: dev.String(), Threads: torch.NumThreads(),
		Commit: buildinfo.Commit(), Started: started.UTC().Format(time.RFC3339)}
}

// detectionTask says whether --task (auto, classify, detect) makes this a
// comparison of detectors: auto when the data is detection data or the
// base a detector.
func detectionTask(task string, base *experiment.Base, train string) (bool, error) {
	switch task {
	case "detect":
		return true, nil
	case "classify":
		if base.Detector() {
			return false, fmt.Errorf("--task classify: --base %s is a detector; use --task detect, or a classifier checkpoint", base.Path)
		}
		return false, nil
	case "auto", "":
		return base.Detector() || data.IsDetectionSpec(train), nil
	}
	return false, fmt.Errorf("--task %q: choose auto, classify or detect", task)
}

// openDetectionSets opens a detector comparison's training and test data
// (coco:, voc: or gtsdb:), each image labelled by its rarest class for
// sampling and splitting (data.ImagesOf).
func openDetectionSets(train, test string) (data.Dataset, data.Dataset, error) {
	tr, err := data.OpenDetection(train)
	if err != nil {
		return nil, nil, fmt.Errorf("--train: %w (detection data is %s)", err, data.DetectionSpecHelp)
	}
	if test == "" {
		return data.ImagesOf(tr), nil, nil
	}
	te, err := data.OpenDetection(test)
	if err != nil {
		return nil, nil, fmt.Errorf("--test: %w", err)
	}
	return data.ImagesOf(tr), data.ImagesOf(te), nil
}

// detectionStrategies drops from "all" the strategies that cut the network
// (a detector's head reads maps from several stages) and refuses them when
// named.
func detectionStrategies(strats []strategy.Strategy, list string) ([]strategy.Strategy, error) {
	var out []strategy.Strategy
	for _, s := range strats {
		if s.Def().Cuts {
			if strings.TrimSpace(list) != "all" {
				return nil, fmt.Errorf("--strategies: %s cuts the network after a stage, which a detector cannot lose (its head reads several stages' maps): use freeze:K instead", s.Name)
			}
			continue
		}
		out = append(out, s)
	}
	return out, nil
}
