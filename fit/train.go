package fit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// EpochStats is one epoch's record, as results.json and the report show it.
type EpochStats struct {
	Epoch     int     `json:"epoch"` // 1-based over the whole run
	Phase     string  `json:"phase"`
	TrainLoss float64 `json:"train_loss"`
	TrainAcc  float64 `json:"train_accuracy"`
	ValLoss   float64 `json:"val_loss,omitempty"`
	ValAcc    float64 `json:"val_accuracy,omitempty"`
	HasVal    bool    `json:"has_val"`
	LR        float64 `json:"lr"` // base rate at the epoch's end
	Seconds   float64 `json:"seconds"`
	ImgPerSec float64 `json:"img_per_sec"`
}

// StepInfo is reported after every optimisation step.
type StepInfo struct {
	Phase              string
	Epoch, Epochs      int // 1-based epoch of the whole run, and the total
	Step, Steps        int // 1-based step of the epoch, and the total
	Loss, Accuracy     float64
	ImgPerSec          float64
	Elapsed, Remaining time.Duration
}

// Events receives progress. Implementations must be quick: they run on the
// training goroutine.
type Events interface {
	Step(StepInfo)
	Epoch(EpochStats)
}

type noEvents struct{}

func (noEvents) Step(StepInfo)    {}
func (noEvents) Epoch(EpochStats) {}

// ErrDiverged marks a run whose loss became NaN or infinite.
var ErrDiverged = errors.New("training diverged")

// Run is one training job.
type Run struct {
	Model  *nn.Model
	Train  *data.Loader
	Val    *data.Loader // optional: enables early stopping and best-weight restore
	Config Config
	Events Events
	// Resume, when set, saves a resumable state after every epoch to this
	// path (see checkpoint.Paths) and continues from it if it exists.
	Resume *Resumer
	// Cache serves frozen stages' outputs computed once (see FeatureCache).
	// Nil gives the run a cache of its own; NoCache turns caching off.
	Cache   *FeatureCache
	NoCache bool
	// NoPack runs frozen stages as they are; by default a frozen prefix
	// runs as inference does, its frozen BatchNorms folded into packed
	// copies of the convolutions before them (nn.Model.PackStages), cached
	// or not.
	NoPack bool
	// TrainKey and ValKey name the data sets in a shared Cache; runs that
	// share a key must use the same data and preprocessing.
	TrainKey, ValKey string
	// Task, when set, supplies the batches, the loss and the validation
	// score instead of Train, Val and cross-entropy (see Task).
	Task Task
}

// DefaultCacheBytes bounds a run's own feature cache.
const DefaultCacheBytes = 2 << 30

// Result summarises a finished run.
type Result struct {
	History      []EpochStats `json:"history"`
	BestEpoch    int          `json:"best_epoch"` // 1-based; 0 without validation
	Epochs       int          `json:"epochs"`     // epochs actually run
	StoppedEarly bool         `json:"stopped_early"`
	// Converged is false when the best epoch was the last one: the run
	// was still improving when its budget ran out.
	Converged bool    `json:"converged"`
	Seconds   float64 `json:"train_seconds"`
	// FLOPs is the arithmetic the run did (fit/work.go), resumed parts
	// included; 0 where it cannot be counted.
	FLOPs float64 `json:"flops,omitempty"`
}

// state is everything that changes during a run, kept so a resumed run
// continues exactly where the interrupted one stopped.
type state struct {
	Phase        int          `json:"phase"`
	PhaseEpoch   int          `json:"phase_epoch"` // epochs completed in the phase
	Epoch        int          `json:"epoch"`       // epochs completed overall
	History      []EpochStats `json:"history"`
	BestEpoch    int          `json:"best_epoch"`
	BestAcc      float64      `json:"best_acc"`
	BestLoss     float64      `json:"best_loss"`
	Bad          int          `json:"bad_epochs"`
	StoppedEarly bool         `json:"stopped_early"`
	Seconds      float64      `json:"seconds"`
	FLOPs        float64      `json:"flops,omitempty"`
	// Bonus epochs carried into the current phase from an earlier phase
	// that stopped early: the budget is the run's, not the phase's.
	Bonus int `json:"bonus"`
	// Trained marks stages whose weights changed in this run; their old
	// cached outputs are stale.
	Trained []bool `json:"trained"`
	// Scaler is the fp16 loss scale, kept with the run so that a resumed
	// run goes on at the scale it had reached.
	Scaler *optim.Scaler `json:"scaler,omitempty"`
}

