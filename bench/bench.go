package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// Modes of a measurement.
const (
	ModeTrain = "train"
	ModeInfer = "infer"
)

// Modes lists the modes in the order they are measured and reported.
var Modes = []string{ModeTrain, ModeInfer}

// Case is one network configuration: an architecture from arch or a
// detector from detect (the peer must know it too), a batch size, a square
// RGB input side and a class count (a detector's includes the background).
type Case struct {
	Model   string `json:"model"`
	Batch   int    `json:"batch"`
	Size    int    `json:"size"`
	Classes int    `json:"classes"`
}

// DefaultCases are the cases of the issue: the small CNN at batch 64 on
// 32×32 images and ResNet-18 at batch 32 on 64×64, 10 classes.
func DefaultCases() []Case {
	return []Case{
		{Model: "smallcnn", Batch: 64, Size: 32, Classes: 10},
		{Model: "resnet18", Batch: 32, Size: 64, Classes: 10},
	}
}

// SelectCases picks cases by model name, in the order given, from the
// default and the detector cases; no names means the default cases. Any
// other architecture graft builds (resnet50, say) gets ResNet-18's case:
// batch 32, 64×64, 10 classes.
func SelectCases(models []string) ([]Case, error) {
	if len(models) == 0 {
		return DefaultCases(), nil
	}
	all := append(DefaultCases(), DetectorCases()...)
	var out []Case
	for _, name := range models {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		i := slices.IndexFunc(all, func(c Case) bool { return c.Model == name })
		if _, err := arch.Lookup(name); i < 0 && err == nil {
			all = append(all, Case{Model: name, Batch: 32, Size: 64, Classes: 10})
			i = len(all) - 1
		}
		if i < 0 {
			names := make([]string, len(all))
			for j, c := range all {
				names[j] = c.Model
			}
			return nil, fmt.Errorf("no benchmark case for model %q: choose from %s, or any of graft's architectures (%s)",
				name, strings.Join(names, ", "), strings.Join(arch.Names(), ", "))
		}
		if !slices.Contains(out, all[i]) {
			out = append(out, all[i])
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no model selected")
	}
	return out, nil
}

// String names the case as the Go benchmarks do: model=smallcnn/bs=64/size=32.
func (c Case) String() string {
	return fmt.Sprintf("model=%s/bs=%d/size=%d", c.Model, c.Batch, c.Size)
}

// Validate reports a case that cannot run.
func (c Case) Validate() error {
	if !c.IsDetector() {
		if _, err := arch.Lookup(c.Model); err != nil {
			return err
		}
	}
	switch {
	case c.Batch < 1:
		return fmt.Errorf("%s: batch size must be at least 1, got %d", c.Model, c.Batch)
	case c.Size < 8:
		return fmt.Errorf("%s: input side must be at least 8 pixels, got %d", c.Model, c.Size)
	case c.Classes < 2:
		return fmt.Errorf("%s: at least 2 classes are needed, got %d", c.Model, c.Classes)
	}
	return nil
}

// Options are the measurement settings shared by graft and the peer.
type Options struct {
	Threads int // intra-op threads (default 2)
	Warmup  int // untimed steps before timing, per mode (0 takes the default 5; negative: none)
	Steps   int // timed steps per mode (default 30)
	// Layout is graft's memory layout: empty or LayoutAuto runs each
	// architecture as graft train does; nchw or nhwc forces one on all.
	Layout Layout
	// PeerChannelsLast gives PyTorch NHWC too; off, PyTorch runs as its
	// users get it by default (contiguous NCHW).
	PeerChannelsLast bool
	Python           string // interpreter that runs peer.py (default /usr/bin/python3)
	Peer             bool   // also run the PyTorch peer (used by callers that orchestrate)
	// Device runs both sides on "cpu" (the default) or a CUDA device
	// ("cuda", "cuda:N"), as torch.ParseDevice reads it.
	Device string
	// Precision is graft's forward arithmetic (torch.Precision; empty is
	// fp32). Under a mixed precision the peer runs twice: in fp32, and in
	// torch.autocast at the same type, so both ratios come from one run.
	Precision torch.Precision
	// UnfusedAdam steps graft's Adam one ATen call per operation
	// (optim.Config.Unfused); PyTorch's side is unchanged.
	UnfusedAdam bool
	// FoldBN folds graft's BatchNorms into the convolutions before them
	// for inference (nn.Model.FoldBatchNorm); training is unchanged.
	FoldBN bool
	// Pack runs graft's inference with prepacked oneDNN weights and
	// activations in oneDNN's layout (nn.Model.Pack), as graft predict
	// does; training is unchanged.
	Pack bool
	// CastWeights, under bf16 training on the CPU, has autocast cast every
	// weight on every step instead of keeping bf16 copies
	// (fit.Config.CastWeights): what the copies save.
	CastWeights bool
	// OneDNNWeightGrad, under bf16 training on the CPU, computes every
	// convolution's weight gradient with oneDNN's kernel, the small maps'
	// too (torch.SetGEMMWeightGrad): what the matrix product saves.
	OneDNNWeightGrad bool
	// PeerMalloc runs PyTorch with the glibc malloc settings graft's CLI
	// makes (torch.MallocEnv): the like-for-like comparison, since on a
	// machine where page faults are dear those settings alone move
	// PyTorch's rates by 2× and more (BENCHMARKS.md).
	PeerMalloc bool
}

// Default settings, the same as peer.py's.
const (
	DefaultThreads = 2
	DefaultWarmup  = 5
	DefaultSteps   = 30
	DefaultPython  = "/usr/bin/python3"
)

// WithDefaults fills zero fields. A zero Warmup becomes the default too,
// because the first steps allocate and pick kernels and timing them would
// measure that rather than the steady state; a negative one means none.
func (o Options) WithDefaults() Options {
	if o.Threads == 0 {
		o.Threads = DefaultThreads
	}
	switch {
	case o.Warmup == 0:
		o.Warmup = DefaultWarmup
	case o.Warmup < 0:
		o.Warmup = -1
	}
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.Python == "" {
		o.Python = DefaultPython
	}
	if o.Device == "" {
		o.Device = "cpu"
	}
	return o
}

// Validate reports settings that cannot run.
func (o Options) Validate() error {
	switch {
	case o.Threads < 1:
		return fmt.Errorf("threads must be at least 1, got %d", o.Threads)
	case o.Steps < 1:
		return fmt.Errorf("timed steps must be at least 1, got %d", o.Steps)
	}
	return nil
}

// Sample is one measurement of one case in one mode, by graft or by the
// peer. Its JSON is the line both graft's child process and peer.py print.
type Sample struct {
	Model        string  `json:"model"`
	Mode         string  `json:"mode"`
	ImgPerSec    float64 `json:"img_s"`
	PeakRSSMB    float64 `json:"peak_rss_mb"`
	Version      string  `json:"torch_version,omitempty"` // libtorch or PyTorch version
	Threads      int     `json:"threads,omitempty"`       // threads actually in use
	ChannelsLast bool    `json:"channels_last"`
	// Params counts the network's weights (buffers excluded): graft's and
	// the peer's must agree, or the two sides built different networks.
	Params int64 `json:"params,omitempty"`
	// FLOPs is one image's forward pass (nn.Model.FLOPs); graft's side
	// only, 0 where graft cannot count it (a detector).
	FLOPs     int64  `json:"flops_per_image,omitempty"`
	Device    string `json:"device,omitempty"`
	Precision string `json:"precision,omitempty"` // fp32, bf16 or fp16
}

// Result is a case's training and inference samples.
type Result struct {
	Case  Case
	Train Sample
	Infer Sample
	// Isolated is true when each sample came from its own process, so
	// PeakRSSMB is that mode's own peak; otherwise the infer peak also
	// covers the training measured before it, and every earlier case.
	Isolated bool
	// Rounds are every round's img/s per mode when the case was measured
	// more than once (RunOptions.Rounds); Train and Infer are then the
	// fastest round, with the highest peak RSS of all.
	Rounds map[string][]float64 `json:"rounds,omitempty"`
}

// merge folds another round's measurement of the same case into r: the
// faster sample of each mode is kept, the higher peak RSS, and every
// round's rate.
func (r *Result) merge(o Result) {
	if r.Rounds == nil {
		r.Rounds = map[string][]float64{}
		if r.Train.ImgPerSec > 0 {
			r.Rounds[ModeTrain] = []float64{r.Train.ImgPerSec}
		}
		if r.Infer.ImgPerSec > 0 {
			r.Rounds[ModeInfer] = []float64{r.Infer.ImgPerSec}
		}
	}
	for _, p := range []struct{ dst, src *Sample }{{&r.Train, &o.Train}, {&r.Infer, &o.Infer}} {
		if p.src.ImgPerSec <= 0 {
			continue
		}
		r.Rounds[p.src.Mode] = append(r.Rounds[p.src.Mode], p.src.ImgPerSec)
		peak := max(p.dst.PeakRSSMB, p.src.PeakRSSMB)
		if p.src.ImgPerSec > p.dst.ImgPerSec {
			*p.dst = *p.src
		}
		p.dst.PeakRSSMB = peak
	}
}

func (r *Result) set(s Sample) error {
	switch s.Mode {
	case ModeTrain:
		r.Train = s
	case ModeInfer:
		r.Infer = s
	default:
		return fmt.Errorf("unknown mode %q", s.Mode)
	}
	return nil
}

// Measure measures c's training and then its inference in this process.
// PeakRSSMB is the process's peak so far, so it covers everything run
// before it too; MeasureIsolated gives each mode its own peak.
func Measure(ctx context.Context, c Case, o Options) (Result, error) {
	res := Result{Case: c}
	for _, mode := range Modes {
		s, err := MeasureMode(ctx, c, mode, o)
		if err != nil {
			return res, err
		}
		if err := res.set(s); err != nil {
			return res, err
		}
	}
	return res, nil
}

// MeasureMode measures one mode of c in this process: a model built from
// seed 0, o.Warmup untimed steps, then o.Steps timed ones.
func MeasureMode(ctx context.Context, c Case, mode string, o Options) (Sample, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Sample{}, err
	}
	if err := c.Validate(); err != nil {
		return Sample{}, err
	}
	if mode != ModeTrain && mode != ModeInfer {
		return Sample{}, fmt.Errorf("unknown mode %q: use %s or %s", mode, ModeTrain, ModeInfer)
	}
	// Grad mode is per OS thread in libtorch and glibc's malloc arenas are
	// per thread: one thread for the whole measurement, as fit.Train does,
	// keeps both the semantics and the allocator's reuse what training sees.
	defer torch.LockThread()()
	if err := torch.SetNumThreads(o.Threads); err != nil {
		return Sample{}, err
	}
	if o.OneDNNWeightGrad {
		defer torch.SetGEMMWeightGrad(torch.GEMMWeightGrad())
		torch.SetGEMMWeightGrad(false)
	}
	dev, err := torch.ParseDevice(o.Device)
	if err != nil {
		return Sample{}, err
	}
	if err := o.Precision.Check(dev); err != nil {
		return Sample{}, err
	}
	if o.Precision.Mixed() && c.IsDetector() {
		return Sample{}, fmt.Errorf("%s: --precision %s covers classifiers; detectors run in fp32", c.Model, o.Precision)
	}
	cl := o.Layout.ChannelsLast(c.Model)
	r, err := newStepper(ctx, c, cl, mode == ModeTrain, dev, o)
	if err != nil {
		return Sample{}, err
	}
	defer r.free()

	step := r.train
	if mode == ModeInfer {
		step = r.infer
	}
	run := func(n int) error {
		for i := 0; i < n; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := step(); err != nil {
				return fmt.Errorf("%s %s, step %d: %w", c.Model, mode, i+1, err)
			}
		}
		return nil
	}
	if err := run(max(o.Warmup, 0)); err != nil {
		return Sample{}, err
	}
	if err := syncDevice(dev); err != nil {
		return Sample{}, err
	}
	start := time.Now()
	if err := run(o.Steps); err != nil {
		return Sample{}, err
	}
	if err := syncDevice(dev); err != nil {
		return Sample{}, err
	}
	el := time.Since(start).Seconds()
	peak, err := PeakRSSMB()
	if err != nil {
		return Sample{}, err
	}
	return Sample{
		Model: c.Model, Mode: mode,
		ImgPerSec: float64(c.Batch*o.Steps) / el, PeakRSSMB: peak,
		Version: torch.Version(), Threads: torch.NumThreads(), ChannelsLast: cl, Params: r.params(),
		FLOPs: r.flops(), Device: dev.String(), Precision: string(o.Precision.Name()),
	}, nil
}

