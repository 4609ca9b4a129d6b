package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/graftml/graft/advise"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// AdviseOptions are graft advise's flags.
type AdviseOptions struct {
	Base       string
	Train      string
	Source     string
	Shots      int
	MaxImages  int
	Scratch    int // epochs of the short run from scratch; 0 skips it
	Strategies string
	Validate   bool
	Test       string
	Out        string
	Seeds      int
	Epochs     int
	LRGrid     string
	ValSplit   float64
	Threads    int
	Device     string
	Workers    int
}

// AdviseReport is graft advise --json: the advice, and with --validate
// how it held.
type AdviseReport struct {
	*advise.Advice
	Base string `json:"base"` // the base advised (the best of several)
	// Bases, when several were given: each one's scores at its head.
	Bases         []BaseScore        `json:"bases,omitempty"`
	BaseAgreement []advise.Agreement `json:"base_agreement,omitempty"`
	Validation    *advise.Validation `json:"validation,omitempty"`
}

// BaseScore is one candidate base, scored at its head.
type BaseScore struct {
	Base      string   `json:"base"`
	Arch      string   `json:"arch"`
	Strategy  string   `json:"best_strategy"`
	Predicted float64  `json:"predicted"`
	Probe     float64  `json:"linear_probe_cv"`
	KNN       float64  `json:"knn_loo"`
	LogME     *float64 `json:"logme"`
	HScore    *float64 `json:"hscore"`
	TransRate *float64 `json:"transrate"`
	LEEP      float64  `json:"leep"`
	NCE       float64  `json:"nce"`
}

// adviseBase measures one base on the target and advises.
func adviseBase(ctx context.Context, o AdviseOptions, path string, target, source data.Dataset, dev torch.Device, g *globals, stderr io.Writer) (*advise.Advice, []strategy.Strategy, string, error) {
	ck, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, "", fmt.Errorf("--base: %w", err)
	}
	defer ck.Model.Free()
	if err := checkInputSize(ck.Model, ck.Meta.Preprocess); err != nil {
		return nil, nil, "", err
	}
	if dev != torch.CPU {
		if err := ck.Model.To(dev, false); err != nil {
			return nil, nil, "", err
		}
	}
	shape := (&experiment.Base{Meta: ck.Meta}).Shape()
	cands, err := strategy.Expand(o.Strategies, shape)
	if err != nil {
		return nil, nil, "", fmt.Errorf("--strategies: %w", err)
	}
	if !g.quiet {
		fmt.Fprintf(stderr, "measuring %s (%s) on %s: %d images, %d classes…\n", path, ck.Meta.Arch, o.Train, target.Len(), len(target.Classes()))
	}
	meas, err := advise.Measure(ctx, ck.Model, target, advise.Options{MaxImages: o.MaxImages, Seed: 1, Device: dev,
		Preprocess: ck.Meta.Preprocess, Source: source, ValFraction: o.ValSplit})
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if o.Scratch > 0 && slices.ContainsFunc(cands, func(s strategy.Strategy) bool { return s.Base == "scratch" }) {
		base, err := experiment.LoadBase(path)
		if err != nil {
			return nil, nil, "", fmt.Errorf("--base: %w", err)
		}
		epochs := min(o.Scratch, o.Epochs)
		if !g.quiet {
			fmt.Fprintf(stderr, "training from scratch for %d epochs, the one training advise does…\n", epochs)
		}
		meas.Scratch, err = advise.MeasureScratch(ctx, base, target, advise.ScratchOptions{Epochs: epochs,
			ValFraction: o.ValSplit, Seed: 1, MaxImages: o.MaxImages, Device: dev, Events: newTrainProgress(stderr, g.quiet)})
		if err != nil {
			return nil, nil, "", fmt.Errorf("%s: %w", path, err)
		}
	}
	a, err := advise.Advise(meas, shape, cands)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return a, cands, ck.Meta.Arch, nil
}

func baseScore(path, arch string, a *advise.Advice) BaseScore {
	m := a.Measurements
	h := m.Stages[len(m.Stages)-1]
	return BaseScore{Base: path, Arch: arch, Strategy: a.Ranking[0].Strategy, Predicted: a.Ranking[0].Score, Probe: h.Probe, KNN: h.KNN,
		LogME: h.LogME, HScore: h.HScore, TransRate: h.TransRate, LEEP: m.LEEP, NCE: m.NCE}
}