// Train runs the configured phases on r.Model.
func Train(ctx context.Context, r Run) (*Result, error) {
	cfg := r.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if r.Model != nil && (r.Model.Packed() || r.Model.Folded) {
		// Folded BatchNorms would not train, and packed weights would
		// go stale as the weights moved.
		return nil, fmt.Errorf("the model is prepared for inference only (BatchNorm folded or weights packed): train the checkpoint as saved")
	}
	if r.Task != nil && cfg.PreciseBN {
		return nil, fmt.Errorf("precise BatchNorm statistics are for classifiers; a %T task does not support them", r.Task)
	}
	for i, p := range cfg.Phases {
		if p.StageLR != nil && len(p.StageLR) != len(r.Model.Stages) {
			return nil, fmt.Errorf("phase %d: %d stage rates for %d stages", i, len(p.StageLR), len(r.Model.Stages))
		}
	}
	ev := r.Events
	if ev == nil {
		ev = noEvents{}
	}
	// libtorch's grad mode is per thread, and glibc gives each thread its
	// own malloc arena: one OS thread for the whole run keeps both stable
	// and memory reused step after step.
	defer torch.LockThread()()

	if cfg.ChannelsLast || cfg.Device != torch.CPU {
		if err := r.Model.To(cfg.Device, cfg.ChannelsLast); err != nil {
			return nil, err
		}
	}
	if err := usePrecision(r.Model, cfg); err != nil {
		return nil, err
	}
	defer r.Model.Unpack() // phases pack their frozen prefixes
	// "No best loss yet" is the largest float rather than +Inf, which the
	// resumable state's JSON could not hold.
	t := &trainer{r: r, cfg: cfg, ev: ev, st: state{BestLoss: math.MaxFloat64, BestAcc: -1, Trained: make([]bool, len(r.Model.Stages))}}
	if cfg.Precision.Name() == torch.FP16 {
		t.st.Scaler = optim.NewScaler()
	}
	defer t.freeBest()
	defer freeAll(t.anchors)
	defer func() {
		if t.opt != nil {
			t.opt.Free()
		}
	}()
	if pt, ok := r.Task.(PrefixTask); ok {
		// What the task caches are this run's weights' outputs; the next
		// run's would differ. Turning the cache off only frees it.
		defer func() { _ = pt.SetPrefix(context.Background(), 0, cfg) }()
	}
	if r.Cache == nil && !r.NoCache && r.Task == nil {
		r.Cache = NewFeatureCache(DefaultCacheBytes)
		t.r.Cache = r.Cache
		defer r.Cache.Free()
	}
	// bf16 copies of the weights (nn.Model.KeepLowWeights), made before a
	// resume builds the optimizer, whose parameters carry them.
	keepLow := nn.LowWeightsFor(cfg.Precision, cfg.Device) && !cfg.CastWeights
	if keepLow {
		if err := r.Model.KeepLowWeights(torch.BFloat16); err != nil {
			return nil, err
		}
		defer r.Model.DropLowWeights()
	}
	if cfg.L2SP > 0 {
		if err := t.snapshotAnchors(); err != nil {
			return nil, err
		}
	}
	t.countWork()
	if r.Resume != nil {
		if err := r.Resume.restore(t); err != nil {
			return nil, err
		}
	}
	if keepLow {
		// The restore wrote the masters the copies were made from.
		if err := r.Model.SyncLowWeights(); err != nil {
			return nil, err
		}
	}
	for t.st.Phase < len(cfg.Phases) {
		if err := t.runPhase(ctx); err != nil {
			return t.result(), err
		}
		if t.st.StoppedEarly {
			break
		}
	}
	r.Model.Unpack()
	if cfg.PreciseBN && !t.hasVal() {
		// Without validation nothing recalibrated the statistics yet.
		if err := t.finalPreciseBN(ctx); err != nil {
			return t.result(), err
		}
	}
	if t.best != nil {
		if err := t.restoreBest(); err != nil {
			return t.result(), err
		}
	}
	if r.Resume != nil {
		r.Resume.finish()
	}
	return t.result(), nil
}