// syncDevice waits for the work queued on dev: CUDA runs kernels
// asynchronously, so a clock read before they finish would time their
// launches only. Reading a value back waits for everything queued before
// it on the stream; on the CPU there is nothing to wait for.
func syncDevice(dev torch.Device) error {
	if dev == torch.CPU {
		return nil
	}
	s := torch.NewScope()
	defer s.Close()
	if _, err := s.Track(torch.Zeros(1)).ToDevice(dev).Item(); err != nil {
		return fmt.Errorf("wait for %v: %w", dev, err)
	}
	return nil
}

// stepper runs one mode's steps of a case: a classifier's runner or a
// detector's detRunner.
type stepper interface {
	train() error
	infer() error
	free()
	params() int64
	flops() int64 // one image's forward pass; 0 when unknown
}

// newStepper builds what measures c, with its fixed batch.
func newStepper(ctx context.Context, c Case, channelsLast, train bool, dev torch.Device, o Options) (stepper, error) {
	if c.IsDetector() {
		r, err := newDetRunner(ctx, c, channelsLast, train, dev)
		if err != nil {
			return nil, err
		}
		if !train {
			// Inference as graft detect runs it.
			if err := prepareInference(r.m.Model, c, o); err != nil {
				r.free()
				return nil, err
			}
		}
		return r, nil
	}
	r, err := newRunner(c, channelsLast, train, dev, o.UnfusedAdam)
	if err != nil {
		return nil, err
	}
	r.m.Precision = o.Precision
	if train && nn.LowWeightsFor(o.Precision, dev) && !o.CastWeights {
		// As fit.Train does.
		if err := r.m.KeepLowWeights(torch.BFloat16); err != nil {
			r.free()
			return nil, fmt.Errorf("%s: %w", c.Model, err)
		}
	}
	if !train {
		if err := prepareInference(r.m, c, o); err != nil {
			r.free()
			return nil, err
		}
	}
	// Random but fixed input, like peer.py's torch.randn: throughput must
	// not depend on the values, and a fixed batch costs no generation time.
	r.fill(newRNG())
	return r, nil
}

