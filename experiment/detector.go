package experiment

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/figure"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/metrics"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// A detection head is the executor's second kind of head. A comparison of
// detectors is a Config whose Train and Test are data.ImagesOf detection
// sets and whose Base was made ready with ForDetection: the same samples,
// folds, rate search, selection rule, refit and test as for classifiers,
// with a detector built where Start builds a classifier, detect.Task's
// batches and multibox loss in fit.Train, and mAP@0.5 where accuracy is.

// detectorBase is what a base needs to start detectors.
type detectorBase struct {
	// arch is the built-in detector a classifier base becomes; "" when
	// the base is a detector checkpoint.
	arch     string
	fullTail bool                   // detect.Config.FullTail for arch
	stages   []checkpoint.StageInfo // the detector's stage outline, what plans address
	pre      data.Preprocess        // the detector's input
	post     detect.Post
}

// ForDetection makes the base start detectors: a detector checkpoint as it
// is (its class predictors replaced for the target's classes, the box
// regression kept), or a classifier as the body of the built-in detector
// on its architecture (smallcnn → ssd_smallcnn, vgg16 → ssd300_vgg16,
// mobilenet_v3_large → ssdlite320_mobilenet_v3_large), its extra layers
// and head new: the SSD paper's set-up, an ImageNet VGG-16 as the base.
func (b *Base) ForDetection() error {
	if b.det != nil {
		return nil
	}
	if detect.IsDetector(b.Meta) {
		b.det = &detectorBase{stages: b.Meta.Stages, pre: b.Meta.Preprocess, post: detect.PostFor(b.Meta.Arch)}
		return nil
	}
	var names []string
	for _, n := range detect.Names() {
		spec, _ := detect.Lookup(n)
		if spec.Backbone != b.Meta.Arch {
			names = append(names, spec.Backbone)
			continue
		}
		// A classifier's MobileNetV3 has the full-width tail that
		// torchvision's SSDLite keeps when it starts from ImageNet.
		cfg := detect.Config{NumClasses: 2, InChannels: b.Meta.InChannels, FullTail: spec.Backbone == "mobilenet_v3_large"}
		var m *detect.Model
		var err error
		torch.Seeded(1, func() { m, err = detect.New(n, cfg) })
		if err != nil {
			return fmt.Errorf("%s as a detector's base: %w", b.Path, err)
		}
		defer m.Free()
		pre := b.Meta.Preprocess
		pre.Size, pre.Height, pre.Width = spec.InputSize, 0, 0
		b.det = &detectorBase{arch: n, fullTail: cfg.FullTail, pre: pre, post: spec.Post}
		for _, s := range m.Stages {
			b.det.stages = append(b.det.stages, checkpoint.StageInfo{Name: s.Name, Channels: s.Channels, Reduction: s.Reduction})
		}
		return nil
	}
	slices.Sort(names)
	return fmt.Errorf("%s is a %s classifier, and no built-in detector has that body (detectors are built on %v): give a detector checkpoint, or a classifier of one of those architectures",
		b.Path, b.Meta.Arch, slices.Compact(names))
}

// Detector says whether the base starts detectors (ForDetection).
func (b *Base) Detector() bool { return b.det != nil }

// Preprocess is how the models the base starts read their images.
func (b *Base) Preprocess() data.Preprocess {
	if b.det != nil {
		return b.det.pre
	}
	return b.Meta.Preprocess
}

// StartDetector is Start for a base made ready with ForDetection: the
// detector strategy s starts from, for o.Classes object classes (the
// background is added), and the plan that trains it.
func StartDetector(b *Base, s strategy.Strategy, budget strategy.Budget, o StartOptions) (*detect.Model, strategy.Plan, error) {
	if b.det == nil {
		return nil, strategy.Plan{}, fmt.Errorf("%s starts classifiers: call ForDetection first", b.Path)
	}
	plan, err := s.Plan(b.Shape(), budget)
	if err != nil {
		return nil, plan, err
	}
	if plan.CutAfter > 0 {
		return nil, plan, fmt.Errorf("%s cuts the network after a stage, which a detector cannot lose: its head reads feature maps from several stages (use freeze:K to keep early stages fixed)", s.Name)
	}
	var m *detect.Model
	torch.Seeded(o.Seed, func() { m, err = b.buildDetector(plan, o.Classes) })
	if err != nil {
		return nil, plan, fmt.Errorf("%s: %w", s.Name, err)
	}
	for i := range plan.Phases {
		plan.Phases[i].TrainBN = o.TrainBN
	}
	return m, plan, nil
}