type trainer struct {
	r    Run
	cfg  Config
	ev   Events
	st   state
	opt  *optim.Optimizer
	best []*torch.Tensor // copies of the parameters and buffers at the best epoch
	// anchors are the starting weights of the pretrained stages, which the
	// L2-SP penalty pulls toward; keyed by parameter name.
	anchors map[string]*torch.Tensor
	// src and valSrc feed the current phase: images, or cached features.
	src, valSrc batchSource
	from        int // first stage the model runs; earlier ones are cached
	// packedTo is the end of the phase's packed frozen prefix: stages
	// [from, packedTo) run as inference does (nn.Model.PackStages).
	packedTo int
	// stageFLOPs is one image's forward pass per stage (nil: uncounted).
	stageFLOPs []float64
}

func (t *trainer) result() *Result {
	res := &Result{History: t.st.History, BestEpoch: t.st.BestEpoch, Epochs: t.st.Epoch,
		StoppedEarly: t.st.StoppedEarly, Seconds: t.st.Seconds, FLOPs: t.st.FLOPs}
	res.Converged = t.st.StoppedEarly || (t.st.BestEpoch > 0 && t.st.BestEpoch < t.st.Epoch)
	return res
}

// stageLR is a phase's learning-rate multiplier for stage i.
func (p Phase) stageLR(i int) float64 {
	if p.StageLR == nil {
		return 1
	}
	return p.StageLR[i]
}

// freeze freezes and unfreezes the stages as p says.
func (t *trainer) freeze(p Phase) error {
	for i := range t.r.Model.Stages {
		if err := t.r.Model.SetTrainable(i, p.stageLR(i) > 0, p.TrainBN); err != nil {
			return err
		}
	}
	return nil
}

// setupPhase freezes and unfreezes stages and builds the phase's optimizer
// with one parameter group per trainable stage.
func (t *trainer) setupPhase(p Phase) error {
	if err := t.freeze(p); err != nil {
		return err
	}
	var groups []optim.Group
	for i, s := range t.r.Model.Stages {
		mult := p.stageLR(i)
		if mult <= 0 {
			continue
		}
		var ps []nn.Param
		for _, q := range s.Params() {
			if !q.Buffer {
				ps = append(ps, q)
			}
		}
		groups = append(groups, optim.Group{
			Name: s.Name, Params: ps,
			LR:          t.cfg.Optimizer.LR * p.LRScale * mult,
			WeightDecay: t.cfg.Optimizer.WeightDecay,
		})
	}
	if len(groups) == 0 {
		return fmt.Errorf("phase %q trains no stage", p.Name)
	}
	if t.opt != nil {
		t.opt.Free()
	}
	var err error
	t.opt, err = optim.New(t.cfg.Optimizer, groups)
	return err
}

func (t *trainer) runPhase(ctx context.Context) error {
	p := t.cfg.Phases[t.st.Phase]
	p.Epochs += t.st.Bonus
	if t.st.PhaseEpoch == 0 || t.opt == nil {
		if err := t.setupPhase(p); err != nil {
			return err
		}
	}
	if err := t.sources(ctx, p); err != nil {
		return err
	}
	if t.st.PhaseEpoch == 0 && p.Epochs > 0 {
		t.chargePrefix()
	}
	steps := t.batches()
	total := steps * p.Epochs
	for t.st.PhaseEpoch < p.Epochs {
		if err := ctx.Err(); err != nil {
			return err
		}
		stats, err := t.epoch(ctx, p, steps, total)
		if err != nil {
			return err
		}
		t.st.PhaseEpoch++
		t.st.Epoch++
		for i, r := range p.StageLR {
			t.st.Trained[i] = t.st.Trained[i] || r > 0
		}
		if p.StageLR == nil {
			for i := range t.st.Trained {
				t.st.Trained[i] = true
			}
		}
		improved := true
		if t.hasVal() {
			improved = stats.ValAcc > t.st.BestAcc || (stats.ValAcc == t.st.BestAcc && stats.ValLoss < t.st.BestLoss)
			if improved {
				t.st.BestAcc, t.st.BestLoss, t.st.BestEpoch, t.st.Bad = stats.ValAcc, stats.ValLoss, t.st.Epoch, 0
				if err := t.saveBest(); err != nil {
					return err
				}
			} else {
				t.st.Bad++
			}
		}
		t.st.History = append(t.st.History, stats)
		t.ev.Epoch(stats)
		stop := t.cfg.Patience > 0 && t.st.Bad >= t.cfg.Patience && t.st.PhaseEpoch >= t.cfg.minEpochs(p.Epochs)
		bonus := 0
		if stop {
			// The phase ends here; a later phase (e.g. unfreezing after a
			// probe) still runs, and inherits the unused epochs.
			bonus = p.Epochs - t.st.PhaseEpoch
			t.st.PhaseEpoch = p.Epochs
			if t.st.Phase == len(t.cfg.Phases)-1 {
				t.st.StoppedEarly = true
			}
			t.st.Bad = 0
		}
		if t.st.PhaseEpoch >= p.Epochs {
			t.st.Phase++
			t.st.PhaseEpoch = 0
			t.st.Bonus = bonus
		}
		if t.r.Resume != nil {
			if err := t.r.Resume.save(t); err != nil {
				return err
			}
		}
		if t.st.PhaseEpoch == 0 {
			return nil // next phase builds its own optimizer
		}
	}
	return nil
}

