package onnx

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Detector is a single-shot detector as ExportDetector reads it.
// *detect.Model is one (detect/export.go); package onnx names no detector
// type because detect's tests import onnx.
type Detector interface {
	// Network holds every stage, the last one the head, and every
	// parameter under its name.
	Network() *nn.Model
	// FeatureMaps are the body stages whose outputs the head reads, in
	// order, each with the layer applied on its way to the head (nil for
	// none: SSD300's L2 norm on conv4_3 is one).
	FeatureMaps() (stages []int, norms []nn.Module)
	// Predictors are each feature map's box-regression and classification
	// layers, giving 4·k and classes·k channels for k default boxes per
	// cell.
	Predictors() (regression, classification []nn.Module)
	// Decoding describes the default boxes and the box coder as JSON, for
	// the file's metadata (key graft.detector).
	Decoding() ([]byte, error)
}

// Names of a detector export's outputs (torchvision's SSD head's keys).
const (
	OutputBoxes  = "bbox_regression"
	OutputLogits = "cls_logits"
)

// metaDetector holds Detector.Decoding in a detector's export.
const metaDetector = "graft.detector"

// ExportDetector converts a single-shot detector (SSD, SSDLite) to ONNX
// with two outputs and no post-processing:
//
//   - bbox_regression (N, A, 4): each default box's coded offsets
//     (dx, dy, dw, dh);
//   - cls_logits (N, A, C): each default box's class scores before the
//     softmax, class 0 the background.
//
// A runs over the default boxes map by map, each map row by row, the
// boxes of a cell in the order detect.DefaultBoxes lists them; it is
// fixed when Height and Width are. Non-maximum suppression is left to the
// caller, as the ONNX runtimes' detectors do. To decode, build the
// default boxes for the input size (metadata graft.detector: aspect
// ratios, scales, steps, clip, as torchvision's DefaultBoxGenerator; or
// detect.Model.Defaults) and apply SSD's coder with variances
// (0.1, 0.1, 0.2, 0.2), as torchvision's BoxCoder with weights
// (10, 10, 5, 5):
//
//	cx = d.cx + dx·0.1·d.w      w = d.w·exp(min(dw·0.2, log(1000/16)))
//	cy = d.cy + dy·0.1·d.h      h = d.h·exp(min(dh·0.2, log(1000/16)))
//
// then take the softmax over the classes, drop the background, keep the
// scores above a threshold and run per-class NMS (detect.Post does all
// of this in graft).
//
// The input is "input" [N, C, H, W], normalised as the detector expects
// (Preprocess, in the metadata when given); parameter names are graft's
// (torchvision's).
func ExportDetector(d Detector, opts ExportOptions) (*Model, error) {
	m := d.Network()
	if err := opts.withOpset(); err != nil {
		return nil, err
	}
	if programOf(m) != nil {
		return nil, fmt.Errorf("export %s: its base is an imported ONNX graph; only detectors on built-in bases export for now", m.Arch)
	}
	stages, norms := d.FeatureMaps()
	reg, cls := d.Predictors()
	if len(stages) == 0 || len(norms) != len(stages) || len(reg) != len(stages) || len(cls) != len(stages) {
		return nil, fmt.Errorf("export %s: %d feature maps, %d norms, %d box and %d class predictors; want one of each per map",
			m.Arch, len(stages), len(norms), len(reg), len(cls))
	}
	decoding, err := d.Decoding()
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", m.Arch, err)
	}
	e := &exporter{opset: opts.Opset, names: map[*torch.Tensor]string{}}
	for _, q := range m.Params() {
		e.names[q.T] = q.Name
	}
	in := &ValueInfo{Name: "input", ElemType: tFloat, HasShape: true,
		Dims: []int64{-1, int64(m.InChannels), -1, -1}, Params: []string{"N", "", "H", "W"}}
	if opts.Height > 0 && opts.Width > 0 {
		in.Dims[2], in.Dims[3] = int64(opts.Height), int64(opts.Width)
		in.Params[2], in.Params[3] = "", ""
	}
	var anchors int64 = -1
	torch.NoGrad(func() { anchors, err = e.detector(m, stages, norms, reg, cls, in) })
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", m.Arch, err)
	}
	outs := []*ValueInfo{
		{Name: OutputBoxes, ElemType: tFloat, HasShape: true, Dims: []int64{-1, anchors, 4}, Params: []string{"N", "", ""}},
		{Name: OutputLogits, ElemType: tFloat, HasShape: true, Dims: []int64{-1, anchors, int64(m.NumClasses)}, Params: []string{"N", "", ""}},
	}
	if anchors < 0 {
		outs[0].Params[1], outs[1].Params[1] = "A", "A"
	}
	om := &Model{
		IRVersion: 8, Opsets: map[string]int64{"": opts.Opset}, ProducerName: "graft",
		Graph:    &Graph{Name: m.Arch, Nodes: e.nodes, Initializer: e.inits, Inputs: []*ValueInfo{in}, Outputs: outs},
		Metadata: map[string]string{"graft.arch": m.Arch, metaDetector: string(decoding)},
	}
	setMetadata(om, opts)
	return om, nil
}