func (b *Base) buildDetector(plan strategy.Plan, classes int) (*detect.Model, error) {
	if b.det.arch == "" {
		m, err := detect.Build(b.Meta)
		if err != nil {
			return nil, err
		}
		if !plan.Scratch {
			if _, err := checkpoint.LoadWeights(m.Model, b.st, checkpoint.Strict); err != nil {
				m.Free()
				return nil, err
			}
		}
		if err := m.ResetClasses(classes + 1); err != nil {
			m.Free()
			return nil, err
		}
		return m, nil
	}
	m, err := detect.New(b.det.arch, detect.Config{NumClasses: classes + 1, InChannels: b.Meta.InChannels, FullTail: b.det.fullTail})
	if err != nil || plan.Scratch {
		return m, err
	}
	cls, err := onnx.Checkpoints.Build(b.Path, b.Meta)
	if err == nil {
		defer cls.Free()
		_, err = checkpoint.LoadWeights(cls, b.st, checkpoint.Strict)
	}
	if err == nil {
		_, err = detect.LoadBackbone(m, cls)
	}
	if err != nil {
		m.Free()
		return nil, err
	}
	return m, nil
}

// runDetector is Trial.Run for a detector.
func (tr Trial) runDetector(ctx context.Context) (*TrialResult, error) {
	m, plan, err := StartDetector(tr.Base, tr.Strategy, tr.Budget, StartOptions{Classes: tr.Classes, Seed: tr.Seed, TrainBN: tr.TrainBN})
	if err != nil {
		return nil, err
	}
	task := &detect.Task{Model: m, Train: tr.DetTrain, Val: tr.DetVal, Loss: detect.SSDLoss, Post: tr.Base.det.post}
	defer task.Free() // the frozen prefix's cached outputs, if any
	// No precise BatchNorm for a task (fit refuses it; the splits never
	// ask for it with detection data) and no channels-last (channelsLast).
	res, err := fit.Train(ctx, fit.Run{Model: m.Model, Task: task, Config: tr.fitConfig(plan), Events: tr.Events})
	out, err := trialResult(m.Model, plan, res, err)
	if out != nil {
		out.Detector = m
	}
	return out, err
}

// detection is the comparison's training data as detection images, or
// nil for classifiers.
func (c Config) detection() data.DetectionDataset {
	if d, ok := c.Train.(*data.DetectionImages); ok {
		return d.Det
	}
	return nil
}

// sampleDetection draws k annotated images per class (KShotDetection),
// as a subset of c.Train so that grouping and folds treat it as any sample.
func (c Config) sampleDetection(det data.DetectionDataset, shots, seed int) (data.Dataset, error) {
	var opts []data.SampleOption
	if !c.ShotsStrict {
		opts = append(opts, data.AllowFewer())
	}
	sub, err := data.KShotDetection(det, shots, uint64(seed), opts...)
	if err != nil {
		return nil, fmt.Errorf("%d shots: %w (or drop --shots-strict to let short classes give what they have)", shots, err)
	}
	return &data.Subset{Base: c.Train, Indices: sub.Indices}, nil
}

// detectionLoader is a detector's loader over ds (a subset of detection
// images): shuffled and augmented for training, in order for scoring.
func (c Config) detectionLoader(ds data.Dataset, seed int, train bool) (*data.DetectionLoader, error) {
	det, ok := data.DetectionOf(ds)
	if !ok {
		return nil, fmt.Errorf("%T is not detection data", ds)
	}
	cfg := data.DetectionLoaderConfig{BatchSize: max(c.Batch, 32), Preprocess: c.Base.Preprocess(), CacheDecoded: true}
	if train {
		batch, dropLast := FewShotBatch(c.Batch, ds.Len())
		cfg = data.DetectionLoaderConfig{BatchSize: batch, Shuffle: true, DropLast: dropLast, Seed: uint64(seed),
			Preprocess: c.Base.Preprocess(), Augment: c.DetectionAugment, CacheDecoded: true}
	}
	return data.NewDetectionLoader(det, cfg)
}

