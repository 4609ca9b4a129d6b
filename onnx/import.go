package onnx

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// ImportOptions control Import.
type ImportOptions struct {
	// Size is the side of a square input; Height and Width set a
	// rectangular one. Zero takes the size from the graph, which is then
	// required to fix it.
	Size, Height, Width int
	// Classes replaces the classifier with a freshly initialised one for
	// this many classes; zero keeps the graph's.
	Classes int
	// Stages lists where stages end: node names, output value names or
	// module prefixes ("layer1", "features.4"). Empty picks them
	// automatically (one stage per resolution).
	Stages []string
	// Arch names the model; the default is "onnx:" and the file's base name.
	Arch string
	// NormGiven says the caller sets the input normalisation itself
	// (--norm, --mean/--std): no note that ImageNet's was assumed.
	NormGiven bool
}

// StageSummary describes one stage of an imported model.
type StageSummary struct {
	Name      string `json:"name"`
	First     string `json:"first_node"`
	Last      string `json:"last_node"`
	Nodes     int    `json:"nodes"`
	Params    int64  `json:"params"`
	Channels  int    `json:"channels"`
	Reduction int    `json:"reduction"`
}

// Info says what Import found.
type Info struct {
	Path       string         `json:"path"`
	Producer   string         `json:"producer"`
	IRVersion  int64          `json:"ir_version"`
	Opset      int64          `json:"opset"`
	Input      string         `json:"input"`
	InputShape []int64        `json:"input_shape"` // batch as -1
	Output     string         `json:"output"`
	Nodes      int            `json:"nodes"`
	Ops        map[string]int `json:"ops"`
	Params     int64          `json:"params"`
	// Classifier is the node whose outputs are the classes, and how graft
	// replaces it ("gemm", "matmul", "conv1x1"); empty when none was found
	// or it cannot be replaced (ClassifierNote says why).
	Classifier     string `json:"classifier,omitempty"`
	ClassifierKind string `json:"classifier_kind,omitempty"`
	ClassifierNote string `json:"classifier_note,omitempty"`
	// Cuts are the nodes stages end after: give them to --stages to
	// reproduce or adjust the split.
	Cuts       []string        `json:"cuts"`
	Stages     []StageSummary  `json:"stages"`
	Preprocess data.Preprocess `json:"preprocess"`
	// Normalization says what normalises the graph's features:
	// "batchnorm", "other" (instance, layer or group normalisation),
	// "folded" (BatchNorm folded into the convolutions by the exporter)
	// or "none"; "" for a graph without convolutions.
	Normalization string `json:"normalization,omitempty"`
	// Classes are the class names a graft export recorded, if any.
	Classes  []string `json:"classes,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
}

// Import reads an ONNX image classifier as a trainable nn.Model. The
// model's parameters are named by the ONNX initializer names (PyTorch
// exports keep torchvision's, so torchvision state_dicts load into it), its
// graph runs on graft's torch ops, and it is cut into stages whose last,
// "head", holds the classifier as an nn.Linear that ResetClassifier and
// Truncate can replace.
func Import(path string, opts ImportOptions) (*nn.Model, Info, error) {
	m, err := ReadModel(path)
	if err != nil {
		return nil, Info{}, err
	}
	model, info, err := importModel(m, path, opts, false)
	if err != nil {
		return nil, info, fmt.Errorf("import %s: %w", path, err)
	}
	return model, info, nil
}

func importModel(m *Model, path string, opts ImportOptions, graphOnly bool) (*nn.Model, Info, error) {
	info := Info{Path: path, Producer: strings.TrimSpace(m.ProducerName + " " + m.ProducerVersion), IRVersion: m.IRVersion, Opset: m.Opset(), Ops: map[string]int{}}
	p, err := compileOutputs(m, 1, graphOnly)
	if err != nil {
		return nil, info, err
	}
	ok := false
	defer func() {
		if !ok {
			p.free()
		}
	}()
	for _, n := range m.Graph.Nodes {
		info.Ops[n.OpType]++
	}
	info.Nodes = len(m.Graph.Nodes)
	if len(p.inputs) != 1 {
		var names []string
		for _, in := range p.inputs {
			names = append(names, in.Name)
		}
		return nil, info, fmt.Errorf("the graph has %d inputs (%s); an image classifier has one", len(p.inputs), strings.Join(names, ", "))
	}
	if len(m.Graph.Outputs) > 1 {
		info.Warnings = append(info.Warnings, fmt.Sprintf("the graph has %d outputs; graft uses the first, %q, as the logits", len(m.Graph.Outputs), p.outputs[0]))
	}
	in := p.inputs[0]
	info.Input, info.Output = in.Name, p.outputs[0]
	shape, err := inputShape(in, opts)
	if err != nil {
		return nil, info, err
	}
	info.InputShape = append([]int64{-1}, shape[1:]...)
	if in.ElemType != 0 && in.ElemType != tFloat {
		return nil, info, fmt.Errorf("input %q is %s; graft feeds float images", in.Name, elemTypeName(in.ElemType))
	}
	if err := p.inferShapes(shape, in); err != nil {
		return nil, info, err
	}
	cuts := p.cuts()
	cutAt := map[int]bool{}
	for _, c := range cuts {
		cutAt[c.pos] = true
	}
	cls := p.findClassifier(cutAt)
	if cls != nil {
		info.Classifier = p.nodes[cls.pos].Name
		if info.Classifier == "" {
			info.Classifier = p.nodes[cls.pos].label
		}
		info.ClassifierKind, info.ClassifierNote = cls.kind, cls.why
		if cls.kind == "" {
			info.Warnings = append(info.Warnings, fmt.Sprintf("the classifier %s cannot be replaced: %s", p.nodes[cls.pos].label, cls.why))
			cls = nil
		}
	} else {
		info.ClassifierNote = "no Gemm, MatMul or 1×1 Conv with weights ends the graph"
		info.Warnings = append(info.Warnings, "no classifier found: "+info.ClassifierNote+"; ResetClassifier and --classes will fail")
	}
	head, err := p.headStart(cuts, cls)
	if err != nil {
		return nil, info, err
	}
	// A graft export records its stages: cut and name them the same way
	// unless --stages says otherwise.
	rec, recPicks, recErr := p.recordedStages(m, cuts, head)
	var picks []int
	switch {
	case len(opts.Stages) > 0:
		if picks, err = p.userStages(opts.Stages, cuts, head); err != nil {
			return nil, info, err
		}
	case rec != nil && recErr == nil:
		picks = recPicks
	default:
		if recErr != nil {
			info.Warnings = append(info.Warnings, fmt.Sprintf("the stages the file records (%s) do not fit its graph (%v); stages were picked by resolution instead", metaStages, recErr))
		}
		picks = p.autoStages(cuts, head, shape[2])
	}
	var stageNames []string
	if rec != nil && recErr == nil && slices.Equal(picks, recPicks) {
		for _, s := range rec {
			stageNames = append(stageNames, s.Name)
		}
	}
	picks = append(picks, head)
	arch := opts.Arch
	if arch == "" {
		arch = "onnx:" + strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	model, err := p.build(arch, cuts, picks, cls, shape)
	if err != nil {
		return nil, info, err
	}
	if len(stageNames) == len(model.Stages) {
		for i, st := range model.Stages {
			st.Name = stageNames[i]
		}
	}
	ok = true
	for _, k := range picks {
		info.Cuts = append(info.Cuts, nodeRef(p.nodes[cuts[k].pos]))
	}
	p.inH, p.inW, p.cutRefs = shape[2], shape[3], info.Cuts
	if opts.Classes > 0 && opts.Classes != model.NumClasses {
		if err := model.ResetClassifier(opts.Classes); err != nil {
			model.Free()
			return nil, info, err
		}
		model.Head().Channels = opts.Classes
	}
	info.Params, _ = model.CountParams()
	info.Stages = p.summaries(model, cuts, picks)
	info.Preprocess = guessPreprocess(m, shape)
	if b := m.Metadata[metaClasses]; b != "" {
		if err := json.Unmarshal([]byte(b), &info.Classes); err != nil || len(info.Classes) != model.NumClasses {
			info.Classes = nil
		}
	}
	var note string
	info.Normalization, note = normalization(m)
	if note != "" {
		info.Warnings = append(info.Warnings, note)
	}
	if !opts.NormGiven && model.InChannels == 3 && info.Preprocess.Norm == data.NormImageNet && metaNorm(m) == "" && m.Metadata[metaPreprocess] == "" {
		info.Warnings = append(info.Warnings, "the graph does not say how inputs are normalised; assuming ImageNet mean/std (torchvision's convention), override with --norm/--mean/--std")
	}
	return model, info, nil
}

// keepBatchNorm is how to export a PyTorch model with its BatchNorm.
const keepBatchNorm = "torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)"

// normalization tells how a graph normalises its features, and notes what
// a graph without normalisation layers means for training. PyTorch's
// torch.onnx.export in eval mode folds each BatchNorm into the convolution
// before it by default: exact for inference — frozen features are the
// original's — but the graph that trains is then a network without
// BatchNorm, and its convolutions' weights get generated names
// ("onnx::Conv_35") instead of the module's.
func normalization(m *Model) (kind, note string) {
	convs, biased, generated := 0, 0, 0
	norms := map[string]int{}
	for _, n := range m.Graph.Nodes {
		switch n.OpType {
		case "Conv":
			convs++
			if len(n.Inputs) > 2 && n.Inputs[2] != "" {
				biased++
			}
			if len(n.Inputs) > 1 && strings.HasPrefix(n.Inputs[1], "onnx::") {
				generated++
			}
		case "BatchNormalization", "InstanceNormalization", "LayerNormalization", "GroupNormalization":
			norms[n.OpType]++
		}
	}
	switch {
	case norms["BatchNormalization"] > 0:
		return "batchnorm", ""
	case len(norms) > 0:
		return "other", ""
	case convs == 0:
		return "", ""
	}
	const means = "fine-tuning trains this network without BatchNorm (it may need lower rates and train less stably), and scratch from it may fail to train; " +
		"frozen features (probe, freeze) are unaffected"
	if biased == convs && generated > 0 {
		return "folded", fmt.Sprintf("BatchNorm was folded into the convolutions: %d biased convolutions with generated weight names (onnx::Conv_…) and no BatchNormalization, as torch.onnx.export does in eval mode by default. "+
			"So %s. To keep BatchNorm, export with %s", convs, means, keepBatchNorm)
	}
	return "none", fmt.Sprintf("the graph has no normalisation layers (%d convolutions, no BatchNormalization): the network has none (as VGG and SqueezeNet), or its exporter folded BatchNorm into the convolutions. "+
		"Without them %s. If the original has BatchNorm, export it with %s", convs, means, keepBatchNorm)
}

// recordedStages reads the stages a graft export recorded and resolves
// their ends to cuts (the picks, without the head); nil when the file
// records none. An error says why the record does not fit the graph.
func (p *program) recordedStages(m *Model, cuts []cut, head int) ([]stageMeta, []int, error) {
	b := m.Metadata[metaStages]
	if b == "" {
		return nil, nil, nil
	}
	var rec []stageMeta
	if err := json.Unmarshal([]byte(b), &rec); err != nil {
		return nil, nil, err
	}
	if len(rec) < 2 {
		return nil, nil, fmt.Errorf("%d stages; a model has at least a body and a head", len(rec))
	}
	seen := map[string]bool{}
	var ends []string
	for i, s := range rec {
		if s.Name == "" || seen[s.Name] {
			return nil, nil, fmt.Errorf("stage %d is named %q: names must be distinct and not empty", i, s.Name)
		}
		seen[s.Name] = true
		if i < len(rec)-1 {
			ends = append(ends, s.End)
		}
	}
	if rec[len(rec)-1].Name != "head" {
		return nil, nil, fmt.Errorf("the last stage is %q, not head", rec[len(rec)-1].Name)
	}
	picks, err := p.userStages(ends, cuts, head)
	if err != nil {
		return nil, nil, err
	}
	if len(picks)+2 != len(rec) {
		return nil, nil, fmt.Errorf("%d stages recorded, the graph's head starts elsewhere", len(rec))
	}
	return rec, picks, nil
}

// nodeRef is how --stages refers to a node: its name, or its first output.
func nodeRef(n *cnode) string {
	if n.Name != "" {
		return n.Name
	}
	return n.Outputs[0]
}

// inputShape is [N, C, H, W] for the image input, with the batch as 2
// (the inference run) and height and width from opts where the graph
// leaves them open.
func inputShape(in *ValueInfo, opts ImportOptions) ([]int64, error) {
	if !in.HasShape || len(in.Dims) != 4 {
		if !in.HasShape {
			return nil, fmt.Errorf("input %q has no shape; graft needs [N, C, H, W]", in.Name)
		}
		return nil, fmt.Errorf("input %q has shape %s; graft imports image classifiers with [N, C, H, W] inputs", in.Name, dimString(in))
	}
	c := in.Dims[1]
	if c <= 0 {
		return nil, fmt.Errorf("input %q has a dynamic channel count (%s)", in.Name, dimString(in))
	}
	h, w := in.Dims[2], in.Dims[3]
	switch {
	case opts.Size > 0:
		h, w = int64(opts.Size), int64(opts.Size)
	case opts.Height > 0 && opts.Width > 0:
		h, w = int64(opts.Height), int64(opts.Width)
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("input %q has a dynamic size (%s): give the input size (--size)", in.Name, dimString(in))
	}
	return []int64{2, c, h, w}, nil
}

func dimString(in *ValueInfo) string {
	parts := make([]string, len(in.Dims))
	for i, d := range in.Dims {
		if d >= 0 {
			parts[i] = fmt.Sprint(d)
		} else if in.Params[i] != "" {
			parts[i] = in.Params[i]
		} else {
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// inferShapes runs the graph once on zeros to learn every value's shape.
// A graph exported with a fixed batch of 1 often bakes that 1 into its
// Reshape targets; those are rewritten to copy the batch dimension, so
// graft can train on batches.
func (p *program) inferShapes(shape []int64, in *ValueInfo) error {
	run := func() error {
		var err error
		torch.NoGrad(func() {
			x := torch.Zeros(shape...)
			defer x.Free()
			e := p.newEnv(torch.CPU, false)
			e.record = map[string][]int64{in.Name: shape}
			e.vals[in.Name] = value{t: x}
			if err = e.runNodes(0, len(p.nodes), map[string]bool{}, p.lastUse(0, len(p.nodes))); err == nil {
				_, err = e.get(p.outputs[0])
			}
			p.shapes = e.record
			e.release(nil)
		})
		return err
	}
	err := run()
	if err == nil {
		return nil
	}
	if len(in.Dims) > 0 && in.Dims[0] > 0 && p.unbakeBatch(in.Dims[0]) {
		if err2 := run(); err2 == nil {
			return nil
		}
	}
	return fmt.Errorf("the graph does not run on a %v input: %w", shape, err)
}

// unbakeBatch makes static Reshape targets that start with the graph's
// fixed batch size copy the batch dimension instead (0 in ONNX).
func (p *program) unbakeBatch(batch int64) bool {
	changed := false
	for _, n := range p.nodes {
		if n.OpType != "Reshape" || len(n.Inputs) < 2 {
			continue
		}
		c, ok := p.consts[n.Inputs[1]]
		if !ok || len(c.I) == 0 || c.I[0] != batch {
			continue
		}
		cp := *c
		cp.I = append([]int64{0}, c.I[1:]...)
		p.consts[n.Inputs[1]] = &cp
		changed = true
	}
	return changed
}

// build assembles the nn.Model: one stage per pick (the last is the head).
func (p *program) build(arch string, cuts []cut, picks []int, cls *classifierInfo, shape []int64) (*nn.Model, error) {
	names := p.paramNames()
	claimed := map[*pinfo]bool{}
	model := &nn.Model{Arch: arch, InChannels: int(shape[1])}
	from, inVal := 0, p.inputs[0].Name
	for si, k := range append(picks, -1) {
		to, outVal := len(p.nodes), p.outputs[0]
		if k >= 0 {
			to, outVal = cuts[k].pos+1, cuts[k].value
		}
		st := &nn.Stage{}
		switch {
		case k < 0:
			st.Name = "head"
		case si == 0 && len(picks) > 1:
			st.Name = "stem"
		case len(picks) > 1:
			st.Name = fmt.Sprintf("stage%d", si)
		default:
			st.Name = "stage1"
		}
		if k < 0 && cls != nil {
			// head: [segment before] classifier [segment after]
			before := inVal
			if cls.pos > from {
				before = cuts[indexOfCut(cuts, cls.pos-1)].value
				st.Layers = append(st.Layers, p.segmentLayers(from, cls.pos, inVal, before, names, claimed)...)
			}
			layers, err := p.classifierLayers(cls, names, claimed)
			if err != nil {
				return nil, err
			}
			st.Layers = append(st.Layers, layers...)
			if cls.end+1 < to {
				after := p.nodes[cls.end].Outputs[0]
				st.Layers = append(st.Layers, p.segmentLayers(cls.end+1, to, after, outVal, names, claimed)...)
			}
		} else {
			st.Layers = p.segmentLayers(from, to, inVal, outVal, names, claimed)
		}
		s := p.shapes[outVal]
		if len(s) > 1 {
			st.Channels = int(s[1])
		}
		if r := p.reduction(outVal, shape[2]); r > 0 {
			st.Reduction = r
		} else if len(model.Stages) > 0 {
			st.Reduction = model.Stages[len(model.Stages)-1].Reduction
		}
		model.Stages = append(model.Stages, st)
		from, inVal = to, outVal
	}
	for _, pi := range p.order {
		if !claimed[pi] {
			// Only parameters of folded or pruned nodes get here.
			pi.t.Free()
		}
	}
	h := model.Head()
	if c, _ := model.Classifier(); c != nil {
		model.NumClasses = c.Out()
	} else if s := p.shapes[p.outputs[0]]; len(s) == 2 {
		model.NumClasses = int(s[1])
	}
	h.Channels = model.NumClasses
	return model, nil
}

func indexOfCut(cuts []cut, pos int) int {
	for k, c := range cuts {
		if c.pos == pos {
			return k
		}
	}
	return -1
}

// paramNames decides graft's name for every parameter: the ONNX name
// where it is a dotted path (PyTorch's "layer1.0.conv1.weight"), else
// "onnx." + the name, since every graft parameter lives under a layer.
func (p *program) paramNames() map[*pinfo]string {
	names := map[*pinfo]string{}
	used := map[string]bool{}
	for _, pi := range p.order {
		n := pi.gname
		if n == "" {
			n = pi.onnx
			if i := strings.IndexByte(n, '.'); i <= 0 || strings.HasSuffix(n, ".") || strings.Contains(n, "..") {
				n = "onnx." + n
			}
		}
		base := n
		for k := 1; used[n]; k++ {
			n = fmt.Sprintf("%s_%d", base, k)
		}
		used[n] = true
		names[pi] = n
		pi.gname = n
	}
	return names
}

// segmentParams lists, in use order, the unclaimed parameters nodes
// [from, to) read (through lazily computed values too), claiming them.
func (p *program) segmentParams(from, to int, claimed map[*pinfo]bool) []*pinfo {
	var out []*pinfo
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		if pi, ok := p.params[name]; ok && !claimed[pi] {
			claimed[pi] = true
			out = append(out, pi)
			return
		}
		if pr, ok := p.producer[name]; ok {
			for _, in := range pr.Inputs {
				visit(in)
			}
		}
	}
	for i := from; i < to; i++ {
		n := p.nodes[i]
		for _, in := range n.Inputs {
			visit(in)
		}
		if n.bn != nil && n.bn.NumBatchesTracked != nil {
			for _, pi := range p.order {
				if pi.t == n.bn.NumBatchesTracked && !claimed[pi] {
					claimed[pi] = true
					out = append(out, pi)
				}
			}
		}
	}
	return out
}

// segmentLayers makes the layers for nodes [from, to): the segment, named
// after its first parameter's top-level module, then a holder for each
// other top-level module whose parameters it reads.
func (p *program) segmentLayers(from, to int, in, out string, names map[*pinfo]string, claimed map[*pinfo]bool) []nn.Named {
	seg := &segment{p: p, from: from, to: to, in: in, out: out, last: p.lastUse(from, to)}
	params := p.segmentParams(from, to, claimed)
	var order []string
	groups := map[string][]nn.Param{}
	for _, pi := range params {
		g := names[pi]
		top, rest, _ := strings.Cut(g, ".")
		if _, ok := groups[top]; !ok {
			order = append(order, top)
		}
		groups[top] = append(groups[top], nn.Param{Name: rest, T: pi.t, Buffer: pi.buffer})
	}
	if len(order) == 0 {
		name := "ops"
		if path := p.modulePath(p.nodes[from]); len(path) > 0 {
			name = path[0]
		} else if p.nodes[from].Name != "" {
			name = strings.Trim(p.nodes[from].Name, "/")
		}
		return []nn.Named{{Name: name, M: seg}}
	}
	seg.params = groups[order[0]]
	layers := []nn.Named{{Name: order[0], M: seg}}
	for _, g := range order[1:] {
		layers = append(layers, nn.Named{Name: g, M: &holder{params: groups[g]}})
	}
	return layers
}

// classifierLayers turns the classifier node into an nn.Linear (between
// layout permutes for a 1×1 convolution), with weights laid out as Linear
// wants them.
func (p *program) classifierLayers(cls *classifierInfo, names map[*pinfo]string, claimed map[*pinfo]bool) ([]nn.Named, error) {
	n := p.nodes[cls.pos]
	wp := p.params[cls.weight]
	w := wp.t
	var err error
	switch cls.kind {
	case "gemm":
		if n.attrI("transB", 0) == 0 {
			w, err = relayout(wp, "T", func() *torchT { return wp.t.Permute(1, 0).Contiguous().Clone() })
		}
	case "matmul":
		w, err = relayout(wp, "T", func() *torchT { return wp.t.Permute(1, 0).Contiguous().Clone() })
	case "conv1x1":
		s := wp.t.Shape()
		w, err = relayout(wp, "conv1x1", func() *torchT { return wp.t.Reshape(s[0], s[1]).Clone() })
	}
	if err != nil {
		return nil, err
	}
	claimed[wp] = true
	lin := &nn.Linear{Weight: w}
	layer := "classifier"
	if pre, ok := strings.CutSuffix(names[wp], ".weight"); ok {
		layer = pre
	}
	wp.gname = layer + ".weight"
	if cls.bias != "" {
		bp := p.params[cls.bias]
		if bp == nil {
			return nil, fmt.Errorf("classifier bias %q is not a parameter", cls.bias)
		}
		claimed[bp] = true
		b := bp.t
		if len(b.Shape()) != 1 {
			if b, err = relayout(bp, "flat", func() *torchT { return bp.t.Reshape(-1).Clone() }); err != nil {
				return nil, err
			}
		}
		lin.Bias = b
		bp.gname = layer + ".bias"
	}
	named := nn.Named{Name: layer, M: lin}
	if cls.kind == "conv1x1" {
		return []nn.Named{{Name: "to_nhwc", M: channelsLast{}}, named, {Name: "to_nchw", M: channelsFirst{}}}, nil
	}
	return []nn.Named{named}, nil
}

type torchT = torch.Tensor

// relayout replaces a parameter's tensor with a re-laid-out leaf copy
// (Linear wants [out, in]) and records the change for export.
func relayout(pi *pinfo, layout string, f func() *torchT) (*torchT, error) {
	var t *torchT
	torch.NoGrad(func() { t = f() })
	if err := t.Err(); err != nil {
		return nil, fmt.Errorf("classifier %s: %w", pi.onnx, err)
	}
	if err := t.SetRequiresGrad(true); err != nil {
		return nil, err
	}
	pi.t.Free()
	pi.t, pi.layout = t, layout
	return t, nil
}

// summaries describes the stages for Info.
func (p *program) summaries(m *nn.Model, cuts []cut, picks []int) []StageSummary {
	var out []StageSummary
	from := 0
	for i, st := range m.Stages {
		to := len(p.nodes)
		if i < len(picks) {
			to = cuts[picks[i]].pos + 1
		}
		var n int64
		for _, q := range st.Params() {
			if !q.Buffer {
				n += q.T.Numel()
			}
		}
		s := StageSummary{Name: st.Name, Nodes: to - from, Params: n, Channels: st.Channels, Reduction: st.Reduction}
		if to > from {
			s.First, s.Last = nodeRef(p.nodes[from]), nodeRef(p.nodes[to-1])
		}
		out = append(out, s)
		from = to
	}
	return out
}

// Preprocessing conventions in ONNX metadata (the image metadata keys of
// the ONNX spec's "Metadata" section).
const (
	metaPixelFormat = "Image.BitmapPixelFormat"
	metaPixelRange  = "Image.NominalPixelRange"
)

func metaNorm(m *Model) string { return m.Metadata[metaPixelRange] }

// guessPreprocess is what graft will feed the model: its input size and
// channels, and a normalisation from the model's metadata, else
// torchvision's ImageNet convention for RGB and [0,1] for grey.
func guessPreprocess(m *Model, shape []int64) data.Preprocess {
	pre := data.Preprocess{}
	setSize := func() {
		pre.Channels = int(shape[1])
		pre.Size, pre.Height, pre.Width = 0, 0, 0
		if shape[2] == shape[3] {
			pre.Size = int(shape[2])
		} else {
			pre.Height, pre.Width = int(shape[2]), int(shape[3])
		}
	}
	// graft's own exports say exactly; the size is the import's.
	if b := m.Metadata[metaPreprocess]; b != "" {
		if err := json.Unmarshal([]byte(b), &pre); err == nil {
			setSize()
			if pre.Validate() == nil {
				return pre
			}
		}
		pre = data.Preprocess{}
	}
	setSize()
	switch metaNorm(m) {
	case "Normalized_0_1":
		pre.Norm = data.NormUnit
	case "Normalized_1_1":
		pre.Norm = data.NormSymmetric
	case "NominalRange_0_255":
		if m.Metadata[metaPixelFormat] == "Bgr8" {
			pre.Norm = data.NormCaffe
		} else {
			pre.Mean, pre.Std = []float32{0}, []float32{1.0 / 255}
		}
	default:
		if pre.Channels == 3 {
			pre.Norm = data.NormImageNet
		} else {
			pre.Norm = data.NormUnit
		}
	}
	return pre
}
