package onnx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// An imported model cannot be rebuilt by arch.New, so its checkpoint
// carries the graph: m.graph.onnx beside m.safetensors and m.json, an ONNX
// file whose parameter initializers keep their names, shapes and types but
// no data (the weights are in m.safetensors, under the same names). Its
// metadata records the input size and the stage cuts, so loading rebuilds
// exactly the model that was saved.

// Metadata keys of the graph file.
const (
	metaGraphOnly = "graft.graph_only"
	metaSize      = "graft.input_size" // "HxW"
	metaCuts      = "graft.stage_cuts" // node references, one per line
)

// Graphs is the checkpoint.GraphCodec for imported graphs.
type Graphs struct{}

// Checkpoints reads and writes every graft checkpoint: built-in
// architectures, and imported graphs with their graph file beside the
// weights. It is a value, not a setting: nothing has to be installed
// before an imported checkpoint loads.
var Checkpoints = checkpoint.Store{Graphs: Graphs{}}

// Build rebuilds an imported checkpoint's model (BuildFromGraph).
func (Graphs) Build(path string, meta checkpoint.Meta) (*nn.Model, error) {
	return BuildFromGraph(path, meta)
}

// Save writes an imported model's graph file (SaveGraph).
func (Graphs) Save(path string, m *nn.Model) error { return SaveGraph(path, m) }

// IsImported reports whether an architecture name is an imported graph's.
func IsImported(arch string) bool { return strings.HasPrefix(arch, "onnx:") }

// GraphPath is where the graph of checkpoint ckpt (m, m.json or
// m.safetensors) lives.
func GraphPath(ckpt string) string {
	w, _ := checkpoint.Paths(ckpt)
	return strings.TrimSuffix(w, ".safetensors") + ".graph.onnx"
}

// SaveGraph writes the graph file of checkpoint path when m is an imported
// model, and does nothing otherwise: the hook checkpoint.Save needs so
// that every writer of checkpoints (training, resumable runs) keeps an
// imported model loadable.
func SaveGraph(path string, m *nn.Model) error {
	p := programOf(m)
	if p == nil {
		return nil
	}
	b := p.graphFile().Encode()
	return safefile.Write(GraphPath(path), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// graphFile is the source graph with the parameters' data left out and
// the import decisions recorded.
func (p *program) graphFile() *Model {
	g := *p.m.Graph
	g.Initializer = nil
	for _, t := range p.m.Graph.Initializer {
		if _, isParam := p.params[t.Name]; isParam {
			t = &TensorProto{Name: t.Name, Dims: t.Dims, DataType: t.DataType}
		}
		g.Initializer = append(g.Initializer, t)
	}
	m := *p.m
	m.Graph = &g
	m.Metadata = map[string]string{}
	for k, v := range p.m.Metadata {
		m.Metadata[k] = v
	}
	m.Metadata[metaGraphOnly] = "true"
	m.Metadata[metaSize] = fmt.Sprintf("%dx%d", p.inH, p.inW)
	m.Metadata[metaCuts] = strings.Join(p.cutRefs, "\n")
	return &m
}

// BuildFromGraph rebuilds the model of an imported checkpoint from its
// graph file, with the sidecar's class count and truncation applied and
// the weights still to load: what checkpoint.Load does with arch.New for
// built-in architectures.
func BuildFromGraph(path string, meta checkpoint.Meta) (*nn.Model, error) {
	_, sPath := checkpoint.Paths(path)
	gPath := GraphPath(path)
	g, err := ReadModel(gPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("checkpoint %s is an imported %s but its graph %s is missing", sPath, meta.Arch, gPath)
		}
		return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
	}
	opts := ImportOptions{Arch: meta.Arch}
	if s := g.Metadata[metaSize]; s != "" {
		h, w, ok := strings.Cut(s, "x")
		hh, err1 := strconv.Atoi(h)
		ww, err2 := strconv.Atoi(w)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad %s %q", gPath, metaSize, s)
		}
		opts.Height, opts.Width = hh, ww
	}
	if s := g.Metadata[metaCuts]; s != "" {
		opts.Stages = strings.Split(s, "\n")
	}
	m, _, err := importModel(g, gPath, opts, true)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
	}
	if meta.NumClasses > 0 && meta.NumClasses != m.NumClasses {
		if err := m.ResetClassifier(meta.NumClasses); err != nil {
			m.Free()
			return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
		}
		m.Head().Channels = meta.NumClasses
	}
	if meta.CutAfter != nil {
		if err := m.Truncate(*meta.CutAfter, meta.NumClasses); err != nil {
			m.Free()
			return nil, fmt.Errorf("checkpoint %s: %w", sPath, err)
		}
	}
	return m, nil
}