// baseAgreement is each score's Kendall tau with the probe over the bases.
func baseAgreement(bases []BaseScore) []advise.Agreement {
	return advise.Agree(bases, func(b BaseScore) string { return b.Base }, func(b BaseScore) float64 { return b.Probe }, []advise.Scorer[BaseScore]{
		{Name: "knn", Get: func(b BaseScore) float64 { return b.KNN }},
		{Name: "logme", Get: func(b BaseScore) float64 { return advise.Value(b.LogME) }},
		{Name: "hscore", Get: func(b BaseScore) float64 { return advise.Value(b.HScore) }},
		{Name: "transrate", Get: func(b BaseScore) float64 { return advise.Value(b.TransRate) }},
		{Name: "leep", Get: func(b BaseScore) float64 { return b.LEEP }},
		{Name: "nce", Get: func(b BaseScore) float64 { return b.NCE }},
	})
}

func writeBases(w io.Writer, rep AdviseReport) {
	fmt.Fprintf(w, "candidate bases, scored on their head features:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  base\tarch\tprobe\tk-NN\tLogME\tLEEP\tNCE\tbest strategy\tpredicted")
	for _, b := range rep.Bases {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\n", b.Base, b.Arch, pct(b.Probe), pct(b.KNN), opt(b.LogME, "%.3f"), b.LEEP, b.NCE, b.Strategy, pct(b.Predicted))
	}
	tw.Flush()
	var agree []string
	for _, a := range rep.BaseAgreement {
		agree = append(agree, fmt.Sprintf("%s τ %+.2f", a.Score, a.Tau))
	}
	fmt.Fprintf(w, "scores against the probe over bases: %s\nadvising %s\n\n", strings.Join(agree, ", "), rep.Base)
}

