package onnx

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// ExportOptions control Export.
type ExportOptions struct {
	// Height and Width fix the input's spatial size. Zero leaves it open,
	// which works unless a layer depends on it (VGG's 7×7 adaptive pool).
	Height, Width int
	// Opset is the ai.onnx operator set to write, 11 to 17; default 13.
	Opset int64
	// Preprocess and Classes travel in the file's metadata (graft's own
	// keys, and ONNX's Image.* keys where they can say it), so an import
	// of the export feeds and labels it the same way.
	Preprocess *data.Preprocess
	Classes    []string
}

// Export converts a model to ONNX: a built-in architecture layer by layer,
// an imported graph as its own graph with the current weights. Parameter
// names stay graft's (torchvision's), the input is "input" [N, C, H, W]
// with a free batch dimension, the output "logits". Dropout is left out:
// the export is for inference.
func Export(m *nn.Model, opts ExportOptions) (*Model, error) {
	if err := opts.withOpset(); err != nil {
		return nil, err
	}
	if p := programOf(m); p != nil {
		out, err := p.exportGraph(m)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", m.Arch, err)
		}
		setMetadata(out, opts)
		setStages(out, m, p.cutRefs)
		return out, nil
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
	var err error
	torch.NoGrad(func() { err = e.model(m, in) })
	if err != nil {
		return nil, fmt.Errorf("export %s: %w", m.Arch, err)
	}
	out := &ValueInfo{Name: "logits", ElemType: tFloat, HasShape: true, Dims: []int64{-1, int64(m.NumClasses)}, Params: []string{"N", ""}}
	om := &Model{
		IRVersion: 8, Opsets: map[string]int64{"": opts.Opset}, ProducerName: "graft",
		Graph:    &Graph{Name: m.Arch, Nodes: e.nodes, Initializer: e.inits, Inputs: []*ValueInfo{in}, Outputs: []*ValueInfo{out}},
		Metadata: map[string]string{"graft.arch": m.Arch},
	}
	setMetadata(om, opts)
	setStages(om, m, e.stageEnds)
	return om, nil
}

// withOpset fills in the default opset and checks it.
func (o *ExportOptions) withOpset() error {
	if o.Opset == 0 {
		o.Opset = 13
	}
	if o.Opset < 11 || o.Opset > 17 {
		return fmt.Errorf("export: opset %d; graft writes opsets 11 to 17", o.Opset)
	}
	return nil
}

// Metadata keys for what graft knows about feeding and reading a model.
const (
	metaPreprocess = "graft.preprocess" // data.Preprocess as JSON
	metaClasses    = "graft.classes"    // class names as a JSON list
	metaStages     = "graft.stages"     // []stageMeta as JSON
)

// stageMeta is one stage as an export records it: its name and the value
// (or node) it ends with; the last stage, the head, ends with the graph.
// An import of the export cuts and names its stages the same way, so that
// freeze:2 or --stages mean the same layers after the round trip.
type stageMeta struct {
	Name string `json:"name"`
	End  string `json:"end,omitempty"`
}

// setStages records m's stages, ending after ends (one per stage but the
// head), in the file's metadata.
func setStages(om *Model, m *nn.Model, ends []string) {
	if len(ends) != len(m.Stages)-1 {
		return // a model whose stages no longer match its cuts (truncated) exports without them
	}
	var st []stageMeta
	for i, s := range m.Stages {
		sm := stageMeta{Name: s.Name}
		if i < len(ends) {
			sm.End = ends[i]
		}
		st = append(st, sm)
	}
	if b, err := json.Marshal(st); err == nil {
		om.Metadata[metaStages] = string(b)
	}
}

