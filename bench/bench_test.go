package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/torch"
)

// TestMain doubles as the child process of MeasureIsolated: the test binary
// re-executed with --internal-case SPEC measures and exits, as graft bench
// does, before the testing package sees the unknown flag.
func TestMain(m *testing.M) {
	for i, a := range os.Args {
		if a == InternalCaseFlag && i+1 < len(os.Args) {
			if err := RunInternalCase(context.Background(), os.Args[i+1], os.Stdout); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	os.Exit(m.Run())
}

// tiny keeps the unit tests to seconds: they check that everything runs
// and reports sane numbers, not how fast.
var (
	tinyCase = Case{Model: "smallcnn", Batch: 8, Size: 32, Classes: 10}
	tinyOpts = Options{Threads: 2, Warmup: 1, Steps: 2}
)

func checkSample(t *testing.T, s Sample, model, mode string) {
	t.Helper()
	if s.Model != model || s.Mode != mode {
		t.Errorf("sample is %s/%s, want %s/%s", s.Model, s.Mode, model, mode)
	}
	if !(s.ImgPerSec > 0) || !(s.PeakRSSMB > 10) {
		t.Errorf("%s/%s: implausible sample %+v", model, mode, s)
	}
}

func TestSelectCases(t *testing.T) {
	cs, err := SelectCases(nil)
	if err != nil || len(cs) != 2 || cs[0].Model != "smallcnn" || cs[1] != (Case{"resnet18", 32, 64, 10}) {
		t.Fatalf("defaults: %v, %v", cs, err)
	}
	cs, err = SelectCases([]string{"resnet18", " smallcnn", "resnet18"})
	if err != nil || len(cs) != 2 || cs[0].Model != "resnet18" {
		t.Fatalf("subset: %v, %v", cs, err)
	}
	if _, err := SelectCases([]string{"vgg99"}); err == nil {
		t.Fatal("unknown model accepted")
	}
	// Any other architecture runs at ResNet-18's case.
	cs, err = SelectCases([]string{"resnet50"})
	if err != nil || len(cs) != 1 || cs[0] != (Case{"resnet50", 32, 64, 10}) {
		t.Fatalf("another architecture: %v, %v", cs, err)
	}
	// Detectors are chosen by name, never by default.
	cs, err = SelectCases([]string{"ssdlite320_mobilenet_v3_large", "smallcnn", "ssd_smallcnn"})
	if err != nil || len(cs) != 3 || cs[0] != (Case{"ssdlite320_mobilenet_v3_large", 8, 320, 4}) || cs[2] != (Case{"ssd_smallcnn", 8, 128, 4}) {
		t.Fatalf("detectors: %v, %v", cs, err)
	}
	if !cs[0].IsDetector() || cs[1].IsDetector() {
		t.Fatalf("IsDetector: %v %v", cs[0].IsDetector(), cs[1].IsDetector())
	}
}

// The detectors' boxes are fixed, inside the image, of the classes the
// case has, and reach the peer with torchvision's labels (from 1).
func TestBenchBoxes(t *testing.T) {
	for _, c := range DetectorCases() {
		t.Run(c.Model, func(t *testing.T) {
			boxes := BenchBoxes(c)
			if len(boxes) != c.Batch {
				t.Fatalf("%d images of boxes, want %d", len(boxes), c.Batch)
			}
			for i, bs := range boxes {
				if len(bs) != boxesPerImage {
					t.Errorf("image %d: %d boxes", i, len(bs))
				}
				for _, b := range bs {
					s := float64(c.Size)
					if !(b.X1 >= 0 && b.Y1 >= 0 && b.X2 <= s && b.Y2 <= s && b.W() >= s/10 && b.H() >= s/10) || b.Class < 0 || b.Class > c.Classes-2 {
						t.Errorf("image %d: bad box %+v", i, b)
					}
				}
			}
			again, err := peerBoxes(BenchBoxes(c))
			if err != nil {
				t.Fatal(err)
			}
			var got [][][5]float64
			if err := json.Unmarshal([]byte(again), &got); err != nil {
				t.Fatal(err)
			}
			b, g := boxes[c.Batch-1][0], got[c.Batch-1][0]
			if g != [5]float64{b.X1, b.Y1, b.X2, b.Y2, float64(b.Class + 1)} {
				t.Errorf("peer's box %v, graft's %+v", g, b)
			}
		})
	}
}

func TestSpecRoundTrip(t *testing.T) {
	in := Spec{Case: DefaultCases()[1], Mode: ModeInfer, Options: Options{Threads: 3, Warmup: -1, Steps: 7, Layout: LayoutNHWC, Device: "cuda:1", Precision: torch.BF16, UnfusedAdam: true, FoldBN: true, Pack: true}}
	out, err := ParseSpec(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip: %+v, want %+v", out, in)
	}
	if _, err := ParseSpec("model=smallcnn&batch=x"); err == nil {
		t.Fatal("bad spec accepted")
	}
}

func TestStatusKB(t *testing.T) {
	st := []byte("Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")
	if v, err := statusKB(st, "VmRSS"); err != nil || v != 1 {
		t.Fatalf("VmRSS = %v, %v", v, err)
	}
	if _, err := statusKB(st, "VmSwap"); err == nil {
		t.Fatal("missing field not reported")
	}
}

func TestMeasure(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		c    Case
		o    Options
		cl   bool // the layout graft must have run in
	}{
		{"smallcnn", tinyCase, tinyOpts, true},
		{"smallcnn-nchw", tinyCase, Options{Threads: 2, Warmup: -1, Steps: 1, Layout: LayoutNCHW}, false},
		{"resnet18", Case{Model: "resnet18", Batch: 2, Size: 32, Classes: 10}, Options{Threads: 2, Warmup: -1, Steps: 1}, true},
		{"resnet18-nchw-bf16", Case{Model: "resnet18", Batch: 2, Size: 32, Classes: 10}, Options{Threads: 2, Warmup: -1, Steps: 1, Layout: LayoutNCHW, Precision: torch.BF16}, false},
		{"resnet18-bf16", Case{Model: "resnet18", Batch: 2, Size: 32, Classes: 10}, Options{Threads: 2, Warmup: -1, Steps: 1, Precision: torch.BF16}, true},
		// A detector through detect.Task, its loss and post-processing,
		// in its body's layout (NHWC), and forced NCHW.
		{"ssd_smallcnn", Case{Model: "ssd_smallcnn", Batch: 2, Size: 64, Classes: 4}, Options{Threads: 2, Warmup: 1, Steps: 1}, true},
		{"ssd_smallcnn-nchw", Case{Model: "ssd_smallcnn", Batch: 2, Size: 64, Classes: 4}, Options{Threads: 2, Warmup: 1, Steps: 1, Layout: LayoutNCHW}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.o.Precision.Mixed() && tc.o.Precision.Check(torch.CPU) != nil {
				t.Skip(tc.o.Precision.Check(torch.CPU))
			}
			res, err := Measure(ctx, tc.c, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if res.Train.Precision != string(tc.o.Precision.Name()) {
				t.Errorf("sample reports precision %q, want %q", res.Train.Precision, tc.o.Precision.Name())
			}
			checkSample(t, res.Train, tc.c.Model, ModeTrain)
			checkSample(t, res.Infer, tc.c.Model, ModeInfer)
			if res.Train.ChannelsLast != tc.cl || res.Infer.ChannelsLast != tc.cl || res.Train.Threads != 2 || res.Train.Version == "" || res.Train.Params == 0 {
				t.Errorf("settings not reported: %+v", res.Train)
			}
		})
	}
}

func TestMeasureRejects(t *testing.T) {
	ctx := context.Background()
	if _, err := MeasureMode(ctx, tinyCase, "sleep", tinyOpts); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := MeasureMode(ctx, Case{Model: "nope", Batch: 1, Size: 32, Classes: 2}, ModeTrain, tinyOpts); err == nil {
		t.Error("unknown model accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := MeasureMode(cctx, tinyCase, ModeTrain, tinyOpts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}

func TestMeasureIsolated(t *testing.T) {
	res, err := MeasureIsolated(context.Background(), []string{os.Args[0]}, tinyCase, tinyOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Isolated {
		t.Error("not marked isolated")
	}
	checkSample(t, res.Train, "smallcnn", ModeTrain)
	checkSample(t, res.Infer, "smallcnn", ModeInfer)
}

func TestReportJSON(t *testing.T) {
	g := Result{Case: tinyCase,
		Train: Sample{Model: "smallcnn", Mode: ModeTrain, ImgPerSec: 300, PeakRSSMB: 200, FLOPs: 1e6},
		Infer: Sample{Model: "smallcnn", Mode: ModeInfer, ImgPerSec: 1200, PeakRSSMB: 180, FLOPs: 1e6}}
	p := Result{Case: tinyCase,
		Train: Sample{Model: "smallcnn", Mode: ModeTrain, ImgPerSec: 200, PeakRSSMB: 300},
		Infer: Sample{Model: "smallcnn", Mode: ModeInfer, ImgPerSec: 1000, PeakRSSMB: 280}}
	rep := Report{Results: append(Rows(g, &p, nil), Rows(g, nil, nil)...), Threads: 2}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 4 {
		t.Fatalf("%d rows: %s", len(got.Results), b)
	}
	for _, r := range got.Results {
		for _, k := range []string{"model", "mode", "graft_img_s", "torch_img_s", "ratio", "peak_rss_mb", "graft_gflops", "torch_gflops"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row lacks %q: %v", k, r)
			}
		}
	}
	if r := got.Results[0]; r["mode"] != "train" || r["ratio"] != 1.5 || r["torch_img_s"] != 200.0 {
		t.Errorf("train row with peer: %v", r)
	}
	// The roofline: 1 MFLOP forward, ×3 to train, × images per second.
	if r := got.Results[0]; r["graft_gflops"] != 0.9 || r["torch_gflops"] != 0.6 || r["flops_per_image"] != 1e6 {
		t.Errorf("train row's GFLOP/s: %v", r)
	}
	if r := got.Results[1]; r["graft_gflops"] != 1.2 || r["torch_gflops"] != 1.0 {
		t.Errorf("infer row's GFLOP/s: %v", r)
	}
	if r := got.Results[3]; r["mode"] != "infer" || r["torch_img_s"] != nil || r["ratio"] != nil || r["torch_peak_rss_mb"] != nil {
		t.Errorf("row without peer must have null torch fields: %v", r)
	}
	// Under bf16 the row also holds PyTorch's autocast and graft's ratio
	// to it; the fp32 ratio stays against PyTorch fp32.
	ac := Result{Case: tinyCase,
		Train: Sample{Model: "smallcnn", Mode: ModeTrain, ImgPerSec: 240},
		Infer: Sample{Model: "smallcnn", Mode: ModeInfer, ImgPerSec: 600}}
	rows := Rows(g, &p, &ac)
	if r := rows[0]; *r.Ratio != 1.5 || *r.TorchAutocastImgS != 240 || *r.RatioAutocast != 1.25 {
		t.Errorf("train row with autocast peer: ratio %v, autocast %v, ratio %v", *r.Ratio, *r.TorchAutocastImgS, *r.RatioAutocast)
	}
	if r := rows[1]; *r.RatioAutocast != 2 {
		t.Errorf("infer row's ratio to autocast %v, want 2", *r.RatioAutocast)
	}
	var table strings.Builder
	if err := WriteTable(&table, Report{Results: rows, Precision: "bf16", Threads: 2, CPU: "Some CPU 9000"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"graft bf16 img/s", "torch fp32 img/s", "torch bf16 img/s", "× torch bf16", "1.25", "on cpu (Some CPU 9000)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("bf16 table lacks %q:\n%s", want, table.String())
		}
	}
}

// The roofline's sgemm gives a rate; the measured samples count the
// network's FLOPs.
func TestRoofline(t *testing.T) {
	g, err := MeasureSgemm(torch.CPU, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !(g > 1) || g > 1e5 {
		t.Errorf("sgemm at %v GFLOP/s", g)
	}
	s, err := MeasureMode(context.Background(), tinyCase, ModeInfer, tinyOpts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 10, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if want, _ := m.FLOPs(32, 32); s.FLOPs != want || want == 0 || s.Device != "cpu" {
		t.Errorf("sample counts %d FLOPs per image on %q, want %d on cpu", s.FLOPs, s.Device, want)
	}
}

func TestRSSGrowth(t *testing.T) {
	ref, end, err := RSSGrowth(context.Background(), Case{Model: "smallcnn", Batch: 8, Size: 32, Classes: 10}, 50)
	if err != nil {
		t.Fatal(err)
	}
	if !(ref > 10) || !(end > 10) {
		t.Fatalf("RSS %v MB at the reference step, %v MB at the end", ref, end)
	}
	t.Logf("RSS %.1f MB at step %d, %.1f MB at step 50", ref, RefStep(50), end)
}

func TestPeer(t *testing.T) {
	ctx := context.Background()
	ver, err := PeerVersion(ctx, DefaultPython)
	if errors.Is(err, ErrPeerUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := RunPeer(ctx, tinyCase, tinyOpts)
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, res.Train, "smallcnn", ModeTrain)
	checkSample(t, res.Infer, "smallcnn", ModeInfer)
	if res.Train.Version != ver || res.Train.Threads != 2 {
		t.Errorf("peer reports torch %q on %d threads, want %q on 2", res.Train.Version, res.Train.Threads, ver)
	}
	t.Logf("peer: torch %s, %v", ver, time.Since(start).Round(time.Millisecond))
	// Its autocast run says which precision it measured.
	bf := tinyOpts
	bf.Precision = torch.BF16
	res, err = RunPeer(ctx, tinyCase, bf)
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, res.Train, "smallcnn", ModeTrain)
	if res.Train.Precision != "bf16" || res.Infer.Precision != "bf16" {
		t.Errorf("peer under --precision bf16 reports %q/%q", res.Train.Precision, res.Infer.Precision)
	}
}

// The peer's ssd_smallcnn, built from torchvision's SSD parts, is graft's
// network: same weight count; and it trains and detects on the boxes
// graft passes it.
func TestPeerDetector(t *testing.T) {
	ctx := context.Background()
	if _, err := PeerVersion(ctx, DefaultPython); errors.Is(err, ErrPeerUnavailable) {
		t.Skip(err)
	} else if err != nil {
		t.Fatal(err)
	}
	c := Case{Model: "ssd_smallcnn", Batch: 2, Size: 128, Classes: 4}
	res, err := RunPeer(ctx, c, Options{Threads: 2, Warmup: -1, Steps: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkSample(t, res.Train, c.Model, ModeTrain)
	checkSample(t, res.Infer, c.Model, ModeInfer)
	m, err := detect.New(c.Model, detect.Config{NumClasses: c.Classes})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if want, _ := m.CountParams(); res.Train.Params != want {
		t.Errorf("PyTorch's %s has %d weights, graft's %d", c.Model, res.Train.Params, want)
	}
}

func TestPeerMissingPython(t *testing.T) {
	_, err := RunPeer(context.Background(), tinyCase, Options{Python: "/nonexistent/python3"})
	if !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("missing python: %v", err)
	}
	if _, err := PeerVersion(context.Background(), "/nonexistent/python3"); !errors.Is(err, ErrPeerUnavailable) {
		t.Fatalf("missing python: %v", err)
	}
}

// benchCases runs f as Benchmark…/model=M/bs=B for each default case.
func benchCases(b *testing.B, f func(b *testing.B, c Case)) {
	for _, c := range DefaultCases() {
		b.Run("model="+c.Model, func(b *testing.B) {
			b.Run(fmt.Sprintf("bs=%d", c.Batch), func(b *testing.B) { f(b, c) })
		})
	}
}

// benchMode times single steps of one mode on 2 threads, after a short
// warm-up, and reports images per second.
func benchMode(b *testing.B, c Case, train bool) {
	runtime.LockOSThread() // as MeasureMode: grad mode and malloc arenas are per thread
	defer runtime.UnlockOSThread()
	if err := torch.SetNumThreads(DefaultThreads); err != nil {
		b.Fatal(err)
	}
	r, err := newRunner(c, false, train, torch.CPU, false)
	if err != nil {
		b.Fatal(err)
	}
	defer r.free()
	r.fill(newRNG())
	step := r.infer
	if train {
		step = r.train
	}
	for range 3 {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	n := 0
	for b.Loop() {
		if err := step(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(c.Batch*n)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkTrainStep(b *testing.B) {
	benchCases(b, func(b *testing.B, c Case) { benchMode(b, c, true) })
}

func BenchmarkInfer(b *testing.B) {
	benchCases(b, func(b *testing.B, c Case) { benchMode(b, c, false) })
}

// The memory-growth run takes minutes, so a test process does it once and
// every call of BenchmarkRSSGrowth (the framework calls it again for each
// b.N it tries, and -benchtime=Nx must not mean N runs) reports that run.
var (
	rssOnce sync.Once
	rssRep  RSSReport
	rssErr  error
)

// BenchmarkRSSGrowth trains the small CNN for 2,000 steps and reports the
// resident set at step 200 and at the end, and the growth between them.
func BenchmarkRSSGrowth(b *testing.B) {
	rssOnce.Do(func() {
		rssRep, rssErr = TrackRSS(context.Background(), RSSConfig{Threads: DefaultThreads})
	})
	if rssErr != nil {
		b.Fatal(rssErr)
	}
	b.ReportMetric(0, "ns/op") // the time of one call says nothing here
	b.ReportMetric(rssRep.RefMB, "rss200_MB")
	b.ReportMetric(rssRep.EndMB, "rss_end_MB")
	b.ReportMetric(rssRep.GrowthPct, "growth_%")
}

// Rounds keep each side's fastest sample, the highest peak and every rate.
func TestMergeRounds(t *testing.T) {
	r := Result{Case: tinyCase,
		Train: Sample{Mode: ModeTrain, ImgPerSec: 100, PeakRSSMB: 300},
		Infer: Sample{Mode: ModeInfer, ImgPerSec: 500, PeakRSSMB: 200}}
	r.merge(Result{Train: Sample{Mode: ModeTrain, ImgPerSec: 180, PeakRSSMB: 250},
		Infer: Sample{Mode: ModeInfer, ImgPerSec: 400, PeakRSSMB: 260}})
	r.merge(Result{Train: Sample{Mode: ModeTrain, ImgPerSec: 150, PeakRSSMB: 310}})
	if r.Train.ImgPerSec != 180 || r.Train.PeakRSSMB != 310 || r.Infer.ImgPerSec != 500 || r.Infer.PeakRSSMB != 260 {
		t.Errorf("merged train %+v, infer %+v", r.Train, r.Infer)
	}
	if got := r.Rounds[ModeTrain]; len(got) != 3 || got[0] != 100 || got[1] != 180 || got[2] != 150 {
		t.Errorf("train rounds %v", got)
	}
	if got := r.Rounds[ModeInfer]; len(got) != 2 {
		t.Errorf("infer rounds %v", got)
	}
	rows := Rows(r, &r, nil)
	if len(rows[0].GraftRounds) != 3 || len(rows[0].TorchRounds) != 3 {
		t.Errorf("rows lack the rounds: %+v", rows[0])
	}
}
