package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/graftml/graft/bench"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/torch"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// BenchOptions are the settings of `graft bench`.
type BenchOptions struct {
	Threads          int
	Warmup           int // untimed steps per mode; 0 means none
	Steps            int // timed steps per mode
	Models           []string
	ChannelsLast     bool
	PeerChannelsLast bool
	NoPeer           bool
	RequirePeer      bool
	RSS              bool   // also run the memory-growth check
	Freezing         bool   // measure what freezing and the feature cache save instead
	Plot             string // with Freezing: write the freeze:K curve as PLOT.svg and PLOT.png
	RSSSteps         int
	Python           string
	Quiet            bool
	JSON             bool
	// InternalCase, set by graft itself, measures one case and mode in
	// this process and prints one JSON line (see bench.MeasureIsolated).
	InternalCase string
	// Self starts a measuring child process; default: this executable
	// with the "bench" subcommand.
	Self []string
}

func newBenchCmd(g *globals) *cobra.Command {
	opt := BenchOptions{
		Threads: bench.DefaultThreads, Warmup: bench.DefaultWarmup, Steps: bench.DefaultSteps,
		RSSSteps: bench.DefaultRSSSteps, Python: bench.DefaultPython,
	}
	cmd := &cobra.Command{
		Use:   "bench [flags]",
		Short: "Measure training and inference speed and memory against PyTorch",
		Long: `Measure graft's training and inference throughput (images per second) and
peak resident memory on the CPU, and run the same networks in PyTorch in the
same invocation to print graft/PyTorch ratios.

Cases: the small CNN (batch 64, 32x32) and ResNet-18 (batch 32, 64x64), 10
classes, Adam (lr 1e-3) for training, eval mode without gradients for
inference. Every case and mode runs in its own process, for graft and for
PyTorch alike, so each peak RSS is that measurement's own.

The PyTorch side is a script carried inside graft and run with --python
(Debian: apt install python3-torch python3-torchvision). Without it, graft's
numbers are printed and the PyTorch columns are empty (null in --json),
unless --require-peer makes that an error.

--rss also trains the small CNN for --rss-steps steps (default 2,000) on a
fresh random batch per step and reports how much the resident set grew from
step 200 to the end; growth of 5% or more is an error (a leak).

Timings depend on everything else the machine is doing: compare numbers
taken on an otherwise idle machine.`,
		Example: `  graft bench
  graft bench --models smallcnn --steps 50 --channels-last
  graft bench --rss --json > bench.json
  graft bench --no-peer --threads 4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opt.Quiet, opt.JSON = g.quiet, g.json
			return runBench(cmd.Context(), opt, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.IntVar(&opt.Threads, "threads", runtime.NumCPU(), withNote("threads", "PyTorch's too; BENCHMARKS.md's figures used 2"))
	f.IntVar(&opt.Warmup, "warmup-steps", opt.Warmup, "untimed steps before timing, per case and mode")
	f.IntVar(&opt.Steps, "steps", opt.Steps, withNote("steps", "timed, per case and mode"))
	f.StringSliceVar(&opt.Models, "models", nil, "models to run, comma-separated: smallcnn, resnet18 (default all)")
	f.BoolVar(&opt.ChannelsLast, "channels-last", false, withNote("channels-last", "graft's, for every model"))
	f.BoolVar(&opt.PeerChannelsLast, "peer-channels-last", false, "PyTorch also runs NHWC (default: its own default, NCHW)")
	f.BoolVar(&opt.NoPeer, "no-peer", false, "measure graft only")
	f.BoolVar(&opt.RequirePeer, "require-peer", false, "fail when the PyTorch peer cannot run")
	f.BoolVar(&opt.RSS, "rss", false, "also check that RSS stays flat over a long training run")
	f.StringVar(&opt.Plot, "plot", "", withNote("plot", "with --freezing, the freeze:K curve"))
	f.BoolVar(&opt.Freezing, "freezing", false, "instead, measure what freezing saves: a cached probe against one recomputing its base, and freeze:K epoch times")
	f.IntVar(&opt.RSSSteps, "rss-steps", opt.RSSSteps, "training steps of the --rss run")
	f.StringVar(&opt.Python, "python", opt.Python, "Python interpreter with torch and torchvision for the peer")
	f.StringVar(&opt.InternalCase, strings.TrimPrefix(bench.InternalCaseFlag, "--"), "", "measure one case in this process (used by graft itself)")
	_ = f.MarkHidden(strings.TrimPrefix(bench.InternalCaseFlag, "--")) // the flag exists: cannot fail
	return cmd
}

func runBench(ctx context.Context, opt BenchOptions, stdout, stderr io.Writer) error {
	if opt.InternalCase != "" {
		return bench.RunInternalCase(ctx, opt.InternalCase, stdout)
	}
	if opt.NoPeer && opt.RequirePeer {
		return errors.New("--no-peer and --require-peer contradict each other")
	}
	if opt.Freezing {
		return benchFreezing(ctx, opt, stdout, stderr)
	}
	if opt.Warmup < 0 {
		return fmt.Errorf("--warmup-steps %d: must be at least 0", opt.Warmup)
	}
	if opt.RSS && opt.RSSSteps < 2 {
		return fmt.Errorf("--rss-steps %d: use at least 2 (the check compares step %d with the end)", opt.RSSSteps, bench.RSSRefStep)
	}
	cases, err := bench.SelectCases(opt.Models)
	if err != nil {
		return err
	}
	bo := bench.Options{Threads: opt.Threads, Warmup: opt.Warmup, Steps: opt.Steps,
		ChannelsLast: opt.ChannelsLast, PeerChannelsLast: opt.PeerChannelsLast, Python: opt.Python, Peer: !opt.NoPeer}
	if bo.Warmup == 0 {
		bo.Warmup = -1 // bench.Options reads 0 as "default"; the flag's 0 means none
	}
	if err := bo.Validate(); err != nil {
		return err
	}
	self := opt.Self
	if len(self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find graft's executable to measure in a child process: %w", err)
		}
		self = []string{exe, "bench"}
	}

	rep := bench.Report{Threads: opt.Threads, ChannelsLast: opt.ChannelsLast, PeerChannelsLast: opt.PeerChannelsLast, Warmup: opt.Warmup, Steps: opt.Steps,
		Isolated: true, LibtorchVersion: torch.Version()}
	if bo.Peer {
		rep.Python = opt.Python
		ver, err := bench.PeerVersion(ctx, opt.Python)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && opt.RequirePeer:
			return err
		case err != nil:
			// Still worth running: graft's own numbers stand alone.
			rep.PeerError = err.Error()
			bo.Peer = false
			fmt.Fprintf(stderr, "graft: %v\ngraft: measuring graft only; PyTorch columns stay empty\n", err)
		default:
			rep.TorchVersion = ver
		}
	}

	jobs := len(cases) * 2 // one process per mode, for each side
	if bo.Peer {
		jobs *= 2
	}
	bar := newBenchBar(opt, jobs, stderr)
	for _, c := range cases {
		bar.describe("graft " + c.Model)
		g, err := bench.MeasureIsolated(ctx, self, c, bo)
		if err != nil {
			bar.clear()
			return fmt.Errorf("measure graft: %w", err)
		}
		bar.add(2)
		var peer *bench.Result
		if bo.Peer {
			bar.describe("PyTorch " + c.Model)
			p, err := bench.RunPeer(ctx, c, bo)
			switch {
			case ctx.Err() != nil:
				bar.clear()
				return ctx.Err()
			case err != nil && opt.RequirePeer:
				bar.clear()
				return fmt.Errorf("measure PyTorch: %w", err)
			case err != nil:
				// One case failing (torchvision missing for ResNet-18,
				// say) leaves the others' comparison standing.
				bar.clear()
				fmt.Fprintf(stderr, "graft: PyTorch %s: %v\n", c.Model, err)
				rep.PeerError = strings.TrimSpace(rep.PeerError + "\n" + err.Error())
			default:
				peer = &p
			}
			bar.add(2)
		}
		rep.Results = append(rep.Results, bench.Rows(g, peer)...)
	}
	bar.finish()

	if opt.RSS {
		rss, err := benchRSS(ctx, opt, stderr)
		if err != nil {
			return fmt.Errorf("memory-growth check: %w", err)
		}
		rep.RSS = &rss
	}

	if opt.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := writeBenchTable(stdout, rep); err != nil {
		return err
	}
	if rep.RSS != nil && !rep.RSS.OK {
		return fmt.Errorf("RSS grew %.1f%% from step %d to step %d (limit %g%%): memory is leaking",
			rep.RSS.GrowthPct, rep.RSS.RefStep, rep.RSS.Steps, rep.RSS.LimitPct)
	}
	return nil
}

// benchRSS runs the memory-growth check in this process. Every measurement
// so far ran in a child, so this process has done no tensor work yet and its
// resident set is the run's own.
func benchRSS(ctx context.Context, opt BenchOptions, stderr io.Writer) (bench.RSSReport, error) {
	bar := newBenchBar(opt, opt.RSSSteps, stderr)
	bar.describe("RSS check")
	rep, err := bench.TrackRSS(ctx, bench.RSSConfig{
		Steps: opt.RSSSteps, Threads: opt.Threads, ChannelsLast: opt.ChannelsLast,
		Progress: func(step, _ int) { bar.set(step) },
	})
	bar.finish()
	return rep, err
}

// benchBar is a progress bar on a terminal, a line per measurement on a
// file or pipe, or nothing with --quiet. It stays with --json: the JSON
// goes to stdout, and a run takes minutes.
type benchBar struct {
	pb    *progressbar.ProgressBar
	lines io.Writer // not a terminal: one line per measurement
}

func newBenchBar(opt BenchOptions, n int, stderr io.Writer) benchBar {
	if opt.Quiet || n <= 0 {
		return benchBar{}
	}
	if !isTerminal(stderr) {
		return benchBar{lines: stderr}
	}
	return benchBar{pb: progressbar.NewOptions(n,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// The progress bar's errors are write errors on stderr, which nothing can
// report; they are dropped.
func (b benchBar) describe(s string) {
	if b.lines != nil {
		fmt.Fprintf(b.lines, "measuring %s\n", s)
	}
	if b.pb != nil {
		b.pb.Describe(fmt.Sprintf("%-16s", s))
		_ = b.pb.RenderBlank()
	}
}

func (b benchBar) add(n int) {
	if b.pb != nil {
		_ = b.pb.Add(n)
	}
}

func (b benchBar) set(n int) {
	if b.pb != nil {
		_ = b.pb.Set(n)
	}
}

func (b benchBar) clear() {
	if b.pb != nil {
		_ = b.pb.Clear()
	}
}

func (b benchBar) finish() {
	if b.pb != nil {
		_ = b.pb.Finish()
	}
}

// writeBenchTable prints the human report: settings, then an aligned table.
func writeBenchTable(w io.Writer, rep bench.Report) error {
	layoutOf := func(cl bool) string {
		if cl {
			return "NHWC"
		}
		return "NCHW"
	}
	graftLayout := "each architecture's layout (smallcnn NHWC, resnet18 NCHW)"
	if rep.ChannelsLast {
		graftLayout = "NHWC"
	}
	layout := "graft " + graftLayout + ", PyTorch " + layoutOf(rep.PeerChannelsLast)
	peer := "PyTorch not run"
	if rep.TorchVersion != "" {
		peer = "PyTorch " + rep.TorchVersion + " (" + rep.Python + ")"
	}
	if _, err := fmt.Fprintf(w, "graft (libtorch %s) vs %s\n%d threads, %s, %d warm-up + %d timed steps per case and mode, one process each\n\n",
		rep.LibtorchVersion, peer, rep.Threads, layout, rep.Warmup, rep.Steps); err != nil {
		return err
	}
	rows := [][]string{{"model", "mode", "batch", "input", "graft img/s", "torch img/s", "ratio", "graft peak MB", "torch peak MB"}}
	for _, r := range rep.Results {
		rows = append(rows, []string{
			r.Model, r.Mode, fmt.Sprint(r.Batch), fmt.Sprintf("%d×%d", r.Size, r.Size),
			fmt.Sprintf("%.1f", r.GraftImgS), optFloat(r.TorchImgS, "%.1f"), optFloat(r.Ratio, "%.2f"),
			fmt.Sprintf("%.0f", r.PeakRSSMB), optFloat(r.TorchPeakRSSMB, "%.0f"),
		})
	}
	if err := writeAligned(w, rows, 2); err != nil {
		return err
	}
	if rep.RSS != nil {
		verdict := "ok"
		if !rep.RSS.OK {
			verdict = "TOO MUCH"
		}
		c := rep.RSS.Case
		if _, err := fmt.Fprintf(w, "\nRSS over %d training steps of %s (batch %d, %d×%d): %.1f MB at step %d, %.1f MB at the end: %+.2f%% (limit %g%%: %s)\n",
			rep.RSS.Steps, c.Model, c.Batch, c.Size, c.Size, rep.RSS.RefMB, rep.RSS.RefStep, rep.RSS.EndMB,
			rep.RSS.GrowthPct, rep.RSS.LimitPct, verdict); err != nil {
			return err
		}
	}
	if rep.PeerError != "" {
		if _, err := fmt.Fprintf(w, "\nPyTorch columns are empty: %s\n", rep.PeerError); err != nil {
			return err
		}
	}
	return nil
}

func optFloat(v *float64, format string) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf(format, *v)
}

// writeAligned prints rows as columns: the first numFirst columns (names)
// left-aligned, the numbers right-aligned so their digits line up.
func writeAligned(w io.Writer, rows [][]string, numFirst int) error {
	width := make([]int, len(rows[0]))
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", width[i]-len([]rune(c)))
			if i > 0 {
				b.WriteString("  ")
			}
			if i < numFirst {
				b.WriteString(c + pad)
			} else {
				b.WriteString(pad + c)
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}

// benchFreezing measures the feature cache and freeze:K epoch times.
func benchFreezing(ctx context.Context, opt BenchOptions, stdout, stderr io.Writer) error {
	if !opt.Quiet {
		fmt.Fprintln(stderr, "measuring a 20-epoch probe of resnet18 (64 px, 800 synthetic signs) with and without the feature cache, then freeze:K for every K…")
	}
	rep, err := bench.MeasureFreezing(ctx, bench.FreezeOptions{Threads: opt.Threads})
	if err != nil {
		return fmt.Errorf("freezing benchmark: %w", err)
	}
	if opt.Plot != "" {
		svg, png, err := bench.FreezeCurve(rep)
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		if err := safefile.WriteBytes(opt.Plot+".svg", svg); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		if err := safefile.WriteBytes(opt.Plot+".png", png); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	if opt.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "%s, %d px, %d training images, %d threads\n", rep.Model, rep.Size, rep.Images, rep.Threads)
	fmt.Fprintf(stdout, "probe, %d epochs end to end: %.1fs with the cache, %.1fs recomputing the base: %.1fx faster; same predictions: %v (max logit difference %.2g)\n\n",
		rep.Epochs, rep.Cached, rep.Uncached, rep.Speedup, rep.SamePredictions, rep.MaxLogitDiff)
	fmt.Fprintf(stdout, "%-9s %-8s %12s %14s %16s\n", "strategy", "frozen", "trainable", "epoch s cached", "epoch s no cache")
	for _, p := range rep.Freeze {
		fmt.Fprintf(stdout, "freeze:%-2d %-8s %12d %14.2f %16.2f\n", p.K, p.Frozen, p.Trainable, p.EpochSeconds, p.NoCacheEpochS)
	}
	return nil
}