// exportGraph writes an imported model back to ONNX with its current
// weights: fine-tuned, with a replaced classifier.
func (p *program) exportGraph(m *nn.Model) (*Model, error) {
	cur := map[string]*torch.Tensor{}
	for _, q := range m.Params() {
		cur[q.Name] = q.T
	}
	g := *p.m.Graph
	g.Initializer, g.Nodes, g.ValueInfo = nil, nil, nil
	byName := map[string]*pinfo{}
	for _, pi := range p.order {
		if pi.onnx != "" {
			byName[pi.onnx] = pi
		}
	}
	fill := func(name string, orig *TensorProto) (*TensorProto, error) {
		pi := byName[name]
		t := cur[pi.gname]
		if t == nil || !t.Defined() {
			return nil, fmt.Errorf("parameter %s is gone: the model was truncated, and a truncated imported graph cannot be exported", pi.gname)
		}
		var v *torch.Tensor
		torch.NoGrad(func() {
			switch pi.layout {
			case "T":
				v = t.Permute(1, 0).Contiguous()
			default:
				v = t.Contiguous()
			}
		})
		data, err := v.Float32s()
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", pi.gname, err)
		}
		dims := v.Shape()
		switch pi.layout {
		case "conv1x1":
			dims = append(dims, 1, 1)
		case "flat":
			dims = orig.Dims
			if numel(dims) != int64(len(data)) {
				dims = []int64{1, int64(len(data))}
			}
		}
		return &TensorProto{Name: name, Dims: dims, DataType: tFloat, RawData: float32Bytes(data)}, nil
	}
	for _, t := range p.m.Graph.Initializer {
		if _, ok := byName[t.Name]; ok {
			nt, err := fill(t.Name, t)
			if err != nil {
				return nil, err
			}
			t = nt
		} else if t.External != nil {
			c, err := t.Const(p.m.Dir) // inline external data: the export is one file
			if err != nil {
				return nil, err
			}
			t = constProto(t.Name, c)
		}
		g.Initializer = append(g.Initializer, t)
	}
	used := map[string]bool{}
	for _, n := range p.m.Graph.Nodes {
		for _, v := range n.Inputs {
			used[v] = true
		}
	}
	for _, o := range p.m.Graph.Outputs {
		used[o.Name] = true
	}
	for _, n := range p.m.Graph.Nodes {
		// Untied Identity copies of initializers become initializers of
		// their own, holding the copy's (now separately trained) values.
		if n.OpType == "Identity" && len(n.Outputs) == 1 && byName[n.Outputs[0]] != nil && p.m.hasInitializer(n.Inputs[0]) {
			nt, err := fill(n.Outputs[0], p.inits[n.Outputs[0]])
			if err != nil {
				return nil, err
			}
			g.Initializer = append(g.Initializer, nt)
			continue
		}
		n, err := inferenceNode(n, used)
		if err != nil {
			return nil, err
		}
		g.Nodes = append(g.Nodes, n)
	}
	// The class count may have changed.
	g.Outputs = nil
	for _, o := range p.m.Graph.Outputs {
		cp := *o
		if cp.HasShape && len(cp.Dims) == 2 {
			cp.Dims = []int64{o.Dims[0], int64(m.NumClasses)}
		}
		g.Outputs = append(g.Outputs, &cp)
	}
	out := *p.m
	out.Graph = &g
	out.Metadata = map[string]string{}
	for k, v := range p.m.Metadata {
		if !strings.HasPrefix(k, "graft.") {
			out.Metadata[k] = v
		}
	}
	return &out, nil
}

// inferenceNode gives the export inference semantics where the imported
// file had training ones (a training-mode torch.onnx.export): Dropout
// becomes Identity, and BatchNormalization loses its training outputs
// (which mean training mode up to opset 13) and its training_mode
// attribute, so an ONNX runtime uses the running statistics as graft's
// eval forward does.
func inferenceNode(n *Node, used map[string]bool) (*Node, error) {
	if n.Domain != "" && n.Domain != "ai.onnx" {
		return n, nil
	}
	switch n.OpType {
	case "Dropout", "BatchNormalization":
	default:
		return n, nil
	}
	for _, o := range n.Outputs[1:] {
		if o != "" && used[o] {
			return nil, fmt.Errorf("%s node %q: its training output %s is used; graft exports for inference", n.OpType, n.Name, o)
		}
	}
	cp := *n
	cp.Outputs = n.Outputs[:1]
	if n.OpType == "Dropout" {
		cp.OpType, cp.Inputs, cp.Attrs = "Identity", n.Inputs[:1], nil
		return &cp, nil
	}
	if _, ok := n.Attrs["training_mode"]; ok {
		cp.Attrs = map[string]*Attribute{}
		for k, v := range n.Attrs {
			if k != "training_mode" {
				cp.Attrs[k] = v
			}
		}
	}
	return &cp, nil
}

func (m *Model) hasInitializer(name string) bool {
	for _, t := range m.Graph.Initializer {
		if t.Name == name {
			return true
		}
	}
	return false
}

func float32Bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		u := math.Float32bits(f)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

// constProto writes a Go constant back as a TensorProto.
func constProto(name string, c *Const) *TensorProto {
	t := &TensorProto{Name: name, Dims: c.Dims, DataType: c.Type}
	switch {
	case c.Type == tDouble:
		t.Double = c.F
	case c.isFloat():
		f := make([]float32, len(c.F))
		for i, v := range c.F {
			f[i] = float32(v)
		}
		t.DataType = tFloat
		t.FloatData = f
	case c.Type == tInt64:
		t.Int64Data = c.I
	default:
		t.Int32Data = make([]int32, len(c.I))
		for i, v := range c.I {
			t.Int32Data[i] = int32(v)
		}
	}
	return t
}