// prepareInference folds and packs m as o asks, as graft predict and graft
// detect prepare theirs.
func prepareInference(m *nn.Model, c Case, o Options) error {
	if o.FoldBN {
		if _, err := m.FoldBatchNorm(); err != nil {
			return fmt.Errorf("%s: fold BatchNorm: %w", c.Model, err)
		}
	}
	if o.Pack {
		if _, err := m.Pack(); err != nil {
			return fmt.Errorf("%s: pack weights: %w", c.Model, err)
		}
	}
	return nil
}

// runner holds a model (and, to train, its optimizer) and one batch's Go
// buffers, and runs the same steps as fit's training and evaluation loops.
type runner struct {
	c   Case
	cl  bool
	dev torch.Device
	m   *nn.Model
	opt *optim.Optimizer
	x   []float32 // N×3×S×S, copied into a fresh tensor every step
	y   []int64
}

func newRunner(c Case, channelsLast, train bool, dev torch.Device, unfused bool) (*runner, error) {
	// Seed 0 as peer.py does: the same initialisation scheme and seed give
	// networks of the same kind, not the same weights (the generators'
	// call order differs), which is all throughput depends on.
	torch.ManualSeed(0)
	m, err := arch.New(c.Model, arch.Config{NumClasses: c.Classes, InChannels: 3})
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", c.Model, err)
	}
	r := &runner{c: c, cl: channelsLast, dev: dev, m: m,
		x: make([]float32, c.Batch*3*c.Size*c.Size), y: make([]int64, c.Batch)}
	if channelsLast || dev != torch.CPU {
		if err := m.To(dev, channelsLast); err != nil {
			r.free()
			return nil, fmt.Errorf("%s to %v (channels-last %v): %w", c.Model, dev, channelsLast, err)
		}
	}
	if train {
		r.opt, err = optim.New(optim.Config{Name: "adam", LR: 1e-3, Unfused: unfused}, []optim.Group{{Name: "all", Params: m.Trainable()}})
		if err != nil {
			r.free()
			return nil, fmt.Errorf("%s optimizer: %w", c.Model, err)
		}
	}
	return r, nil
}