// epoch trains one epoch and validates.
func (t *trainer) epoch(ctx context.Context, p Phase, steps, total int) (EpochStats, error) {
	start := time.Now()
	epoch := t.st.Epoch + 1
	// Reseeding per epoch makes dropout depend only on (seed, epoch), so a
	// resumed run draws what the uninterrupted one would have.
	torch.ManualSeed(t.cfg.Seed*1_000_003 + uint64(epoch))
	var lossSum, correct float64
	var seen int
	step := 0
	each := func(f func(loss, acc float64, n int) error) error {
		if t.r.Task != nil {
			return t.r.Task.EachTrain(ctx, epoch, t.cfg, func(l *torch.Tensor, n int) error {
				t.opt.SetScale(t.cfg.Schedule.Factor(t.st.PhaseEpoch*steps+step, total))
				loss, err := t.update(l)
				if err != nil {
					return err
				}
				return f(loss, 0, n)
			})
		}
		return t.src.each(ctx, epoch, func(sc *torch.Scope, b batchIn) error {
			t.opt.SetScale(t.cfg.Schedule.Factor(t.st.PhaseEpoch*steps+step, total))
			loss, acc, err := t.step(b)
			if err != nil {
				return err
			}
			return f(loss, acc, b.n)
		})
	}
	stepped := 0 // images stepped on, a diverging batch included: the work done
	err := each(func(loss, acc float64, n int) error {
		stepped += n
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return fmt.Errorf("%w: loss is %v at epoch %d, step %d; lower the learning rate (--lr %g now) or add gradient clipping (--clip)",
				ErrDiverged, loss, epoch, step+1, t.cfg.Optimizer.LR*p.LRScale)
		}
		lossSum += loss * float64(n)
		correct += acc * float64(n)
		seen += n
		step++
		el := time.Since(start)
		t.ev.Step(StepInfo{
			Phase: p.Name, Epoch: epoch, Epochs: t.cfg.TotalEpochs(), Step: step, Steps: steps,
			Loss: loss, Accuracy: acc, ImgPerSec: float64(seen) / el.Seconds(), Elapsed: el,
			Remaining: time.Duration(float64(el) / float64(step) * float64(steps-step)),
		})
		return nil
	})
	t.addWork(stepped, t.stepFLOPs(p))
	if err != nil {
		return EpochStats{}, err
	}
	if seen == 0 {
		return EpochStats{}, fmt.Errorf("the training set gave no batch: it has fewer samples than one batch (%d) and the last partial batch is dropped; lower --batch", t.cfg.BatchSize)
	}
	el := time.Since(start).Seconds()
	stats := EpochStats{
		Epoch: epoch, Phase: p.Name, TrainLoss: lossSum / float64(seen), TrainAcc: correct / float64(seen),
		LR:        t.cfg.Optimizer.LR * p.LRScale * t.cfg.Schedule.Factor(t.st.PhaseEpoch*steps+steps-1, total),
		ImgPerSec: float64(seen) / el,
	}
	if t.r.Task != nil && t.r.Task.HasVal() {
		loss, score, err := t.r.Task.Validate(ctx, t.cfg)
		if err != nil {
			return stats, fmt.Errorf("validate: %w", err)
		}
		stats.ValLoss, stats.ValAcc, stats.HasVal = loss, score, true
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return stats, fmt.Errorf("%w: validation loss is %v after epoch %d; lower the learning rate (--lr %g now) or add gradient clipping (--clip)",
				ErrDiverged, loss, epoch, t.cfg.Optimizer.LR*p.LRScale)
		}
	} else if t.r.Val != nil {
		if t.cfg.PreciseBN {
			if err := recalibrateBN(ctx, t.r.Model, t.src, t.from, epoch); err != nil {
				return stats, err
			}
			t.addWork(t.r.Train.Dataset().Len(), t.forwardFLOPs(t.from, len(t.stageFLOPs)))
		}
		ev, err := t.evaluate(ctx)
		if err != nil {
			return stats, fmt.Errorf("validate: %w", err)
		}
		stats.ValLoss, stats.ValAcc, stats.HasVal = ev.Loss, ev.Confusion.Accuracy(), true
		if math.IsNaN(ev.Loss) || math.IsInf(ev.Loss, 0) {
			return stats, fmt.Errorf("%w: validation loss is %v after epoch %d; lower the learning rate (--lr %g now) or add gradient clipping (--clip)",
				ErrDiverged, ev.Loss, epoch, t.cfg.Optimizer.LR*p.LRScale)
		}
	}
	stats.Seconds = time.Since(start).Seconds()
	t.st.Seconds += stats.Seconds
	return stats, nil
}