func newAdviseCmd(g *globals) *cobra.Command {
	o := AdviseOptions{}
	cmd := &cobra.Command{
		Use:   "advise --base CKPT --train DATA [--source DATA] [flags]",
		Short: "Measure a target against a base and advise a transfer strategy",
		Long: `Measure how a pretrained base relates to a target data set, place it
in the four-case chart (small or large × similar or different) with the
numbers that put it there, and rank the strategies by predicted test
accuracy.

One inference pass over (a sample of) the target gives, at every stage:
cross-validated linear-probe and k-NN accuracies on the frozen features,
LogME, H-score and TransRate, and the shift from the source (BatchNorm
statistics, or with --source the Fréchet distance and kernel MMD between
feature distributions); the source classifier gives LEEP, NCE, confidence
and entropy. The one training advise does is a short run from scratch
(--scratch-epochs at one learning rate), because no frozen-feature score
says how well the architecture learns this data on its own.

--validate then runs graft compare on the same data (--test, --out) and
reports Kendall's tau between the predicted and measured rankings, the
regret of the advised strategy, and the compute it saves.

DATA is ` + datasetHelp,
		Example: `  graft advise --base be-src --train de-train/
  graft advise --base fm-src --train 'fashion-mnist?classes=5-9' --shots 10 --json
  graft advise --base be-src --train se-train/ --shots 20 --validate --test se-test/ --out se-advise`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAdvise(cmd.Context(), o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Base, "base", "", "source checkpoint (required); several, comma-separated, are scored against each other")
	f.StringVar(&o.Train, "train", "", "target training data (required)")
	f.StringVar(&o.Source, "source", "", "a sample of the source data: distances between feature distributions")
	f.IntVar(&o.Shots, "shots", 0, "measure (and validate) on k images per class, as graft compare --shots k samples them; 0 for all")
	f.IntVar(&o.MaxImages, "max-images", 1000, "images measured at most (a random sample, every class kept)")
	f.IntVar(&o.Scratch, "scratch-epochs", advise.DefaultScratchEpochs, "epochs of the short run from scratch, at one learning rate (0 skips it; scratch is then predicted from the pixels alone)")
	f.StringVar(&o.Strategies, "strategies", "all", "candidate strategies, comma-separated, or all")
	f.BoolVar(&o.Validate, "validate", false, "run graft compare on the same data and score the advice against it")
	f.StringVar(&o.Test, "test", "", "test data for --validate")
	f.StringVar(&o.Out, "out", "", "output folder for --validate (the comparison's report, advice.json)")
	f.IntVar(&o.Seeds, "seeds", 1, "seeds for --validate")
	f.IntVar(&o.Epochs, "epochs", 30, "maximum epochs per run for --validate")
	f.StringVar(&o.LRGrid, "lr-grid", "1e-2,3e-3,1e-3,3e-4", "learning rates --validate searches for every strategy")
	f.Float64Var(&o.ValSplit, "val-split", 0.2, "fraction of the training images held out for validation")
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), "libtorch compute threads")
	f.StringVar(&o.Device, "device", "cpu", "cpu, cuda or cuda:N")
	f.IntVar(&o.Workers, "workers", 1, "comparison runs side by side for --validate")
	return cmd
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
	if o.Shots < 0 || o.MaxImages < 10 {
		return fmt.Errorf("--shots must be 0 or more and --max-images at least 10")
	}
	if o.Scratch < 0 {
		return fmt.Errorf("--scratch-epochs %d: give 0 to skip the run from scratch, or a number of epochs", o.Scratch)
	}
	dev, err := engine(o.Threads, o.Device)
	if err != nil {
		return err
	}
	train, err := openTrainSet(o.Train, 0)
	if err != nil {
		return err
	}
	measured := train
	if o.Shots > 0 {
		// The sample graft compare's first seed draws.
		if measured, err = data.KShot(train, o.Shots, 1); err != nil {
			return fmt.Errorf("--shots %d: %w", o.Shots, err)
		}
	}
	var source data.Dataset
	if o.Source != "" {
		if source, err = openDataset(o.Source, false); err != nil {
			return fmt.Errorf("--source: %w", err)
		}
	}
	// Several bases: each is measured and advised; the one whose best
	// strategy is predicted highest is advised (and validated).
	var bases []BaseScore
	var adv *advise.Advice
	var cands []strategy.Strategy
	for _, path := range strings.Split(o.Base, ",") {
		path = strings.TrimSpace(path)
		a, c, arch, err := adviseBase(ctx, o, path, measured, source, dev, g, stderr)
		if err != nil {
			return err
		}
		bases = append(bases, baseScore(path, arch, a))
		if adv == nil || a.Ranking[0].Score > adv.Ranking[0].Score {
			adv, cands, o.Base = a, c, path
		}
	}
	rep := AdviseReport{Advice: adv, Base: o.Base}
	if len(bases) > 1 {
		rep.Bases, rep.BaseAgreement = bases, baseAgreement(bases)
	}
	if o.Validate {
		v, err := validateAdvice(ctx, o, adv, cands, g, dev, stderr)
		if err != nil {
			return err
		}
		rep.Validation = v
		if err := safefile.Write(filepath.Join(o.Out, "advice.json"), func(w io.Writer) error { return writeJSON(w, rep) }); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	if len(bases) > 1 {
		writeBases(stdout, rep)
	}
	writeAdvice(stdout, o, adv)
	if rep.Validation != nil {
		writeValidation(stdout, rep.Validation)
		fmt.Fprintf(stdout, "\nreport: %s\n", filepath.Join(o.Out, "report.html"))
	}
	return nil
}

