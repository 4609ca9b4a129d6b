package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// DetectorCases are the detector cases: torchvision's SSDLite on
// MobileNetV3-Large at 320² and graft's small SSD at 128², batch 8, and
// SSD300 on VGG-16 (the seed's detector) at 300², batch 4, 3 object classes
// (Classes 4: a detector's count includes the background, as
// torchvision's num_classes does). They are not among DefaultCases:
// SSDLite's training runs at a few images per second here and SSD300's at
// about one, so they have their own command (graft bench --models
// ssdlite320_mobilenet_v3_large,…).
func DetectorCases() []Case {
	return []Case{
		{Model: "ssdlite320_mobilenet_v3_large", Batch: 8, Size: 320, Classes: 4},
		{Model: "ssd_smallcnn", Batch: 8, Size: 128, Classes: 4},
		{Model: "ssd300_vgg16", Batch: 4, Size: 300, Classes: 4},
	}
}

// IsDetector says whether c measures a detector (package detect) rather
// than a classifier (package arch).
func (c Case) IsDetector() bool {
	_, err := detect.Lookup(c.Model)
	return err == nil
}

// boxesPerImage is how many objects each benchmark image holds: a few,
// as in a street scene, so that matching and hard-negative mining do
// their usual amount of work.
const boxesPerImage = 3

// BenchBoxes are c's fixed training boxes, image by image, in input
// pixels with the data set's class indices (0 … Classes-2). They are drawn
// from a fixed seed and handed to the peer, so both sides train on the
// same boxes.
func BenchBoxes(c Case) [][]data.Box {
	rng := rand.New(rand.NewPCG(1, 0))
	s := float64(c.Size)
	out := make([][]data.Box, c.Batch)
	for i := range out {
		for range boxesPerImage {
			// Sides from a tenth to half the image: the range the
			// default boxes' scales cover.
			w, h := s*(0.1+0.4*rng.Float64()), s*(0.1+0.4*rng.Float64())
			x, y := (s-w)*rng.Float64(), (s-h)*rng.Float64()
			out[i] = append(out[i], data.Box{X1: x, Y1: y, X2: x + w, Y2: y + h, Class: rng.IntN(c.Classes - 1)})
		}
	}
	return out
}

