package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/graftml/graft/bench"
	"github.com/graftml/graft/internal/progress"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// BenchOptions are the settings of `graft bench`.
type BenchOptions struct {
	Threads          int
	Warmup           int // untimed steps per mode; 0 means none
	Steps            int // timed steps per mode
	Models           []string
	ChannelsLast     bool
	Layout           string
	PeerChannelsLast bool
	NoPeer           bool
	RequirePeer      bool
	RSS              bool   // also run the memory-growth check
	Freezing         bool   // measure what freezing and the feature cache save instead
	Plot             string // with Freezing: write the freeze:K curve as PLOT.svg and PLOT.png
	RSSSteps         int
	Python           string
	Device           string
	Precision        torch.Precision
	UnfusedAdam      bool
	FoldBN           bool
	Pack             bool
	CastWeights      bool
	OneDNNWgrad      bool
	PeerMalloc       bool
	Rounds           int
	Batch, Size      int // override every selected case's; 0 keeps each case's own
	// InternalCase, set by graft itself, measures one case and mode in
	// this process and prints one JSON line (see bench.MeasureIsolated).
	InternalCase string
	// Self starts a measuring child process (bench.RunOptions.Self).
	Self []string
}

func newBenchCmd(g *globals) *cobra.Command {
	o := BenchOptions{
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

Detectors, chosen with --models: ssdlite320_mobilenet_v3_large (320x320)
and ssd_smallcnn (128x128), batch 8, and ssd300_vgg16 (300x300), batch 4;
3 classes and the background, random weights. Training is a step of
graft's detection training (the detection loader, SSD's multibox loss with
hard-negative mining, Adam) on random images with 3 fixed boxes each, the
same boxes on both sides; inference is the forward pass and
post-processing (decoding, per-class NMS). PyTorch runs torchvision's
ssdlite320_mobilenet_v3_large and ssd300_vgg16, and graft's small SSD
rebuilt from torchvision's SSD parts.

The PyTorch side is a script carried inside graft and run with --python
(Debian: apt install python3-torch python3-torchvision). Without it, graft's
numbers are printed and the PyTorch columns are empty (null in --json),
unless --require-peer makes that an error.

--rss also trains the small CNN for --rss-steps steps (default 2,000) on a
fresh random batch per step and reports how much the resident set grew from
step 200 to the end; growth of 5% or more is an error (a leak).

--models also takes any of graft's architectures (resnet50, say), at
ResNet-18's case; --batch and --size override every selected case's.

--device cuda runs both sides on the GPU (a shim built against a CUDA
libtorch; see the README's "GPU benchmark"), waiting for the queued
kernels before every clock read.

Beside each case, the roofline: its achieved GFLOP/s (2 FLOPs per
multiply-add of its convolutions and linear layers, a training step
counted as 3 forward passes) and, once per run, the best rate of a
2048x2048 fp32 matmul on the same device and threads: how far each case
runs from the machine's limit. Detectors have no FLOP count.

Timings depend on everything else the machine is doing: compare numbers
taken on an otherwise idle machine.`,
		Example: `  graft bench
  graft bench --models smallcnn --steps 50 --channels-last
  graft bench --models ssdlite320_mobilenet_v3_large,ssd_smallcnn --threads 2
  graft bench --rss --json > bench.json
  graft bench --no-peer --threads 4
  graft bench --device cuda --models resnet50 --batch 64 --size 224`,
		Args: cobra.NoArgs,
		RunE: runE(g, &o, runBench),
	}
	f := cmd.Flags()
	f.IntVar(&o.Threads, "threads", runtime.NumCPU(), withNote("threads", "PyTorch's too; BENCHMARKS.md's figures used 2"))
	f.IntVar(&o.Warmup, "warmup-steps", o.Warmup, "untimed steps before timing, per case and mode")
	f.IntVar(&o.Steps, "steps", o.Steps, withNote("steps", "timed, per case and mode"))
	f.StringSliceVar(&o.Models, "models", nil, "models to run, comma-separated: smallcnn, resnet18 (the default), ssdlite320_mobilenet_v3_large, ssd_smallcnn, ssd300_vgg16, or another architecture")
	f.IntVar(&o.Batch, "batch", 0, withNote("batch", "of every selected case; 0: each case's own"))
	f.IntVar(&o.Size, "size", 0, withNote("size", "the input's, for every selected case; 0: each case's own"))
	deviceFlag(f, &o.Device)
	f.StringVar(&o.Layout, "layout", "auto", "graft's memory layout: auto (each architecture's faster one, as graft train uses; BENCHMARKS.md), nchw or nhwc for every model")
	f.BoolVar(&o.ChannelsLast, "channels-last", false, withNote("channels-last", "graft's, for every model: --layout nhwc"))
	f.BoolVar(&o.PeerChannelsLast, "peer-channels-last", false, "PyTorch also runs NHWC (default: its own default, NCHW)")
	f.BoolVar(&o.NoPeer, "no-peer", false, "measure graft only")
	f.BoolVar(&o.RequirePeer, "require-peer", false, "fail when the PyTorch peer cannot run")
	f.BoolVar(&o.RSS, "rss", false, "also check that RSS stays flat over a long training run")
	f.StringVar(&o.Plot, "plot", "", withNote("plot", "with --freezing, the freeze:K curve"))
	f.BoolVar(&o.Freezing, "freezing", false, "instead, measure what freezing saves: a cached probe against one recomputing its base, and freeze:K epoch times")
	f.IntVar(&o.RSSSteps, "rss-steps", o.RSSSteps, "training steps of the --rss run")
	f.BoolVar(&o.UnfusedAdam, "unfused-adam", false, "graft's Adam steps one ATen call per operation and parameter, the reference its fused step is tested against (optim.Config.Unfused; PyTorch unchanged)")
	f.IntVar(&o.Rounds, "rounds", 1, "measure every case this many times, graft and PyTorch taking turns, and keep each side's fastest (the machine's speed drifts)")
	f.BoolVar(&o.PeerMalloc, "peer-graft-malloc", false, "PyTorch runs with the glibc malloc settings graft uses (no mmap, no trimming, one arena): the like-for-like comparison")
	f.BoolVar(&o.OneDNNWgrad, "onednn-wgrad", false, "under --precision bf16, graft's training computes every convolution's weight gradient with oneDNN's kernel, as PyTorch does, instead of as a matrix product on small maps (what the product saves)")
	f.BoolVar(&o.CastWeights, "cast-weights", false, "under --precision bf16, graft's training casts every weight to bf16 on every step, as PyTorch's autocast does, instead of keeping bf16 copies (what the copies save)")
	f.BoolVar(&o.Pack, "pack", true, "graft's inference prepacks the convolutions' weights for oneDNN and keeps activations in its layout where every layer has a kernel for it (ResNets, VGG, the small CNN), as graft predict does (PyTorch unchanged); --pack=false measures ATen's dense path")
	f.BoolVar(&o.FoldBN, "fold-bn", true, "graft's inference folds each BatchNorm into the convolution before it, as graft predict does (PyTorch unchanged); --fold-bn=false measures the network unfolded, as graft eval runs it")
	precisionFlag(f, &o.Precision, "graft's; PyTorch then runs in fp32 and in torch.autocast at the same type")
	f.StringVar(&o.Python, "python", o.Python, "Python interpreter with torch and torchvision for the peer")
	f.StringVar(&o.InternalCase, strings.TrimPrefix(bench.InternalCaseFlag, "--"), "", "measure one case in this process (used by graft itself)")
	_ = f.MarkHidden(strings.TrimPrefix(bench.InternalCaseFlag, "--")) // the flag exists: cannot fail
	return cmd
}

func runBench(ctx context.Context, o BenchOptions, g *globals, stdout, stderr io.Writer) error {
	if o.InternalCase != "" {
		return bench.RunInternalCase(ctx, o.InternalCase, stdout)
	}
	if o.NoPeer && o.RequirePeer {
		return errors.New("--no-peer and --require-peer contradict each other")
	}
	if o.Device != "cpu" && (o.RSS || o.Freezing) {
		return fmt.Errorf("--device %s: --rss and --freezing measure on the CPU only; drop one", o.Device)
	}
	if o.Freezing {
		return benchFreezing(ctx, o, g, stdout, stderr)
	}
	if err := atLeast("--warmup-steps", o.Warmup, 0); err != nil {
		return err
	}
	if o.RSS && o.RSSSteps < 2 {
		return fmt.Errorf("--rss-steps %d: use at least 2 (the check compares step %d with the end)", o.RSSSteps, bench.RSSRefStep)
	}
	if err := atLeast("--rounds", o.Rounds, 1); err != nil {
		return err
	}
	if err := atLeast("--batch", o.Batch, 0); err != nil {
		return err
	}
	if err := atLeast("--size", o.Size, 0); err != nil {
		return err
	}
	cases, err := bench.SelectCases(o.Models)
	if err != nil {
		return err
	}
	dev, err := torch.ParseDevice(o.Device)
	if err != nil {
		return fmt.Errorf("--device: %w", err)
	}
	if err := checkPrecision(&o.Precision, dev); err != nil {
		return err
	}
	prec := o.Precision
	for i := range cases {
		if prec.Mixed() && cases[i].IsDetector() {
			return fmt.Errorf("--precision %s: %s is a detector, and detectors run in fp32; drop it from --models or use --precision fp32", prec, cases[i].Model)
		}
		if o.Batch > 0 {
			cases[i].Batch = o.Batch
		}
		if o.Size > 0 {
			cases[i].Size = o.Size
		}
		if err := cases[i].Validate(); err != nil {
			return fmt.Errorf("--batch/--size: %w", err)
		}
	}
	layout, err := bench.ParseLayout(o.Layout)
	if err != nil {
		return fmt.Errorf("--layout: %w", err)
	}
	if o.ChannelsLast {
		if layout == bench.LayoutNCHW {
			return fmt.Errorf("--channels-last and --layout nchw contradict each other: give one")
		}
		layout = bench.LayoutNHWC
	}
	ro := bench.RunOptions{Options: bench.Options{Threads: o.Threads, Warmup: o.Warmup, Steps: o.Steps,
		Layout: layout, PeerChannelsLast: o.PeerChannelsLast, PeerMalloc: o.PeerMalloc, Python: o.Python, Peer: !o.NoPeer, Device: o.Device, Precision: prec, UnfusedAdam: o.UnfusedAdam, FoldBN: o.FoldBN, Pack: o.Pack, CastWeights: o.CastWeights, OneDNNWeightGrad: o.OneDNNWgrad},
		Cases: cases, Rounds: o.Rounds, RequirePeer: o.RequirePeer, RSS: o.RSS, RSSSteps: o.RSSSteps, Self: o.Self, Warn: stderr,
		NewProgress: func(n int) bench.Progress { return progress.NewBench(stderr, g.quiet, n) }}
	if ro.Warmup == 0 {
		ro.Warmup = -1 // bench.Options reads 0 as "default"; the flag's 0 means none
	}
	if err := ro.Validate(); err != nil {
		return err
	}
	rep, err := bench.Run(ctx, ro)
	if err != nil {
		return err
	}
	if g.json {
		err = writeJSON(stdout, rep)
	} else {
		err = bench.WriteTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.RSS != nil && !rep.RSS.OK {
		return fmt.Errorf("RSS grew %.1f%% from step %d to step %d (limit %g%%): memory is leaking",
			rep.RSS.GrowthPct, rep.RSS.RefStep, rep.RSS.Steps, rep.RSS.LimitPct)
	}
	return nil
}

// benchFreezing measures the feature cache and freeze:K epoch times.
func benchFreezing(ctx context.Context, o BenchOptions, g *globals, stdout, stderr io.Writer) error {
	if !g.quiet {
		fmt.Fprintln(stderr, "measuring a 20-epoch probe of resnet18 (64 px, 800 synthetic signs) with and without the feature cache, then freeze:K for every K…")
	}
	rep, err := bench.MeasureFreezing(ctx, bench.FreezeOptions{Threads: o.Threads, Rounds: o.Rounds})
	if err != nil {
		return fmt.Errorf("freezing benchmark: %w", err)
	}
	if o.Plot != "" {
		svg, png, err := bench.FreezeCurve(rep)
		if err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
		if _, err := writePlot(o.Plot, svg, png); err != nil {
			return err
		}
	}
	if g.json {
		return writeJSON(stdout, rep)
	}
	return bench.WriteFreezing(stdout, rep)
}