func (r *runner) params() int64 {
	n, _ := r.m.CountParams()
	return n
}

func (r *runner) flops() int64 {
	n, err := r.m.FLOPs(r.c.Size, r.c.Size)
	if err != nil {
		return 0 // the roofline columns stay empty; the timing stands
	}
	return n
}

func (r *runner) free() {
	if r.opt != nil {
		r.opt.Free()
	}
	r.m.Free()
}

// newRNG is the generator of the fixed benchmark batch.
func newRNG() *rand.Rand { return rand.New(rand.NewPCG(0, 0)) }

// fill draws a new batch into the Go buffers: standard normal pixels (as
// torch.randn) and uniform labels.
func (r *runner) fill(rng *rand.Rand) {
	for i := range r.x {
		r.x[i] = float32(rng.NormFloat64())
	}
	for i := range r.y {
		r.y[i] = rng.Int64N(int64(r.c.Classes))
	}
}

// batch copies the Go buffers into tensors owned by s, as the data loader's
// batches are copied in fit.
func (r *runner) batch(s *torch.Scope) (x, y *torch.Tensor) {
	n, sz := int64(r.c.Batch), int64(r.c.Size)
	x = s.Track(torch.FromFloat32(r.x, n, 3, sz, sz))
	y = s.Track(torch.FromInt64(r.y, n))
	if r.dev != torch.CPU {
		// As fit.BatchTensors does: the batch is made on the host.
		x, y = x.ToDevice(r.dev), y.ToDevice(r.dev)
	}
	if r.cl {
		x = x.ChannelsLast()
	}
	return x, y
}