// validateAdvice runs graft compare on the candidates and scores the advice.
func validateAdvice(ctx context.Context, o AdviseOptions, adv *advise.Advice, cands []strategy.Strategy, g *globals, dev torch.Device, stderr io.Writer) (*advise.Validation, error) {
	var names []string
	for _, s := range cands {
		names = append(names, s.Name)
	}
	shots := "all"
	if o.Shots > 0 {
		shots = fmt.Sprint(o.Shots)
	}
	co := CompareOptions{Base: o.Base, Train: o.Train, Test: o.Test, Strategies: strings.Join(names, ","), Shots: shots,
		Seeds: o.Seeds, Epochs: o.Epochs, Patience: 5, LRGrid: o.LRGrid, ValSplit: o.ValSplit, Batch: 32, BN: "frozen",
		Augment: "none", Out: o.Out, Threads: o.Threads, Device: o.Device, Workers: o.Workers, Args: os.Args,
		Protocol: experiment.ProtocolRefit, Folds: experiment.DefaultFolds, Group: "auto"}
	cfg, err := compareConfig(co, dev)
	if err != nil {
		return nil, err
	}
	res, err := compareRun(ctx, cfg, g, stderr)
	if err != nil {
		return nil, err
	}
	return advise.Validate(adv, res, o.Shots)
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// opt formats a measurement that may be missing.
func opt(v *float64, format string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf(format, *v)
}

func writeAdvice(w io.Writer, o AdviseOptions, a *advise.Advice) {
	m := a.Measurements
	t := m.Target
	fmt.Fprintf(w, "target %s: %d images, %d classes, %d–%d per class (median %d, imbalance %.1f×); measured on %d, in %.1f s\n\n",
		o.Train, t.Images, t.Classes, t.Min, t.Max, t.Median, t.Imbalance, m.Sampled, m.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcut\tdim\tprobe\tk-NN\tLogME\tH-score\tTransRate\tBN shift\tFréchet\tMMD²\t")
	for _, s := range m.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Name, s.Cut, s.Dim, pct(s.Probe), pct(s.KNN),
			opt(s.LogME, "%.3f"), opt(s.HScore, "%.2f"), opt(s.TransRate, "%.2f"), opt(s.BNShift, "%.2f"), opt(s.FD, "%.2f"), opt(s.MMD, "%.3f"))
	}
	fmt.Fprintf(tw, "pixels\t\t\t%s\t%s\t\t\t\t\t\t\t\n", pct(m.PixelProbe), pct(m.PixelKNN))
	tw.Flush()
	for _, s := range m.Stages {
		for _, n := range s.Notes {
			fmt.Fprintf(w, "%s: %s\n", s.Name, n)
		}
	}
	fmt.Fprintf(w, "probe: 5-fold cross-validated linear probe; k-NN: leave-one-out, k=5; BN shift: KL of BatchNorm inputs from the base's running statistics\n")
	if m.SourceClasses > 0 {
		fmt.Fprintf(w, "source classifier (%d classes) on target images: confidence %s, normalised entropy %.2f, LEEP %.3f, NCE %.3f\n",
			m.SourceClasses, pct(m.SourceConfidence), m.SourceEntropy, m.LEEP, m.NCE)
	}
	var agree []string
	for _, ag := range m.Agreement {
		if ag.Score != "linear_probe" {
			agree = append(agree, fmt.Sprintf("%s τ %+.2f (best %s)", ag.Score, ag.Tau, ag.Best))
		}
	}
	fmt.Fprintf(w, "scores against the probe over stages: %s\n", strings.Join(agree, ", "))
	if r := m.Scratch; r != nil {
		fmt.Fprintf(w, "from scratch: %d epochs at lr %g on %d images reached %s on validation (%s, %.1f s)\n", r.Epochs, r.LR, r.Images, pct(r.ValAccuracy), r.Status, r.Seconds)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "four-case chart: %s — %s\n", a.Quadrant, a.Chart)
	for _, why := range a.Why {
		fmt.Fprintf(w, "  %s\n", why)
	}
	r := a.Recommended
	fmt.Fprintf(w, "\nrecommended: %s", r.Strategy)
	if r.Stage != "" {
		fmt.Fprintf(w, " (cut at %s)", r.Stage)
	}
	fmt.Fprintf(w, ", Adam lr %.0e", r.LR)
	if r.BaseLR > 0 {
		fmt.Fprintf(w, " (pretrained stages %.0e)", r.BaseLR)
	}
	fmt.Fprintf(w, " [%s]\n", r.LRFrom)
	fmt.Fprintf(w, "\nranking by predicted test accuracy:\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, rk := range a.Ranking {
		fmt.Fprintf(tw, "  %d.\t%s\t%s\t%s\n", i+1, rk.Strategy, pct(rk.Score), rk.Why)
	}
	tw.Flush()
}

func writeValidation(w io.Writer, v *advise.Validation) {
	fmt.Fprintf(w, "\nvalidation against graft compare (%s):\n", shotsWords(v.Shots))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  strategy\tpredicted\trank\tmeasured\trank\ttrain s")
	for _, r := range v.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%.1f\n", r.Strategy, pct(r.Predicted), r.PredictedRank, pct(r.Measured), r.MeasuredRank, r.TrainSeconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "Kendall τ %.2f; advised %s at %s, best %s at %s: regret %.1f points\n",
		v.Tau, v.Advised, pct(v.AdvisedAccuracy), v.Best, pct(v.BestAccuracy), v.Regret)
	fmt.Fprintf(w, "compute: advise %.1f s + the advised strategy %.1f s = %.1f%% of running all (%.1f s)\n",
		v.AdviseSeconds, v.AdvisedSeconds, 100*v.ComputeFraction, v.AllSeconds)
}

func shotsWords(k int) string {
	if k == 0 {
		return "all images"
	}
	return fmt.Sprintf("%d images per class", k)
}
