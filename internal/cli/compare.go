package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/buildinfo"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/report"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// CompareOptions are graft compare's flags.
type CompareOptions struct {
	Base        string
	Train       string
	Test        string
	Strategies  string
	Shots       string
	Seeds       int
	Epochs      int
	Patience    int
	LRGrid      string
	ValSplit    float64
	Batch       int
	ClassMap    string
	BN          string
	Augment     string
	Out         string
	Threads     int
	Device      string
	Workers     int
	Protocol    string
	Folds       int
	ShotsStrict bool
	Group       string
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

DATA is ` + datasetHelp,
		Example: `  graft compare --base be.json --train de-train/ --test de-test/ --strategies all --shots 5,20 --seeds 3 --out cmp
  graft compare --base src.json --train fashion-mnist --test fashion-mnist --strategies probe,finetune,scratch --shots 10 --out fm`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Args = os.Args
			return runCompare(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "source checkpoint to transfer from (required)")
	f.StringVar(&o.Train, "train", "", "target training data (required)")
	f.StringVar(&o.Test, "test", "", "target test data (required)")
	f.StringVar(&o.Strategies, "strategies", "all", "comma-separated strategies, or all")
	f.StringVar(&o.Shots, "shots", "all", "images per class, comma-separated (e.g. 5,20), or all for the whole training set")
	f.IntVar(&o.Seeds, "seeds", 3, "seeds per strategy and shots (different samples and initialisations); verdicts need several")
	f.IntVar(&o.Epochs, "epochs", 30, "maximum epochs per run, the same for every strategy")
	f.IntVar(&o.Patience, "patience", 5, "epochs without validation improvement that end a selection run (or a phase); under refit at least a fifth of --epochs, and never before 30% of them")
	f.StringVar(&o.LRGrid, "lr-grid", "1e-2,3e-3,1e-3,3e-4", "learning rates searched for every strategy (Adam)")
	f.Float64Var(&o.ValSplit, "val-split", 0.2, "fraction of the training shots held out for validation")
	f.IntVar(&o.Batch, "batch", 32, "batch size")
	f.StringVar(&o.ClassMap, "class-map", "", "CSV of target,source classes: those head rows start from the source head")
	f.StringVar(&o.BN, "bn", "frozen", "BatchNorm in frozen stages: frozen (keep statistics) or train")
	f.StringVar(&o.Augment, "augment", "none", "none or default (disables the frozen-feature cache)")
	f.StringVar(&o.Protocol, "protocol", experiment.ProtocolRefit, "refit: choose rate and length on validation folds, then train on every shot; holdout: one split, best-epoch weights")
	f.IntVar(&o.Folds, "folds", experiment.DefaultFolds, "most validation folds averaged when choosing (refit); fewer when one fold holds 100 images")
	f.BoolVar(&o.ShotsStrict, "shots-strict", false, "refuse classes with fewer images than --shots (by default they give all they have, and are reported)")
	f.StringVar(&o.Group, "group", "auto", "keep groups of images on one side of every split: auto (GTSRB TRACK_FRAME names), none, or a regular expression over file paths whose first group names the group")
	f.StringVar(&o.Out, "out", "", "output folder (required)")
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch compute threads")
	f.StringVar(&o.Device, "device", "cpu", "cpu, cuda or cuda:N")
	f.IntVar(&o.Workers, "workers", 1, "runs side by side, sharing --threads among them (worth it with many cores and small models)")
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
	dev, err := engine(o.Threads, o.Device)
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
	prog := newCompareProgress(stderr, g.quiet, len(cfg.Strategies)*len(cfg.Shots)*cfg.Seeds)
	cfg.Progress = prog
	if !g.quiet {
		fmt.Fprintf(stderr, "comparing %d strategies × %d shots settings × %d seeds, %d learning rates each, on %s (%d classes); base %s (%s)\n",
			len(cfg.Strategies), len(cfg.Shots), cfg.Seeds, len(cfg.LRGrid), cfg.Spec.Train, len(cfg.Spec.Classes), cfg.Spec.Base, cfg.Base.Meta.Arch)
		describeProtocol(stderr, cfg)
	}
	res, err := experiment.Compare(ctx, cfg)
	prog.finish()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if err := writeReports(cfg.Out, res); err != nil {
		return nil, err
	}
	return res, nil
}

// compareConfig checks compare's flags and opens what they name.
func compareConfig(o CompareOptions, dev torch.Device) (experiment.Config, error) {
	var none experiment.Config
	base, err := experiment.LoadBase(o.Base)
	if err != nil {
		return none, fmt.Errorf("--base: %w", err)
	}
	train, err := openTrainSet(o.Train, 0)
	if err != nil {
		return none, err
	}
	// No test set is a race (graft advise): it never tests.
	var test data.Dataset
	if o.Test != "" {
		if test, err = openDataset(o.Test, false); err != nil {
			return none, fmt.Errorf("--test: %w", err)
		}
		if err := sameClasses(train.Classes(), test.Classes(), "--test "+o.Test); err != nil {
			return none, err
		}
	}
	shape := base.Shape()
	strats, err := strategy.Expand(o.Strategies, shape)
	if err != nil {
		return none, fmt.Errorf("--strategies: %w", err)
	}
	shots, err := parseShots(o.Shots)
	if err != nil {
		return none, err
	}
	grid, err := parseFloats(o.LRGrid, "--lr-grid")
	if err != nil {
		return none, err
	}
	if o.Epochs < 1 || o.Seeds < 1 || o.Batch < 1 {
		return none, fmt.Errorf("--epochs, --seeds and --batch must be at least 1")
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
	aug, err := parseAugment(o.Augment)
	if err != nil {
		return none, err
	}
	var names []string
	for _, s := range strats {
		names = append(names, s.Name)
	}
	if o.Protocol != experiment.ProtocolRefit && o.Protocol != experiment.ProtocolHoldout {
		return none, fmt.Errorf("--protocol %q: choose refit or holdout", o.Protocol)
	}
	if o.Folds < 1 {
		return none, fmt.Errorf("--folds must be at least 1, got %d", o.Folds)
	}
	if !(o.ValSplit > 0 && o.ValSplit < 1) {
		return none, fmt.Errorf("--val-split %g: want a fraction in (0,1), e.g. 0.2", o.ValSplit)
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
		Batch: o.Batch, ClassMap: classMap, TrainBN: o.BN == "train", Augment: aug, Device: dev, Out: o.Out,
		Spec: spec, Command: commandLine(o.Args), Workers: o.Workers,
		Protocol: o.Protocol, Folds: o.Folds, ShotsStrict: o.ShotsStrict, Group: o.Group,
		Env: experiment.Env{Graft: buildinfo.Version(), Torch: torch.Version(), Device: dev.String(), Threads: torch.NumThreads(),
			Commit: buildinfo.Commit(), Started: time.Now().UTC().Format(time.RFC3339)},
	}
	return cfg, nil
}

// describeProtocol says on the terminal how runs choose and what they
// test, which grouping keeps images apart, and which classes are short.
func describeProtocol(w io.Writer, cfg experiment.Config) {
	if cfg.Protocol == experiment.ProtocolHoldout {
		fmt.Fprintf(w, "protocol holdout: %.0f%% of the shots validate; the best validation epoch's weights are tested\n", 100*cfg.ValFraction)
	} else {
		fmt.Fprintf(w, "protocol refit: rate and length chosen on up to %d validation folds of %.0f%% of the shots, then trained on every shot and tested\n", cfg.Folds, 100*cfg.ValFraction)
	}
	if cfg.Spec.Groups != "" {
		fmt.Fprintf(w, "grouping: %s — no group is on both sides of a split\n", cfg.Spec.Groups)
	}
	if cfg.ShotsStrict {
		return
	}
	for _, sc := range experiment.ShortClassesOf(cfg.Train, cfg.Shots) {
		names := strings.Join(sc.Classes[:min(5, sc.Count)], ", ")
		if sc.Count > 5 {
			names += ", …"
		}
		fmt.Fprintf(w, "%d shots: %d classes have fewer images and give all they have (fewest %d): %s\n", sc.Shots, sc.Count, sc.Fewest, names)
	}
}

func parseShots(s string) ([]int, error) {
	if strings.TrimSpace(s) == "all" {
		return []int{0}, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "all" {
			out = append(out, 0)
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--shots %q: expected images per class like 5,20 or all", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseFloats(s, flag string) ([]float64, error) {
	var out []float64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%s %q: expected positive numbers like 3e-3,1e-3", flag, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// commandLine quotes args so the report shows a command that can be pasted.
func commandLine(args []string) string {
	if len(args) == 0 {
		return ""
	}
	parts := []string{"graft"}
	for _, a := range args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// writeReports writes the report files and leaderboard.md, the tables as
// Markdown for pasting into documents.
func writeReports(dir string, res *experiment.Results) error {
	if err := report.WriteAll(dir, res); err != nil {
		return err
	}
	return safefile.Write(filepath.Join(dir, "leaderboard.md"), func(w io.Writer) error { return report.Markdown(w, res) })
}