func setMetadata(m *Model, opts ExportOptions) {
	if opts.Preprocess != nil {
		pre := *opts.Preprocess
		if b, err := json.Marshal(pre); err == nil {
			m.Metadata[metaPreprocess] = string(b)
		}
		switch pre.Norm {
		case data.NormUnit:
			if len(pre.Mean) == 0 {
				m.Metadata[metaPixelRange] = "Normalized_0_1"
			}
		case data.NormSymmetric:
			m.Metadata[metaPixelRange] = "Normalized_1_1"
		}
		switch {
		case pre.Norm == data.NormCaffe:
			m.Metadata[metaPixelFormat] = "Bgr8"
		case pre.Channels == 1:
			m.Metadata[metaPixelFormat] = "Gray8"
		case pre.Channels == 3:
			m.Metadata[metaPixelFormat] = "Rgb8"
		}
	}
	if len(opts.Classes) > 0 {
		if b, err := json.Marshal(opts.Classes); err == nil {
			m.Metadata[metaClasses] = string(b)
		}
	}
}

// WriteFile writes a model atomically.
func WriteFile(path string, m *Model) error {
	b := m.Encode()
	return safefile.Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

type exporter struct {
	opset  int64
	nodes  []*Node
	inits  []*TensorProto
	consts map[string]string // scalar constants already written
	// x tracks the activation's shape (a batch of one zero image) where a
	// layer's ONNX form depends on it.
	x *torch.Tensor
	// names are the model's parameter names, which initializers keep.
	names map[*torch.Tensor]string
	// stageEnds are the values each stage but the last ends with.
	stageEnds []string
}

func (e *exporter) model(m *nn.Model, in *ValueInfo) error {
	cur := in.Name
	if in.Dims[2] > 0 {
		e.x = torch.Zeros(1, in.Dims[1], in.Dims[2], in.Dims[3])
		defer func() { e.x.Free() }()
	}
	for si, st := range m.Stages {
		if si > 0 {
			e.stageEnds = append(e.stageEnds, cur)
		}
		for _, l := range st.Layers {
			var err error
			if cur, err = e.module([]string{l.Name}, l.M, cur); err != nil {
				return err
			}
			if e.x != nil {
				next := l.M.Forward(e.x, false)
				if err := next.Err(); err != nil {
					return fmt.Errorf("%s: %w", l.Name, err)
				}
				if next != e.x {
					e.x.Free()
				}
				e.x = next
			}
		}
	}
	// The last value becomes the graph output.
	if last := e.nodes[len(e.nodes)-1]; last.Outputs[0] == cur {
		last.Outputs[0] = "logits"
	} else {
		e.nodes = append(e.nodes, &Node{Name: "/output/Identity", OpType: "Identity", Inputs: []string{cur}, Outputs: []string{"logits"}, Attrs: map[string]*Attribute{}})
	}
	return nil
}

// nodeName is PyTorch 1.13's style, "/layer1/layer1.0/conv1/Conv", so the
// importer finds module paths in graft's exports too.
func nodeName(path []string, op string) string {
	return "/" + strings.Join(append(append([]string{}, path...), op), "/")
}

func (e *exporter) add(path []string, op string, inputs []string, attrs ...*Attribute) string {
	name := nodeName(path, op)
	for k := 1; e.hasNode(name); k++ {
		name = nodeName(path, fmt.Sprintf("%s_%d", op, k))
	}
	out := name + "_output_0"
	n := &Node{Name: name, OpType: op, Inputs: inputs, Outputs: []string{out}, Attrs: map[string]*Attribute{}}
	for _, a := range attrs {
		n.Attrs[a.Name] = a
	}
	e.nodes = append(e.nodes, n)
	return out
}

func (e *exporter) hasNode(name string) bool {
	for _, n := range e.nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}

func ints(name string, v ...int64) *Attribute {
	return &Attribute{Name: name, Type: attrInts, Ints: v}
}
func intAttr(name string, v int64) *Attribute { return &Attribute{Name: name, Type: attrInt, I: v} }
func floatAttr(name string, v float64) *Attribute {
	return &Attribute{Name: name, Type: attrFloat, F: float32(v)}
}

// param writes a parameter as an initializer, under the model's name for
// it (the path-derived name is for tensors the model does not list).
func (e *exporter) param(path []string, name string, t *torch.Tensor) (string, error) {
	full, ok := e.names[t]
	if !ok {
		full = strings.Join(append(trimSeq(path), name), ".")
	}
	data, err := t.Contiguous().Float32s()
	if err != nil {
		return "", fmt.Errorf("%s: %w", full, err)
	}
	e.inits = append(e.inits, &TensorProto{Name: full, Dims: t.Shape(), DataType: tFloat, RawData: float32Bytes(data)})
	return full, nil
}

// scalar is a shared float constant initializer (Clip's bounds).
func (e *exporter) scalar(v float64) string {
	if e.consts == nil {
		e.consts = map[string]string{}
	}
	key := fmt.Sprint(v)
	if n, ok := e.consts[key]; ok {
		return n
	}
	name := "/const/" + key
	e.inits = append(e.inits, &TensorProto{Name: name, Dims: []int64{}, DataType: tFloat, RawData: float32Bytes([]float32{float32(v)})})
	e.consts[key] = name
	return name
}

// path joins a child's name: Sequential children are "layer1.0" under
// "layer1", as PyTorch names scopes.
func child(path []string, name string) []string {
	return append(append([]string{}, path...), name)
}

func (e *exporter) module(path []string, m nn.Module, in string) (string, error) {
	switch v := m.(type) {
	case *nn.Conv2d:
		return e.conv(path, v, in)
	case *nn.BatchNorm2d:
		return e.batchNorm(path, v, in)
	case *nn.Linear:
		w, err := e.param(path, "weight", v.Weight)
		if err != nil {
			return "", err
		}
		inputs := []string{in, w}
		if v.Bias != nil {
			b, err := e.param(path, "bias", v.Bias)
			if err != nil {
				return "", err
			}
			inputs = append(inputs, b)
		}
		return e.add(path, "Gemm", inputs, floatAttr("alpha", 1), floatAttr("beta", 1), intAttr("transB", 1)), nil
	case *nn.Act:
		return e.act(path, v.Kind, in)
	case *nn.MaxPool:
		o := v.Opts
		st := o.Stride
		if st == [2]int64{} {
			st = o.Kernel
		}
		dil := o.Dilation
		if dil == [2]int64{} {
			dil = [2]int64{1, 1}
		}
		attrs := []*Attribute{ints("kernel_shape", o.Kernel[0], o.Kernel[1]), ints("strides", st[0], st[1]),
			ints("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]), intAttr("ceil_mode", b2i(o.CeilMode))}
		if dil != [2]int64{1, 1} {
			attrs = append(attrs, ints("dilations", dil[0], dil[1]))
		}
		return e.add(path, "MaxPool", []string{in}, attrs...), nil
	case *nn.AvgPool:
		o := v.Opts
		st := o.Stride
		if st == [2]int64{} {
			st = o.Kernel
		}
		return e.add(path, "AveragePool", []string{in}, ints("kernel_shape", o.Kernel[0], o.Kernel[1]), ints("strides", st[0], st[1]),
			ints("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]), intAttr("ceil_mode", b2i(o.CeilMode)),
			intAttr("count_include_pad", b2i(o.CountIncludePad))), nil
	case *nn.AdaptivePool:
		out, err := e.adaptivePool(path, v, in)
		if err != nil || !v.Flatten {
			return out, err
		}
		return e.add(path, "Flatten", []string{out}, intAttr("axis", 1)), nil
	case nn.Flatten, *nn.Flatten:
		return e.add(path, "Flatten", []string{in}, intAttr("axis", 1)), nil
	case *nn.Dropout:
		return in, nil
	case *nn.Sequential:
		cur := in
		for _, c := range v.Children {
			var err error
			if cur, err = e.module(child(path, seqName(path, c.Name)), c.M, cur); err != nil {
				return "", err
			}
		}
		return cur, nil
	case *nn.BasicBlock:
		return e.residual(path, in, v.Downsample,
			[]nn.Named{{Name: "conv1", M: v.Conv1}, {Name: "bn1", M: v.BN1}, {Name: "relu", M: nn.ReLU()}, {Name: "conv2", M: v.Conv2}, {Name: "bn2", M: v.BN2}})
	case *nn.Bottleneck:
		return e.residual(path, in, v.Downsample,
			[]nn.Named{{Name: "conv1", M: v.Conv1}, {Name: "bn1", M: v.BN1}, {Name: "relu", M: nn.ReLU()}, {Name: "conv2", M: v.Conv2},
				{Name: "bn2", M: v.BN2}, {Name: "relu_1", M: nn.ReLU()}, {Name: "conv3", M: v.Conv3}, {Name: "bn3", M: v.BN3}})
	case *nn.InvertedResidual:
		out, err := e.module(child(path, "conv"), v.Conv, in)
		if err != nil || !v.UseRes {
			return out, err
		}
		return e.add(path, "Add", []string{in, out}), nil
	case *nn.InvertedResidualV3:
		out, err := e.module(child(path, "block"), v.Block, in)
		if err != nil || !v.UseRes {
			return out, err
		}
		return e.add(path, "Add", []string{out, in}), nil
	case *nn.SqueezeExcitation:
		return e.squeezeExcitation(path, v, in)
	case *nn.L2Norm:
		return e.l2Norm(path, v, in)
	}
	return "", fmt.Errorf("layer %s: cannot export a %T", strings.Join(path, "."), m)
}

// seqName qualifies a Sequential child as PyTorch's scopes do: "0" under
// "layer1" is "layer1.0".
func seqName(path []string, name string) string {
	if len(path) == 0 {
		return name
	}
	return path[len(path)-1] + "." + name
}

// residual emits body(x) + shortcut(x) then ReLU, for ResNet's blocks.
// Parameters keep graft's names, so the body's path is the block's.
func (e *exporter) residual(path []string, in string, down *nn.Sequential, body []nn.Named) (string, error) {
	cur := in
	for _, l := range body {
		var err error
		if cur, err = e.module(child(path, l.Name), l.M, cur); err != nil {
			return "", err
		}
	}
	id := in
	if down != nil {
		var err error
		if id, err = e.module(child(path, "downsample"), down, in); err != nil {
			return "", err
		}
	}
	sum := e.add(path, "Add", []string{cur, id})
	return e.add(child(path, "relu_2"), "Relu", []string{sum}), nil
}

func (e *exporter) conv(path []string, c *nn.Conv2d, in string) (string, error) {
	w, err := e.param(path, "weight", c.Weight)
	if err != nil {
		return "", err
	}
	inputs := []string{in, w}
	if c.Bias != nil {
		b, err := e.param(path, "bias", c.Bias)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, b)
	}
	o := c.Opts
	st, dil, g := o.Stride, o.Dilation, o.Groups
	if st == [2]int64{} {
		st = [2]int64{1, 1}
	}
	if dil == [2]int64{} {
		dil = [2]int64{1, 1}
	}
	if g == 0 {
		g = 1
	}
	ws := c.Weight.Shape()
	return e.add(path, "Conv", inputs, ints("kernel_shape", ws[2], ws[3]), ints("strides", st[0], st[1]),
		ints("pads", o.Padding[0], o.Padding[1], o.Padding[0], o.Padding[1]), ints("dilations", dil[0], dil[1]), intAttr("group", g)), nil
}

func (e *exporter) batchNorm(path []string, b *nn.BatchNorm2d, in string) (string, error) {
	var names [4]string
	for i, p := range []struct {
		n string
		t *torch.Tensor
	}{{"weight", b.Weight}, {"bias", b.Bias}, {"running_mean", b.RunningMean}, {"running_var", b.RunningVar}} {
		var err error
		if names[i], err = e.param(path, p.n, p.t); err != nil {
			return "", err
		}
	}
	return e.add(path, "BatchNormalization", append([]string{in}, names[:]...), floatAttr("epsilon", b.Eps), floatAttr("momentum", 1-b.Momentum)), nil
}

// trimSeq turns a scope path back into the parameter prefix: scopes
// qualify Sequential children ("layer1", "layer1.0"), parameter names do
// not repeat the parent ("layer1.0.conv1").
func trimSeq(path []string) []string {
	out := []string{}
	for i, p := range path {
		if i+1 < len(path) && strings.HasPrefix(path[i+1], p+".") {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (e *exporter) act(path []string, kind, in string) (string, error) {
	switch kind {
	case "relu":
		return e.add(path, "Relu", []string{in}), nil
	case "relu6":
		return e.add(path, "Clip", []string{in, e.scalar(0), e.scalar(6)}), nil
	case "sigmoid":
		return e.add(path, "Sigmoid", []string{in}), nil
	case "tanh":
		return e.add(path, "Tanh", []string{in}), nil
	case "silu":
		s := e.add(path, "Sigmoid", []string{in})
		return e.add(path, "Mul", []string{in, s}), nil
	case "hardsigmoid":
		return e.add(path, "HardSigmoid", []string{in}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5)), nil
	case "hardswish":
		if e.opset >= 14 {
			return e.add(path, "HardSwish", []string{in}), nil
		}
		s := e.add(path, "HardSigmoid", []string{in}, floatAttr("alpha", 1.0/6), floatAttr("beta", 0.5))
		return e.add(path, "Mul", []string{in, s}), nil
	case "gelu":
		d := e.add(path, "Div", []string{in, e.scalar(1.4142135623730951)})
		f := e.add(path, "Erf", []string{d})
		a := e.add(path, "Add", []string{f, e.scalar(1)})
		m := e.add(path, "Mul", []string{in, a})
		return e.add(path, "Mul", []string{m, e.scalar(0.5)}), nil
	case "identity":
		return in, nil
	}
	return "", fmt.Errorf("layer %s: cannot export activation %q", strings.Join(path, "."), kind)
}

// squeezeExcitation is x · gate(fc2(relu(fc1(avgpool(x))))).
func (e *exporter) squeezeExcitation(path []string, s *nn.SqueezeExcitation, in string) (string, error) {
	g := e.add(child(path, "avgpool"), "GlobalAveragePool", []string{in})
	g, err := e.conv(child(path, "fc1"), s.FC1, g)
	if err != nil {
		return "", err
	}
	g = e.add(child(path, "activation"), "Relu", []string{g})
	if g, err = e.conv(child(path, "fc2"), s.FC2, g); err != nil {
		return "", err
	}
	if g, err = e.act(child(path, "scale_activation"), s.Gate, g); err != nil {
		return "", err
	}
	return e.add(path, "Mul", []string{g, in}), nil
}

// l2Norm is scale · x / max(‖x‖₂ over channels, eps), the scale reshaped
// to (1, C, 1, 1) in the graph so that it keeps its name and shape.
func (e *exporter) l2Norm(path []string, l *nn.L2Norm, in string) (string, error) {
	scale, err := e.param(path, "scale_weight", l.Scale)
	if err != nil {
		return "", err
	}
	n := e.add(path, "ReduceL2", []string{in}, ints("axes", 1), intAttr("keepdims", 1))
	n = e.add(path, "Max", []string{n, e.scalar(l.Eps)})
	y := e.add(path, "Div", []string{in, n})
	s := e.add(path, "Reshape", []string{scale, e.int64s(1, -1, 1, 1)})
	return e.add(path, "Mul", []string{y, s}), nil
}

// adaptivePool: global pooling is size-free; an h×w grid becomes a fixed
// average pool, which needs the input size.
func (e *exporter) adaptivePool(path []string, p *nn.AdaptivePool, in string) (string, error) {
	if p.H == 1 && p.W == 1 {
		return e.add(path, "GlobalAveragePool", []string{in}), nil
	}
	if e.x == nil {
		return "", fmt.Errorf("layer %s: a %d×%d adaptive pool depends on the input size; give the size (--size)", strings.Join(path, "."), p.H, p.W)
	}
	s := e.x.Shape()
	h, w := s[2], s[3]
	if h%int64(p.H) != 0 || w%int64(p.W) != 0 {
		return "", fmt.Errorf("layer %s: a %d×%d adaptive pool over a %d×%d map has no fixed-window ONNX form; use an input size that makes the map a multiple of %d", strings.Join(path, "."), p.H, p.W, h, w, p.H)
	}
	kh, kw := h/int64(p.H), w/int64(p.W)
	if kh == 1 && kw == 1 {
		return e.add(path, "Identity", []string{in}), nil
	}
	return e.add(path, "AveragePool", []string{in}, ints("kernel_shape", kh, kw), ints("strides", kh, kw)), nil
}