// detectionShortClasses is ShortClassesOf for detection: classes shown by
// fewer annotated images than shots.
func detectionShortClasses(det data.DetectionDataset, shots []int) []ShortClasses {
	counts, _ := data.DetectionClassCounts(det)
	return shortClassesFrom(counts, det.Classes(), shots)
}

// testDetector scores a detector on the test images: mAP@0.5 as the run's
// test score (what ranks strategies), mAP@[.5:.95], AP@0.5 per class, and
// the records a bootstrap over the test images re-scores.
func (c Config) testDetector(ctx context.Context, m *detect.Model, test *data.DetectionLoader, run *Run) error {
	task := &detect.Task{Model: m, Loss: detect.SSDLoss, Post: c.Base.det.post}
	ev, err := task.Evaluate(ctx, test, c.evalConfig())
	if err != nil {
		return err
	}
	run.TestAccuracy, run.MAP = ev.COCO.AP50, ev.COCO.AP
	run.ClassAP = make([]float64, len(c.Train.Classes()))
	for k := range run.ClassAP {
		run.ClassAP[k] = -1 // no ground truth: COCO's convention
		if cl, ok := ev.COCO.Class(k); ok {
			run.ClassAP[k] = cl.AP50
		}
	}
	rec, err := metrics.RecordsAP50(ev.GroundTruth, ev.Detections)
	if err != nil {
		return err
	}
	run.APRecords = rec
	if err := c.drawExamples(test.Dataset(), ev.Detections, run); err != nil {
		return fmt.Errorf("drawing detections: %w", err)
	}
	return nil
}

// ExampleImages is how many test images a detector run draws its
// detections on (detections/NAME.png beside results.json), and
// ExampleScore the lowest score drawn.
const (
	ExampleImages = 4
	ExampleScore  = 0.3
)

// ExamplesFile is where a run's drawn detections are, relative to the
// comparison's folder: detections/STRATEGY-SHOTS-seedSEED.png, with the
// characters of a strategy's name that are awkward in file names (':',
// '+') written as '_'.
func ExamplesFile(strategy string, shots, seed int) string {
	name := strings.NewReplacer(":", "_", "+", "_", "/", "_").Replace(strategy)
	return filepath.Join("detections", fmt.Sprintf("%s-%d-seed%d.png", name, shots, seed))
}

// drawExamples writes the first test images side by side with the run's
// detections drawn in the images' own pixels: what the report shows for
// the winner and for scratch.
func (c Config) drawExamples(test data.DetectionDataset, dets []metrics.Detection, run *Run) error {
	if c.Out == "" {
		return nil
	}
	n := min(ExampleImages, test.Len())
	var tiles []*image.NRGBA
	for i := range n {
		im, err := test.Image(i)
		if err != nil {
			return err
		}
		_, _, bm, err := c.Base.Preprocess().FitDetection(im, nil)
		if err != nil {
			return err
		}
		var boxes []figure.LabelledBox
		for k := len(dets) - 1; k >= 0; k-- { // worst first: the best on top
			d := dets[k]
			if d.Image != i || d.Score < ExampleScore {
				continue
			}
			b := bm.Invert(data.Box{X1: d.Box.X1, Y1: d.Box.Y1, X2: d.Box.X2, Y2: d.Box.Y2})
			boxes = append(boxes, figure.LabelledBox{X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2, Class: d.Class,
				Label: fmt.Sprintf("%s %.2f", test.Classes()[d.Class], d.Score)})
		}
		pic, err := im.ToImage()
		if err != nil {
			return err
		}
		tiles = append(tiles, figure.DrawBoxes(pic, boxes))
	}
	if len(tiles) == 0 {
		return nil
	}
	const gap = 4
	w, h := 0, 0
	for _, t := range tiles {
		w += t.Bounds().Dx() + gap
		h = max(h, t.Bounds().Dy())
	}
	sheet := image.NewNRGBA(image.Rect(0, 0, w-gap, h))
	draw.Draw(sheet, sheet.Bounds(), image.White, image.Point{}, draw.Src)
	x := 0
	for _, t := range tiles {
		draw.Draw(sheet, t.Bounds().Add(image.Pt(x, 0)), t, t.Bounds().Min, draw.Src)
		x += t.Bounds().Dx() + gap
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, sheet); err != nil {
		return err
	}
	path := filepath.Join(c.Out, ExamplesFile(run.Strategy, run.Shots, run.Seed))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return safefile.WriteBytes(path, buf.Bytes())
}
