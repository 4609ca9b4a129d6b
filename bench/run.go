package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Progress follows a Run: what is being measured, and how far it is.
// Implementations draw a bar or print lines; a nil Progress says nothing.
type Progress interface {
	Describe(what string)
	Add(n int)
	Set(n int)
	Clear()
	Finish()
}

// RunOptions are a whole graft bench run.
type RunOptions struct {
	Options
	Cases       []Case
	RequirePeer bool // fail, rather than leave PyTorch's columns empty, when the peer cannot run
	RSS         bool // also check that RSS stays flat over RSSSteps training steps
	RSSSteps    int
	// Self starts a measuring child process (MeasureIsolated); default:
	// this executable with the "bench" subcommand (graft bench).
	Self []string
	// Warn receives one line per problem that leaves the run going
	// (the peer missing, one peer case failing).
	Warn io.Writer
	// NewProgress makes the progress of a stage of n steps; nil: none.
	NewProgress func(n int) Progress
	// Rounds measures every case this many times (default 1), graft and
	// PyTorch taking turns, and keeps each side's fastest round: on a
	// shared machine whose speed drifts between states for seconds at a
	// time, a single graft-then-PyTorch pair can land on two different
	// machines; the best of interleaved rounds compares the two on the
	// same one (timeit's rule). Every round's rate is kept in the JSON.
	Rounds int
}

type noProgress struct{}

func (noProgress) Describe(string) {}
func (noProgress) Add(int)         {}
func (noProgress) Set(int)         {}
func (noProgress) Clear()          {}
func (noProgress) Finish()         {}

func (o RunOptions) progress(n int) Progress {
	if o.NewProgress == nil {
		return noProgress{}
	}
	return o.NewProgress(n)
}

// Run measures every case and mode in its own process, for graft and (with
// Peer) for PyTorch, then the memory-growth check in this process when
// asked. A leak is not an error here: Report.RSS.OK says it.
func Run(ctx context.Context, o RunOptions) (Report, error) {
	if len(o.Self) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return Report{}, fmt.Errorf("find graft's executable to measure in a child process: %w", err)
		}
		o.Self = []string{exe, "bench"}
	}
	o.Options = o.Options.WithDefaults()
	dev, err := torch.ParseDevice(o.Device)
	if err != nil {
		return Report{}, fmt.Errorf("device: %w", err)
	}
	rep := Report{Precision: string(o.Precision.Name()), Threads: o.Threads, Layout: string(o.Layout.orAuto()), PeerChannelsLast: o.PeerChannelsLast, FoldBN: o.FoldBN, Packed: o.Pack, CastWeights: o.CastWeights, OneDNNWeightGrad: o.OneDNNWeightGrad, PeerMalloc: o.PeerMalloc, Warmup: max(o.Warmup, 0), Steps: o.Steps,
		Isolated: true, LibtorchVersion: torch.Version(), Device: dev.String(), CPU: cpuModel()}
	warn := o.Warn
	if warn == nil {
		warn = io.Discard
	}
	if o.Peer {
		rep.Python = o.Python
		ver, err := PeerVersion(ctx, o.Python)
		switch {
		case ctx.Err() != nil:
			return rep, ctx.Err()
		case err != nil && o.RequirePeer:
			return rep, err
		case err != nil:
			// Still worth running: graft's own numbers stand alone.
			rep.PeerError = err.Error()
			o.Peer = false
			fmt.Fprintf(warn, "graft: %v\ngraft: measuring graft only; PyTorch columns stay empty\n", err)
		default:
			rep.TorchVersion = ver
		}
	}
	jobs := len(o.Cases) * 2 // one process per mode, for each side
	peerRuns := 0
	if o.Peer {
		peerRuns = 1
		if o.Precision.Mixed() {
			peerRuns = 2 // PyTorch in fp32 and in its own autocast
		}
	}
	rounds := max(o.Rounds, 1)
	rep.Rounds = rounds
	jobs *= (1 + peerRuns) * rounds
	bar := o.progress(jobs)
	for _, c := range o.Cases {
		var g *Result
		var peers [2]*Result // fp32, then autocast at graft's precision
		for round := range rounds {
			what := c.Model
			if rounds > 1 {
				what = fmt.Sprintf("%s, round %d of %d", c.Model, round+1, rounds)
			}
			bar.Describe("graft " + what)
			gr, err := MeasureIsolated(ctx, o.Self, c, o.Options)
			if err != nil {
				bar.Clear()
				return rep, fmt.Errorf("measure graft: %w", err)
			}
			bar.Add(2)
			if g == nil {
				g = &gr
			} else {
				g.merge(gr)
			}
			if err := o.measurePeers(ctx, c, peerRuns, what, &peers, &rep, bar, warn); err != nil {
				return rep, err
			}
		}
		rep.Results = append(rep.Results, Rows(*g, peers[0], peers[1])...)
	}
	bar.Finish()
	if o.RSS {
		// Every measurement so far ran in a child, so this process has
		// done no tensor work yet and its resident set is the run's own.
		bar := o.progress(o.RSSSteps)
		bar.Describe("RSS check")
		rss, err := TrackRSS(ctx, RSSConfig{Steps: o.RSSSteps, Threads: o.Threads, Layout: o.Layout,
			Progress: func(step, _ int) { bar.Set(step) }})
		bar.Finish()
		if err != nil {
			return rep, fmt.Errorf("memory-growth check: %w", err)
		}
		rep.RSS = &rss
	}
	// Last, so that the RSS check above still starts in a process that
	// has done no tensor work.
	sgemm, err := MeasureSgemm(dev, o.Threads)
	if err != nil {
		return rep, fmt.Errorf("roofline: %w", err)
	}
	rep.SgemmGFLOPS = &sgemm
	conv, err := MeasureConv(dev, o.Threads)
	if err != nil {
		return rep, fmt.Errorf("roofline: %w", err)
	}
	rep.ConvGFLOPS = &conv
	return rep, nil
}