// step runs forward, backward and the update for one batch, returning the
// batch's loss and accuracy.
func (t *trainer) step(b batchIn) (loss, acc float64, err error) {
	x, from := b.x, t.from
	if t.packedTo > from {
		torch.NoGrad(func() { x = t.r.Model.ForwardRange(x, from, t.packedTo, false) })
		if t.cfg.ChannelsLast && len(x.Shape()) == 4 {
			// The packed stages hand back NCHW; the trainable ones are
			// NHWC and compute as they would on cached features (which
			// batchSource lays out the same way).
			x = x.ChannelsLast()
		}
		from = t.packedTo
	}
	logits := t.r.Model.ForwardRange(x, from, len(t.r.Model.Stages), true)
	l := torch.CrossEntropy(logits, b.y, t.cfg.LabelSmoothing)
	if loss, err = t.update(l); err != nil {
		if e := logits.Err(); e != nil {
			return 0, 0, fmt.Errorf("forward pass on a %v batch: %w", b.x.Shape(), e)
		}
		return 0, 0, err
	}
	// Read back and counted here: one copy instead of four small ATen
	// calls a step, which a head trained on cached features feels.
	v, err := logits.Float32s()
	if err != nil {
		return 0, 0, err
	}
	return loss, float64(hits(v, b.labels)) / float64(b.n), nil
}

// hits counts the rows of logits (row-major, len(labels) rows) whose
// largest entry, the first of equals as torch.argmax takes it, is the label.
func hits(logits []float32, labels []int64) int {
	if len(labels) == 0 {
		return 0
	}
	k := len(logits) / len(labels)
	n := 0
	for i, y := range labels {
		if int64(metrics.Argmax(logits[i*k:(i+1)*k])) == y {
			n++
		}
	}
	return n
}

// update backpropagates a batch's loss and makes the optimizer step
// (L2-SP, clipping), returning the loss's value.
//
// In fp16 the loss is scaled before the backward pass and the gradients
// unscaled after it (optim.Scaler); a step whose gradients overflowed is
// skipped, which is how the scale finds its level, not a divergence.
func (t *trainer) update(l *torch.Tensor) (loss float64, err error) {
	if loss, err = l.Item(); err != nil {
		return 0, err
	}
	sc := t.st.Scaler
	if sc != nil {
		l = l.MulScalar(sc.Scale)
	}
	if err := l.Backward(); err != nil {
		return 0, err
	}
	if sc != nil {
		finite, err := sc.Unscale(t.opt)
		if err != nil {
			return 0, err
		}
		sc.Update(finite)
		if !finite {
			return loss, t.opt.ZeroGrad()
		}
	}
	if t.anchors != nil || t.cfg.ClipNorm > 0 {
		// The penalty and the clipping read float32 gradients.
		if err := t.masterGrads(); err != nil {
			return 0, err
		}
	}
	if t.anchors != nil {
		if err := t.l2sp(); err != nil {
			return 0, err
		}
	}
	if t.cfg.ClipNorm > 0 && !math.IsNaN(loss) {
		if err := t.clip(); err != nil {
			return 0, err
		}
	}
	if err := t.opt.Step(); err != nil {
		return 0, err
	}
	if err := t.opt.ZeroGrad(); err != nil {
		return 0, err
	}
	return loss, nil
}

