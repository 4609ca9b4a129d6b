package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/graftml/graft/torch"
)

// PeakRSSMB is the process's peak resident set in MiB, from getrusage's
// ru_maxrss: the number peer.py reads, so the two compare directly.
func PeakRSSMB() (float64, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	kb := float64(ru.Maxrss)
	if runtime.GOOS == "darwin" {
		kb /= 1024 // macOS reports bytes, Linux kibibytes
	}
	return kb / 1024, nil
}

// RSSMB is the process's current resident set in MiB (VmRSS). It needs
// Linux's /proc: peaks can be had portably, the current size cannot.
func RSSMB() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("read resident set size: %w", err)
	}
	return statusKB(b, "VmRSS")
}

// statusKB reads a "Name:   1234 kB" field of /proc/self/status, in MiB.
func statusKB(status []byte, field string) (float64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != field {
			continue
		}
		v, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		kb, err := strconv.ParseFloat(v, 64)
		if err != nil || unit != "kB" {
			return 0, fmt.Errorf("/proc/self/status: unexpected %s line %q", field, sc.Text())
		}
		return kb / 1024, nil
	}
	return 0, fmt.Errorf("/proc/self/status has no %s field", field)
}

// DefaultRSSSteps is the length of the memory-growth run, and RSSRefStep
// the step its reference size is taken at: by then the caching allocators
// and Adam's state have reached their working set.
const (
	DefaultRSSSteps = 2000
	RSSRefStep      = 200
	// RSSGrowthLimit is the largest acceptable growth, in percent, from
	// the reference step to the end.
	RSSGrowthLimit = 5.0
)

// RSSConfig is a memory-growth run.
type RSSConfig struct {
	Case    Case // default: the small CNN case
	Steps   int  // default DefaultRSSSteps
	Threads int  // intra-op threads; 0 leaves libtorch's setting
	// Layout is graft's, as Options.Layout (empty: the architecture's own).
	Layout Layout
	// Every is how often RSS is sampled, in steps (default Steps/20).
	Every int
	// Progress, when set, is called after every step on the training
	// goroutine; it must be quick.
	Progress func(step, steps int)
}

// rssWindow is how many consecutive steps' readings make one reported RSS
// value (their maximum).
const rssWindow = 10

// RSSSample is the largest resident set seen in the steps up to Step since
// the previous sample.
type RSSSample struct {
	Step  int     `json:"step"`
	RSSMB float64 `json:"rss_mb"`
	// GoHeapMB is the Go heap's objects at Step: it tells growth in Go
	// (tensor handles, buffers) from growth in libtorch and malloc.
	GoHeapMB float64 `json:"go_heap_mb"`
}

// goHeapMB reads the Go heap's object bytes without stopping the world.
func goHeapMB() float64 {
	m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(m)
	if m[0].Value.Kind() != metrics.KindUint64 {
		return 0 // metric gone in a future Go: report nothing rather than fail
	}
	return float64(m[0].Value.Uint64()) / (1 << 20)
}

// RSSReport is the outcome of a memory-growth run.
type RSSReport struct {
	Case      Case        `json:"case"`
	Steps     int         `json:"steps"`
	RefStep   int         `json:"ref_step"`
	RefMB     float64     `json:"rss_ref_mb"` // at RefStep (max of the 10 steps up to it)
	EndMB     float64     `json:"rss_end_mb"` // at Steps (likewise)
	GrowthPct float64     `json:"growth_pct"` // (End-Ref)/Ref × 100
	LimitPct  float64     `json:"limit_pct"`
	OK        bool        `json:"ok"` // GrowthPct < LimitPct
	Samples   []RSSSample `json:"samples"`
}

// RefStep is the step a run of n steps takes its reference RSS at:
// RSSRefStep, or a tenth of a shorter run (at least 1), so short test runs
// still compare two points.
func RefStep(n int) int {
	if n >= 2*RSSRefStep {
		return RSSRefStep
	}
	return max(n/10, 1)
}