// train is one optimisation step, structured as fit's: a scope per step,
// forward in training mode, cross-entropy, backward, reading the loss (fit
// checks it for divergence every step), the update and dropping the
// gradients. fit's per-step accuracy (an argmax over the logits) is left
// out because the peer does not compute it.
func (r *runner) train() error {
	s := torch.NewScope()
	defer s.Close()
	x, y := r.batch(s)
	logits := r.m.Forward(x, true)
	if err := update(r.opt, torch.CrossEntropy(logits, y, 0)); err != nil {
		// A failed forward pass surfaces at backward: say where it began.
		if e := logits.Err(); e != nil {
			return fmt.Errorf("forward pass: %w", e)
		}
		return err
	}
	return nil
}

// update is the rest of fit's step after the forward pass, for every
// kind of model bench times: backward, reading the loss and checking it
// for divergence, the optimizer's step, dropping the gradients.
func update(opt *optim.Optimizer, l *torch.Tensor) error {
	if err := l.Backward(); err != nil {
		return fmt.Errorf("backward pass: %w", err)
	}
	loss, err := l.Item()
	if err != nil {
		return fmt.Errorf("read loss: %w", err)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("loss is %v: training diverged", loss)
	}
	if err := opt.Step(); err != nil {
		return err
	}
	return opt.ZeroGrad()
}

// infer is one forward pass in eval mode without gradients, as fit.Predict
// runs it.
func (r *runner) infer() error {
	var err error
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		x, _ := r.batch(s)
		if e := r.m.Forward(x, false).Err(); e != nil {
			err = fmt.Errorf("forward pass: %w", e)
		}
	})
	return err
}