// batches is the number of training batches per epoch.
func (t *trainer) batches() int {
	if t.r.Task != nil {
		return t.r.Task.Batches()
	}
	return t.r.Train.Batches()
}

// hasVal says whether the run validates.
func (t *trainer) hasVal() bool {
	if t.r.Task != nil {
		return t.r.Task.HasVal()
	}
	return t.r.Val != nil
}

// sources picks where the phase's batches come from: cached features of
// the frozen prefix when allowed, images otherwise.
func (t *trainer) sources(ctx context.Context, p Phase) error {
	t.from = 0
	if t.r.Task != nil {
		pt, ok := t.r.Task.(PrefixTask)
		if !ok {
			return nil
		}
		k := 0
		if !t.r.NoCache {
			k = frozenPrefix(p, t.r.Model, t.st.Trained)
		}
		if err := pt.SetPrefix(ctx, k, t.cfg); err != nil {
			return fmt.Errorf("phase %q: cache its %d frozen stages: %w", p.Name, k, err)
		}
		return nil
	}
	t.src = batchSource{l: t.r.Train, cfg: t.cfg}
	t.valSrc = batchSource{l: t.r.Val, cfg: t.cfg}
	t.packedTo = 0
	if k := frozenPrefix(p, t.r.Model, t.st.Trained); k > 0 && !t.r.NoPack {
		// Packed before the cache's feature pass, which then runs packed
		// too: cached or recomputed, the prefix computes the same.
		if _, err := t.r.Model.PackStages(k); err != nil {
			return fmt.Errorf("phase %q: pack its %d frozen stages: %w", p.Name, k, err)
		}
		for t.packedTo < k && t.r.Model.Stages[t.packedTo].Packed {
			t.packedTo++
		}
	}
	if t.r.Cache == nil {
		return nil
	}
	k := cachedPrefix(p, t.r.Model, t.r.Train, t.st.Trained)
	if k == 0 {
		return nil
	}
	tf, err := t.r.Cache.get(ctx, cacheKey(t.r.TrainKey, t.r.Train), k, t.r.Model, t.r.Train, t.cfg)
	if err != nil || tf == nil {
		return err
	}
	var vf *features
	if t.r.Val != nil {
		if vf, err = t.r.Cache.get(ctx, cacheKey(t.r.ValKey, t.r.Val), k, t.r.Model, t.r.Val, t.cfg); err != nil || vf == nil {
			return err
		}
	}
	t.from = k
	t.src.feat = tf
	t.valSrc.feat = vf
	return nil
}

// frozenPrefix is cachedPrefix's rule less the loader's augmentation,
// which a PrefixTask checks itself: the leading stages p freezes, with
// frozen BatchNorm, that no earlier phase trained.
func frozenPrefix(p Phase, m *nn.Model, trained []bool) int {
	if p.StageLR == nil || p.TrainBN {
		return 0
	}
	k := 0
	for k < len(m.Stages)-1 && p.StageLR[k] == 0 && !trained[k] {
		k++
	}
	return k
}

// cacheKey names a loader's data in the cache: the caller's key, or the
// loader itself for a run-local cache.
func cacheKey(key string, l *data.Loader) string {
	if key != "" {
		return key
	}
	return fmt.Sprintf("loader@%p", l)
}

// finalPreciseBN recalibrates BatchNorm over the last phase's training
// source once the phases are done.
func (t *trainer) finalPreciseBN(ctx context.Context) error {
	if t.src.l == nil {
		// Resumed after the last epoch: no phase ran in this process.
		p := t.cfg.Phases[len(t.cfg.Phases)-1]
		if err := t.freeze(p); err != nil {
			return err
		}
		if err := t.sources(ctx, p); err != nil {
			return err
		}
	}
	t.addWork(t.r.Train.Dataset().Len(), t.forwardFLOPs(t.from, len(t.stageFLOPs)))
	return recalibrateBN(ctx, t.r.Model, t.src, t.from, t.st.Epoch)
}