// detector emits the body up to the last feature map, the maps' norms and
// the predictors, each laid out per default box as torchvision's
// SSDScoringHead does, and the two concatenated outputs. It returns the
// number of default boxes when the input size is fixed, else -1.
func (e *exporter) detector(m *nn.Model, stages []int, norms, reg, cls []nn.Module, in *ValueInfo) (int64, error) {
	if in.Dims[2] > 0 {
		e.x = torch.Zeros(1, in.Dims[1], in.Dims[2], in.Dims[3])
		defer func() { e.x.Free() }()
	}
	last := stages[len(stages)-1]
	if last >= len(m.Stages)-1 {
		return 0, fmt.Errorf("feature map on stage %d; maps are body stages, before the head (stage %d)", last, len(m.Stages)-1)
	}
	var maps []string
	var grids [][2]int64
	cur := in.Name
	for si := 0; si <= last; si++ {
		for _, l := range m.Stages[si].Layers {
			var err error
			if cur, err = e.module([]string{l.Name}, l.M, cur); err != nil {
				return 0, err
			}
			if e.x != nil {
				next := l.M.Forward(e.x, false)
				if err := next.Err(); err != nil {
					return 0, fmt.Errorf("%s: %w", l.Name, err)
				}
				if next != e.x {
					e.x.Free()
				}
				e.x = next
			}
		}
		for k, s := range stages {
			if s != si {
				continue
			}
			out := cur
			if norms[k] != nil {
				var err error
				if out, err = e.module([]string{"head", "norm." + strconv.Itoa(k)}, norms[k], cur); err != nil {
					return 0, err
				}
			}
			maps = append(maps, out)
			if e.x != nil {
				sh := e.x.Shape()
				grids = append(grids, [2]int64{sh[2], sh[3]})
			}
		}
	}
	if len(maps) != len(stages) {
		return 0, fmt.Errorf("feature maps on stages %v; they must be increasing", stages)
	}
	k := int64(m.NumClasses)
	boxes, err := e.scores("regression_head", reg, maps, 4)
	if err != nil {
		return 0, err
	}
	logits, err := e.scores("classification_head", cls, maps, k)
	if err != nil {
		return 0, err
	}
	e.nodes = append(e.nodes,
		&Node{Name: "/head/regression_head/Concat", OpType: "Concat", Inputs: boxes, Outputs: []string{OutputBoxes}, Attrs: map[string]*Attribute{"axis": intAttr("axis", 1)}},
		&Node{Name: "/head/classification_head/Concat", OpType: "Concat", Inputs: logits, Outputs: []string{OutputLogits}, Attrs: map[string]*Attribute{"axis": intAttr("axis", 1)}})
	if e.x == nil {
		return -1, nil
	}
	// The default boxes per cell follow from a predictor's output
	// channels: 4 for each box on the regression side.
	var anchors int64
	for i, g := range grids {
		per, err := outChannels(reg[i])
		if err != nil {
			return 0, fmt.Errorf("head, map %d: %w", i, err)
		}
		anchors += g[0] * g[1] * per / 4
	}
	return anchors, nil
}

// scores applies one side's predictors to the maps and lays each output
// (N, k·K, H, W) out as (N, H·W·k, K): cell by cell, the cell's boxes in
// order, which Transpose to NHWC and a Reshape that keeps N give without
// knowing H and W.
func (e *exporter) scores(side string, preds []nn.Module, maps []string, k int64) ([]string, error) {
	shape := e.int64s(0, -1, k)
	var outs []string
	for i, p := range preds {
		path := []string{"head", side + ".module_list." + strconv.Itoa(i)}
		y, err := e.module(path, p, maps[i])
		if err != nil {
			return nil, err
		}
		y = e.add(path, "Transpose", []string{y}, ints("perm", 0, 2, 3, 1))
		outs = append(outs, e.add(path, "Reshape", []string{y, shape}))
	}
	return outs, nil
}

// outChannels is the channel count a predictor ends with: its last
// convolution's.
func outChannels(m nn.Module) (int64, error) {
	var last *nn.Conv2d
	nn.Walk([]nn.Named{{Name: "p", M: m}}, func(mod nn.Module) {
		if c, ok := mod.(*nn.Conv2d); ok {
			last = c
		}
	})
	if last == nil {
		return 0, fmt.Errorf("a predictor without a convolution (%T)", m)
	}
	return last.Weight.Shape()[0], nil
}

// int64s is a shared int64 vector initializer (Reshape's shapes).
func (e *exporter) int64s(v ...int64) string {
	if e.consts == nil {
		e.consts = map[string]string{}
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = strconv.FormatInt(x, 10)
	}
	key := "shape[" + strings.Join(parts, ",") + "]"
	if n, ok := e.consts[key]; ok {
		return n
	}
	name := "/const/" + key
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	e.inits = append(e.inits, &TensorProto{Name: name, Dims: []int64{int64(len(v))}, DataType: tInt64, RawData: raw})
	e.consts[key] = name
	return name
}