// WriteTable prints a Report for people: the settings, then an aligned table.
func WriteTable(w io.Writer, rep Report) error {
	var models []string
	for _, r := range rep.Results {
		if !slices.Contains(models, r.Model) {
			models = append(models, r.Model)
		}
	}
	l, err := ParseLayout(rep.Layout)
	if err != nil {
		return err
	}
	layout := "graft " + l.describe(models) + ", PyTorch " + layoutName(rep.PeerChannelsLast)
	if rep.PeerMalloc {
		layout += " with graft's malloc settings"
	}
	peer := "PyTorch not run"
	if rep.TorchVersion != "" {
		peer = "PyTorch " + rep.TorchVersion + " (" + rep.Python + ")"
	}
	device := rep.Device
	if device == "" {
		device = "cpu"
	}
	if rep.CPU != "" {
		device += " (" + rep.CPU + ")"
	}
	precision := "fp32"
	if rep.Precision != "" && rep.Precision != string(torch.FP32) {
		precision = "graft " + rep.Precision + " (autocast, fp32 weights), PyTorch fp32 and torch.autocast " + rep.Precision
	}
	// How graft's inference ran; PyTorch's is always its plain eval mode.
	switch {
	case rep.FoldBN && rep.Packed:
		layout += "; graft's inference BatchNorm-folded and prepacked, as graft predict runs"
	case rep.FoldBN:
		layout += "; graft's inference BatchNorm-folded"
	case rep.Packed:
		layout += "; graft's inference prepacked"
	}
	rounds := ""
	if rep.Rounds > 1 {
		rounds = fmt.Sprintf("; each side's fastest of %d rounds, taking turns", rep.Rounds)
	}
	if _, err := fmt.Fprintf(w, "graft (libtorch %s) vs %s on %s\n%d threads, %s, %s, %d warm-up + %d timed steps per case and mode, one process each%s\n",
		rep.LibtorchVersion, peer, device, rep.Threads, precision, layout, rep.Warmup, rep.Steps, rounds); err != nil {
		return err
	}
	if rep.SgemmGFLOPS != nil {
		conv := ""
		if rep.ConvGFLOPS != nil {
			conv = fmt.Sprintf(", a 3×3 convolution (%d→%d channels, %d², batch %d) at %.1f", convChannels, convChannels, convSide, convBatch, *rep.ConvGFLOPS)
		}
		if _, err := fmt.Fprintf(w, "roofline: a %d² fp32 matmul runs at %.1f GFLOP/s here%s (best of %d; %% peak reads against the higher); GFLOP/s count 2 per multiply-add of convolutions and linear layers, a training step 3× the forward\n",
			SgemmSide, *rep.SgemmGFLOPS, conv, SgemmReps); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintln(w); err != nil {
		return err
	}
	mixed := rep.Precision != "" && rep.Precision != string(torch.FP32)
	head := []string{"model", "mode", "batch", "input", "graft img/s", "torch img/s", "ratio"}
	if mixed {
		// graft's precision against PyTorch fp32 (the ratio users feel)
		// and against PyTorch's own autocast at the same type.
		p := rep.Precision
		head = []string{"model", "mode", "batch", "input", "graft " + p + " img/s", "torch fp32 img/s", "ratio",
			"torch " + p + " img/s", "× torch " + p}
	}
	rows := [][]string{append(head, "graft peak MB", "torch peak MB", "graft GFLOP/s", "torch GFLOP/s", "graft % peak")}
	for _, r := range rep.Results {
		pct := "-"
		if peak := rep.Peak(); r.GraftGFLOPS != nil && peak > 0 {
			pct = fmt.Sprintf("%.0f%%", 100**r.GraftGFLOPS/peak)
		}
		row := []string{r.Model, r.Mode, fmt.Sprint(r.Batch), fmt.Sprintf("%d×%d", r.Size, r.Size),
			fmt.Sprintf("%.1f", r.GraftImgS), optFloat(r.TorchImgS, "%.1f"), optFloat(r.Ratio, "%.2f")}
		if mixed {
			row = append(row, optFloat(r.TorchAutocastImgS, "%.1f"), optFloat(r.RatioAutocast, "%.2f"))
		}
		rows = append(rows, append(row,
			fmt.Sprintf("%.0f", r.PeakRSSMB), optFloat(r.TorchPeakRSSMB, "%.0f"),
			optFloat(r.GraftGFLOPS, "%.1f"), optFloat(r.TorchGFLOPS, "%.1f"), pct,
		))
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

// secondsList formats run times as "1.5, 1.7, 1.6".
func secondsList(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.1f", x)
	}
	return strings.Join(s, ", ")
}

// WriteFreezing prints a FreezeReport for people.
func WriteFreezing(w io.Writer, rep *FreezeReport) error {
	fmt.Fprintf(w, "%s, %d px, %d training images, %d threads\n", rep.Model, rep.Size, rep.Images, rep.Threads)
	rounds := ""
	if len(rep.CachedRuns) > 1 {
		rounds = fmt.Sprintf(" (each the fastest of %d runs, taking turns: %s s with the cache, %s s recomputing)",
			len(rep.CachedRuns), secondsList(rep.CachedRuns), secondsList(rep.UncachedRuns))
	}
	fmt.Fprintf(w, "probe, %d epochs end to end: %.1fs with the cache, %.1fs recomputing the base: %.1fx faster%s; same predictions: %v (max logit difference %.2g)\n\n",
		rep.Epochs, rep.Cached, rep.Uncached, rep.Speedup, rounds, rep.SamePredictions, rep.MaxLogitDiff)
	fmt.Fprintf(w, "%-9s %-8s %12s %14s %16s\n", "strategy", "frozen", "trainable", "epoch s cached", "epoch s no cache")
	for _, p := range rep.Freeze {
		if _, err := fmt.Fprintf(w, "%-9s %-8s %12d %14.2f %16.2f\n", strategy.Freeze.At(p.K).Name, p.Frozen, p.Trainable, p.EpochSeconds, p.NoCacheEpochS); err != nil {
			return err
		}
	}
	return nil
}

// measurePeers runs one round of PyTorch's side of case c: fp32, then
// (runs = 2) its autocast at graft's precision, merging each into peers.
// A failing peer leaves its columns empty unless RequirePeer.
func (o RunOptions) measurePeers(ctx context.Context, c Case, runs int, what string, peers *[2]*Result, rep *Report, bar Progress, warn io.Writer) error {
	for k := range runs {
		po := o.Options
		if k == 0 {
			po.Precision = torch.FP32
		}
		bar.Describe(fmt.Sprintf("PyTorch %s %s", po.Precision.Name(), what))
		p, err := RunPeer(ctx, c, po)
		switch {
		case ctx.Err() != nil:
			bar.Clear()
			return ctx.Err()
		case err != nil && o.RequirePeer:
			bar.Clear()
			return fmt.Errorf("measure PyTorch: %w", err)
		case err != nil:
			// One case failing (torchvision missing for ResNet-18,
			// say) leaves the others' comparison standing.
			bar.Clear()
			fmt.Fprintf(warn, "graft: PyTorch %s: %v\n", c.Model, err)
			if !strings.Contains(rep.PeerError, err.Error()) {
				rep.PeerError = strings.TrimSpace(rep.PeerError + "\n" + err.Error())
			}
		case peers[k] == nil:
			peers[k] = &p
		default:
			peers[k].merge(p)
		}
		bar.Add(2)
	}
	return nil
}

// cpuModel is the first "model name" of /proc/cpuinfo, or "" where there
// is none (not Linux, or an architecture that does not give one).
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