// evaluate scores the model on the validation source.
func (t *trainer) evaluate(ctx context.Context) (*Evaluation, error) {
	t.addWork(t.r.Val.Dataset().Len(), t.forwardFLOPs(t.from, len(t.stageFLOPs)))
	return evaluateSource(ctx, t.r.Model, t.valSrc, t.from, t.cfg)
}

// snapshotAnchors copies the pretrained stages' weights (all but the head).
func (t *trainer) snapshotAnchors() error {
	t.anchors = map[string]*torch.Tensor{}
	var err error
	torch.NoGrad(func() {
		for _, s := range t.r.Model.Stages[:len(t.r.Model.Stages)-1] {
			for _, p := range s.Params() {
				if p.Buffer {
					continue
				}
				c := p.T.CloneDetached()
				if err = c.Err(); err != nil {
					return
				}
				t.anchors[p.Name] = c
			}
		}
	})
	return err
}

// l2sp adds the gradient of α/2·‖w − w₀‖² (Li et al., 2018) to every
// trainable pretrained weight: the penalty's gradient is applied directly
// rather than through autograd, which costs two in-place ops per weight.
func (t *trainer) l2sp() error {
	a := t.cfg.L2SP
	var err error
	torch.NoGrad(func() {
		for _, g := range t.opt.Groups() {
			for _, p := range g.Params {
				w0, ok := t.anchors[p.Name]
				if !ok {
					continue
				}
				var gr *torch.Tensor
				if gr, err = p.T.Grad(); err != nil || gr == nil {
					continue
				}
				err = firstErr(gr.AddInPlace(p.T, a), gr.AddInPlace(w0, -a))
				gr.Free()
				if err != nil {
					return
				}
			}
		}
	})
	return err
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func freeAll[K comparable](m map[K]*torch.Tensor) {
	for _, t := range m {
		t.Free()
	}
}

// clip rescales all gradients together when their global norm exceeds
// ClipNorm (torch.nn.utils.clip_grad_norm_).
func (t *trainer) clip() error {
	var grads []*torch.Tensor
	defer func() {
		for _, g := range grads {
			g.Free()
		}
	}()
	var sq float64
	for _, g := range t.opt.Groups() {
		for _, p := range g.Params {
			gr, err := p.T.Grad()
			if err != nil {
				return err
			}
			if gr == nil {
				continue
			}
			grads = append(grads, gr)
			// The norm is a tensor of its own: freed at once, not left to
			// the garbage collector one per parameter per step.
			nt := gr.Norm()
			n, err := nt.Item()
			nt.Free()
			if err != nil {
				return err
			}
			sq += n * n
		}
	}
	norm := math.Sqrt(sq)
	if norm <= t.cfg.ClipNorm {
		return nil
	}
	f := t.cfg.ClipNorm / (norm + 1e-6)
	var err error
	torch.NoGrad(func() {
		for _, g := range grads {
			if err = g.MulScalarInPlace(f); err != nil {
				return
			}
		}
	})
	return err
}

// saveBest copies the parameters and buffers of the best epoch so far.
func (t *trainer) saveBest() error {
	t.freeBest()
	var err error
	torch.NoGrad(func() {
		for _, p := range t.r.Model.Params() {
			c := p.T.CloneDetached()
			if err = c.Err(); err != nil {
				return
			}
			t.best = append(t.best, c)
		}
	})
	return err
}

func (t *trainer) freeBest() {
	for _, b := range t.best {
		b.Free()
	}
	t.best = nil
}

// masterGrads moves the gradients of the weights' low-precision copies
// into the float32 masters (nn.Model.KeepLowWeights).
func (t *trainer) masterGrads() error {
	for _, g := range t.opt.Groups() {
		for _, p := range g.Params {
			if p.Low != nil {
				if err := torch.LowGradToMaster(p.T, p.Low); err != nil {
					return fmt.Errorf("%s: %w", p.Name, err)
				}
			}
		}
	}
	return nil
}

func (t *trainer) restoreBest() error {
	var err error
	torch.NoGrad(func() {
		for i, p := range t.r.Model.Params() {
			if err = p.T.CopyFrom_(t.best[i]); err != nil {
				return
			}
		}
	})
	return err
}