// peerBoxes renders boxes for peer.py's --boxes: per image a list of
// [x1, y1, x2, y2, label], labels counting from 1 (0 is torchvision's
// background).
func peerBoxes(boxes [][]data.Box) (string, error) {
	out := make([][][5]float64, len(boxes))
	for i, bs := range boxes {
		out[i] = make([][5]float64, 0, len(bs))
		for _, b := range bs {
			out[i] = append(out[i], [5]float64{b.X1, b.Y1, b.X2, b.Y2, float64(b.Class + 1)})
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("encode the peer's boxes: %w", err)
	}
	return string(b), nil
}

// benchScenes is the benchmark batch as a detection data set: one image
// of uniform random pixels per batch slot, at the input size, with
// BenchBoxes.
type benchScenes struct {
	images  []*data.Image
	boxes   [][]data.Box
	classes []string
}

func newBenchScenes(c Case) *benchScenes {
	rng := newRNG()
	d := &benchScenes{boxes: BenchBoxes(c)}
	for range c.Batch {
		im := data.NewImage(3, c.Size, c.Size)
		for k := range im.Pix {
			im.Pix[k] = rng.Float32()
		}
		d.images = append(d.images, im)
	}
	for k := range c.Classes - 1 {
		d.classes = append(d.classes, fmt.Sprintf("class%d", k+1))
	}
	return d
}

func (d *benchScenes) Len() int                         { return len(d.images) }
func (d *benchScenes) Classes() []string                { return d.classes }
func (d *benchScenes) Boxes(i int) []data.Box           { return d.boxes[i] }
func (d *benchScenes) Image(i int) (*data.Image, error) { return d.images[i].Clone(), nil }
func (d *benchScenes) Source(i int) string              { return fmt.Sprintf("bench image %d", i) }

// detRunner measures a detector. Training goes through detect.Task, the
// code graft's training loop runs (the detection loader's batch,
// the forward pass, SSD's multibox loss with hard-negative mining), and
// the update fit makes with its loss; inference is the forward pass in
// eval mode and SSD's post-processing (decoding, per-class NMS), as
// detecting does.
type detRunner struct {
	// ctx is MeasureMode's: one training step is one epoch of the
	// loader, whose workers stop with it.
	ctx      context.Context
	c        Case
	cl       bool
	dev      torch.Device
	spec     detect.Spec
	m        *detect.Model
	task     *detect.Task
	opt      *optim.Optimizer
	cfg      fit.Config
	x        []float32 // the batch, normalised, for inference
	defaults []detect.Box
	epoch    int
}

func newDetRunner(ctx context.Context, c Case, channelsLast, train bool, dev torch.Device) (*detRunner, error) {
	spec, err := detect.Lookup(c.Model)
	if err != nil {
		return nil, err
	}
	// Seed 0, as peer.py does (see newRunner).
	torch.ManualSeed(0)
	m, err := detect.New(c.Model, detect.Config{NumClasses: c.Classes})
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", c.Model, err)
	}
	r := &detRunner{ctx: ctx, c: c, cl: channelsLast, dev: dev, spec: spec, m: m, cfg: fit.Config{ChannelsLast: channelsLast, Device: dev}}
	if channelsLast || dev != torch.CPU {
		if err := m.To(dev, channelsLast); err != nil {
			r.free()
			return nil, fmt.Errorf("%s to %v (channels-last %v): %w", c.Model, dev, channelsLast, err)
		}
	}
	// The loader normalises as the detector expects and, with the images
	// cached at the input size, leaves a copy into the batch per step:
	// what a classifier's bench step pays for its batch too.
	mean, std := make([]float32, 3), make([]float32, 3)
	for k := range 3 {
		mean[k], std[k] = float32(spec.Mean[k]), float32(spec.Std[k])
	}
	l, err := data.NewDetectionLoader(newBenchScenes(c), data.DetectionLoaderConfig{BatchSize: c.Batch, Workers: 1, CacheDecoded: true,
		Preprocess: data.Preprocess{Size: c.Size, Channels: 3, Mean: mean, Std: std}})
	if err != nil {
		r.free()
		return nil, fmt.Errorf("%s: %w", c.Model, err)
	}
	if r.defaults, err = m.Defaults(c.Size, c.Size); err != nil {
		r.free()
		return nil, err
	}
	if train {
		r.task = &detect.Task{Model: m, Train: l, Loss: detect.SSDLoss, Post: spec.Post}
		r.opt, err = optim.New(optim.Config{Name: "adam", LR: 1e-3}, []optim.Group{{Name: "all", Params: m.Trainable()}})
		if err != nil {
			r.free()
			return nil, fmt.Errorf("%s optimizer: %w", c.Model, err)
		}
		return r, nil
	}
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			r.free()
			return nil, fmt.Errorf("%s: %w", c.Model, err)
		}
		r.x = append([]float32(nil), b.X...)
		b.Release()
	}
	return r, nil
}

func (r *detRunner) params() int64 {
	n, _ := r.m.CountParams()
	return n
}

// flops is 0: nn.Model.FLOPs does not know the detection head, so a
// detector's rows have no roofline figures.
func (r *detRunner) flops() int64 { return 0 }

func (r *detRunner) free() {
	if r.opt != nil {
		r.opt.Free()
	}
	r.m.Free()
}

// train is one optimisation step: an epoch of the one-batch loader
// through detect.Task, then fit's update (backward, reading the loss and
// checking it, Adam's step, dropping the gradients).
func (r *detRunner) train() error {
	r.epoch++
	return r.task.EachTrain(r.ctx, r.epoch, r.cfg, func(l *torch.Tensor, _ int) error { return update(r.opt, l) })
}

// infer is the forward pass in eval mode without gradients and the
// detector's post-processing into boxes.
func (r *detRunner) infer() error {
	var err error
	torch.NoGrad(func() {
		s := torch.NewScope()
		defer s.Close()
		n, sz := int64(r.c.Batch), int64(r.c.Size)
		x := s.Track(torch.FromFloat32(r.x, n, 3, sz, sz))
		if r.dev != torch.CPU {
			x = x.ToDevice(r.dev)
		}
		if r.cl {
			x = x.ChannelsLast()
		}
		reg, logits := r.m.Forward(x, false)
		reg, logits = s.Track(reg), s.Track(logits)
		if e := firstErr(reg.Err(), logits.Err()); e != nil {
			err = fmt.Errorf("forward pass: %w", e)
			return
		}
		_, err = r.spec.Post.Detect(reg, logits, r.defaults, r.c.Size, r.c.Size)
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