// TrackRSS trains cfg.Case for cfg.Steps steps with a new random batch
// every step, copied from a Go slice into a fresh tensor as the data loader's
// batches are, and samples the resident set along the way. RefMB and EndMB
// are the largest readings of the 10 steps up to the reference step and up
// to the end. It runs in the calling process, so run it before other tensor
// work for a clean baseline.
func TrackRSS(ctx context.Context, cfg RSSConfig) (RSSReport, error) {
	if cfg.Case == (Case{}) {
		cfg.Case = DefaultCases()[0]
	}
	if cfg.Steps == 0 {
		cfg.Steps = DefaultRSSSteps
	}
	c, n := cfg.Case, cfg.Steps
	if err := c.Validate(); err != nil {
		return RSSReport{}, err
	}
	if n < 2 {
		return RSSReport{}, fmt.Errorf("a memory-growth run needs at least 2 steps, got %d", n)
	}
	every := cfg.Every
	if every <= 0 {
		every = max(n/20, 1)
	}
	ref := RefStep(n)
	rep := RSSReport{Case: c, Steps: n, RefStep: ref, LimitPct: RSSGrowthLimit}

	// One OS thread throughout, as in fit.Train: glibc gives each thread
	// its own malloc arena, so hopping threads would show up as growth that
	// training itself does not have.
	defer torch.LockThread()()
	if cfg.Threads > 0 {
		if err := torch.SetNumThreads(cfg.Threads); err != nil {
			return rep, err
		}
	}
	r, err := newRunner(c, cfg.Layout.ChannelsLast(c.Model), true, torch.CPU, false)
	if err != nil {
		return rep, err
	}
	defer r.free()
	rng := rand.New(rand.NewPCG(1, 2))
	// RSS is read after every step (a /proc read, microseconds against a
	// step's milliseconds) and each reported value is the largest reading
	// of the steps it stands for: glibc hands freed memory back to the OS
	// now and then, and a single reading at that moment sits several
	// percent below the working set (seen: 243 MB between 258 MB readings),
	// which would fake growth when it hit the reference step.
	var intervalMax float64 // since the last curve sample
	var window []float64    // the last rssWindow readings
	for step := 1; step <= n; step++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		// Real per-step work: new values in the (reused) Go buffers, as
		// the loader refills its pooled batches, and a new tensor from them.
		r.fill(rng)
		if err := r.train(); err != nil {
			return rep, fmt.Errorf("%s memory run, step %d: %w", c.Model, step, err)
		}
		rss, err := RSSMB()
		if err != nil {
			return rep, err
		}
		intervalMax = max(intervalMax, rss)
		if len(window) == rssWindow {
			window = window[1:]
		}
		window = append(window, rss)
		if step == ref {
			rep.RefMB = slices.Max(window)
		}
		if step == n {
			rep.EndMB = slices.Max(window)
		}
		if step%every == 0 || step == n {
			rep.Samples = append(rep.Samples, RSSSample{Step: step, RSSMB: intervalMax, GoHeapMB: goHeapMB()})
			intervalMax = 0
		}
		if cfg.Progress != nil {
			cfg.Progress(step, n)
		}
	}
	if rep.RefMB <= 0 {
		return rep, errors.New("no reference RSS was sampled")
	}
	rep.GrowthPct = (rep.EndMB - rep.RefMB) / rep.RefMB * 100
	rep.OK = rep.GrowthPct < rep.LimitPct
	return rep, nil
}

// RSSGrowth trains the small CNN (c, or the default small-CNN case when c
// is zero) for steps steps (0: 2,000) and returns the resident set in MiB at
// the reference step (step 200 in a run of 400 steps or more) and at the end.
func RSSGrowth(ctx context.Context, c Case, steps int) (rss200, rssEnd float64, err error) {
	rep, err := TrackRSS(ctx, RSSConfig{Case: c, Steps: steps})
	if err != nil {
		return 0, 0, err
	}
	return rep.RefMB, rep.EndMB, nil
}
