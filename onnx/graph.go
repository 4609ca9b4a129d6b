package onnx

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// vkind classifies a value by what it depends on, which decides where it is
// computed:
//
//   - static values depend on nothing at run time (initializers that are
//     not parameters, Constant nodes, arithmetic on them) and are folded
//     once when the graph is compiled;
//   - shape values depend on the input only through its shape (the
//     Shape→Gather→Unsqueeze→Concat chains exporters emit around
//     Reshape); they are computed in Go, lazily, where they are used;
//   - param values are computed from parameters only (a Transpose of a
//     weight) and are also computed where they are used, so gradients
//     reach the parameter;
//   - dynamic values depend on the input's data and run on libtorch in the
//     graph's order.
type vkind int

const (
	kStatic vkind = iota
	kShape
	kParam
	kDynamic
)

// value is a runtime value: a libtorch tensor, or a Go-side constant.
type value struct {
	t *torch.Tensor
	c *Const
}

func (v value) ok() bool { return v.t != nil || v.c != nil }

// shape of either representation.
func (v value) shape() []int64 {
	if v.c != nil {
		return v.c.Dims
	}
	return v.t.Shape()
}

type opFunc func(e *env, n *cnode, in []value) ([]value, error)

// cnode is a node ready to run.
type cnode struct {
	*Node
	label string // how errors name the node
	kind  vkind
	run   opFunc
	bn    *nn.BatchNorm2d // BatchNormalization over parameters
	pos   int             // position among the dynamic nodes; -1 when computed lazily
}

// pinfo is an initializer that became a parameter or buffer.
type pinfo struct {
	onnx   string // initializer name ("" for num_batches_tracked, which ONNX lacks)
	gname  string // graft's name for it
	t      *torch.Tensor
	buffer bool
	// layout records a reshaping between the ONNX initializer and the
	// graft tensor: "T" for a transposed Gemm/MatMul weight, "conv1x1" for
	// a 1×1 convolution stored as a Linear weight. Export undoes it.
	layout string
}

// program is a compiled graph.
type program struct {
	m        *Model
	opset    int64
	nodes    []*cnode          // dynamic nodes in execution order
	producer map[string]*cnode // value → producing node, for lazily computed values
	consts   map[string]*Const // static values
	params   map[string]*pinfo // by ONNX value name
	order    []*pinfo          // parameters in first-use order
	kinds    map[string]vkind  // every value's kind
	inputs   []*ValueInfo      // graph inputs that are not initializers
	outputs  []string          // graph outputs
	inits    map[string]*TensorProto
	shapes   map[string][]int64 // shapes from the inference run at import

	// noDropout turns Dropout off in training, so tests can compare a
	// training step with PyTorch's (whose dropout draws other numbers).
	noDropout bool
	// graphOnly accepts parameter initializers without data (zeros): the
	// graph file beside a checkpoint, whose weights are in the checkpoint.
	graphOnly bool
	// What Import decided, recorded in saved graphs to rebuild the same
	// model: input height and width, and the nodes stages end after.
	inH, inW int64
	cutRefs  []string

	mu    sync.Mutex
	cache map[cacheKey]*torch.Tensor // static constants converted to tensors
}

type cacheKey struct {
	c   *Const
	dev torch.Device
}

func (n *Node) label() string {
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.OpType)
	}
	out := ""
	if len(n.Outputs) > 0 {
		out = n.Outputs[0]
	}
	return fmt.Sprintf("%s node producing %q", n.OpType, out)
}

// UnsupportedError names an operator graft cannot run and the node that
// uses it.
type UnsupportedError struct {
	Op, Domain, Node string
	Opset            int64
}

func (e *UnsupportedError) Error() string {
	op := e.Op
	if e.Domain != "" && e.Domain != "ai.onnx" {
		op = e.Domain + "." + op
	}
	return fmt.Sprintf("unsupported ONNX operator %s (opset %d) at %s", op, e.Opset, e.Node)
}

// compile checks every operator, decides which initializers are
// parameters, folds static values and orders the nodes. Parameters are
// created as tensors that the program owns.
func compile(m *Model) (*program, error) { return compileOutputs(m, 0, false) }

// compileOutputs compiles for the first k graph outputs only (all when k is
// 0); nodes only other outputs need are dropped.
func compileOutputs(m *Model, k int, graphOnly bool) (*program, error) {
	g := m.Graph
	p := &program{
		m: m, opset: m.Opset(),
		producer: map[string]*cnode{}, consts: map[string]*Const{}, params: map[string]*pinfo{},
		kinds: map[string]vkind{}, inits: map[string]*TensorProto{}, cache: map[cacheKey]*torch.Tensor{},
		graphOnly: graphOnly,
	}
	if p.opset < 1 || p.opset > 18 {
		return nil, fmt.Errorf("opset %d is not supported: graft reads opsets 1 to 18 (re-export with opset_version=13)", p.opset)
	}
	for dom := range m.Opsets {
		if dom != "" && dom != "ai.onnx" && usesDomain(g, dom) {
			return nil, fmt.Errorf("the graph uses operator domain %q, which graft does not support", dom)
		}
	}
	for _, t := range g.Initializer {
		if t.Name == "" {
			return nil, fmt.Errorf("an initializer has no name")
		}
		p.inits[t.Name] = t
	}
	for _, in := range g.Inputs {
		// Old exporters (IR < 4) list every initializer as an input too.
		if _, isInit := p.inits[in.Name]; !isInit {
			p.inputs = append(p.inputs, in)
		}
	}
	for _, o := range g.Outputs {
		p.outputs = append(p.outputs, o.Name)
	}
	if k > 0 && len(p.outputs) > k {
		p.outputs = p.outputs[:k]
	}
	nodes, err := untieIdentities(g.Nodes, p.inits)
	if err != nil {
		return nil, err
	}
	nodes, err = topoSort(nodes, p)
	if err != nil {
		return nil, err
	}
	nodes = prune(nodes, p.outputs)
	for _, n := range nodes {
		if n.Domain != "" && n.Domain != "ai.onnx" {
			return nil, &UnsupportedError{Op: n.OpType, Domain: n.Domain, Node: n.label(), Opset: p.opset}
		}
		if _, ok := ops[n.OpType]; !ok {
			return nil, &UnsupportedError{Op: n.OpType, Node: n.label(), Opset: p.opset}
		}
	}
	if err := p.makeParams(nodes); err != nil {
		p.free()
		return nil, err
	}
	if err := p.classify(nodes); err != nil {
		p.free()
		return nil, err
	}
	return p, nil
}

func usesDomain(g *Graph, dom string) bool {
	for _, n := range g.Nodes {
		if n.Domain == dom {
			return true
		}
	}
	return false
}

// untieIdentities replaces Identity nodes that copy an initializer with a
// new initializer of the output's name. PyTorch's exporter deduplicates
// equal initializers this way ("layer4.1.bn2.weight" = Identity of
// "layer4.0.bn1.weight" when both hold ones); fine-tuning must update the
// two separately, as PyTorch would.
func untieIdentities(nodes []*Node, inits map[string]*TensorProto) ([]*Node, error) {
	out := nodes[:0:0]
	for _, n := range nodes {
		if n.OpType == "Identity" && len(n.Inputs) == 1 && len(n.Outputs) == 1 {
			if src, ok := inits[n.Inputs[0]]; ok {
				if _, exists := inits[n.Outputs[0]]; !exists {
					cp := *src
					cp.Name = n.Outputs[0]
					inits[cp.Name] = &cp
					continue
				}
			}
		}
		out = append(out, n)
	}
	return out, nil
}

// topoSort orders nodes so that every input is produced first, keeping
// the file's order where it is already valid (it almost always is).
func topoSort(nodes []*Node, p *program) ([]*Node, error) {
	avail := map[string]bool{"": true}
	for name := range p.inits {
		avail[name] = true
	}
	for _, in := range p.inputs {
		avail[in.Name] = true
	}
	produced := map[string]bool{}
	for _, n := range nodes {
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if produced[o] || (avail[o] && o != "") {
				return nil, fmt.Errorf("value %q is produced twice (by %s and earlier); the graph is not valid SSA", o, n.label())
			}
			produced[o] = true
		}
	}
	out := make([]*Node, 0, len(nodes))
	done := make([]bool, len(nodes))
	for len(out) < len(nodes) {
		progress := false
		for i, n := range nodes {
			if done[i] {
				continue
			}
			ready := true
			for _, in := range n.Inputs {
				if !avail[in] {
					ready = false
					break
				}
			}
			if !ready {
				continue
			}
			done[i], progress = true, true
			out = append(out, n)
			for _, o := range n.Outputs {
				avail[o] = true
			}
		}
		if !progress {
			for i, n := range nodes {
				if done[i] {
					continue
				}
				for _, in := range n.Inputs {
					if !avail[in] {
						if !produced[in] {
							return nil, fmt.Errorf("%s reads %q, which no node, input or initializer provides", n.label(), in)
						}
						return nil, fmt.Errorf("%s is part of a cycle through %q", n.label(), in)
					}
				}
			}
		}
	}
	return out, nil
}

// prune drops nodes no output depends on (auxiliary outputs of training
// exports, dead code).
func prune(nodes []*Node, outputs []string) []*Node {
	need := map[string]bool{}
	for _, o := range outputs {
		need[o] = true
	}
	keep := make([]bool, len(nodes))
	for i := len(nodes) - 1; i >= 0; i-- {
		for _, o := range nodes[i].Outputs {
			if need[o] {
				keep[i] = true
				break
			}
		}
		if keep[i] {
			for _, in := range nodes[i].Inputs {
				need[in] = true
			}
		}
	}
	var out []*Node
	for i, n := range nodes {
		if keep[i] {
			out = append(out, n)
		}
	}
	return out
}

// paramSlots lists, per operator, the inputs that hold trainable weights
// and those that hold buffers.
var paramSlots = map[string]struct{ train, buffer []int }{
	"Conv":                  {train: []int{1, 2}},
	"ConvTranspose":         {train: []int{1, 2}},
	"BatchNormalization":    {train: []int{1, 2}, buffer: []int{3, 4}},
	"InstanceNormalization": {train: []int{1, 2}},
	"Gemm":                  {train: []int{1, 2}},
	"MatMul":                {train: []int{1}},
	"PRelu":                 {train: []int{1}},
}

// passThrough operators forward a weight unchanged in value (a transposed
// or reshaped view); an initializer behind one is still a weight.
var passThrough = map[string]bool{"Identity": true, "Transpose": true, "Reshape": true, "Unsqueeze": true, "Squeeze": true, "Cast": true, "Flatten": true}

// makeParams decides which float initializers are parameters: those that
// reach a weight slot, directly or through pass-through operators, plus
// the bias of a MatMul+Add pair. Everything else stays a constant.
func (p *program) makeParams(nodes []*Node) error {
	producer := map[string]*Node{}
	for _, n := range nodes {
		for _, o := range n.Outputs {
			producer[o] = n
		}
	}
	want := map[string]bool{}   // value wanted as a trainable weight
	buffer := map[string]bool{} // value wanted as a buffer
	var mark func(v string, buf bool)
	mark = func(v string, buf bool) {
		if v == "" {
			return
		}
		if _, ok := p.inits[v]; ok {
			if buf {
				buffer[v] = true
			} else {
				want[v] = true
			}
			return
		}
		if pr := producer[v]; pr != nil && passThrough[pr.OpType] && len(pr.Inputs) > 0 {
			mark(pr.Inputs[0], buf)
		}
	}
	for _, n := range nodes {
		if s, ok := paramSlots[n.OpType]; ok {
			for _, i := range s.train {
				if i < len(n.Inputs) {
					mark(n.Inputs[i], false)
				}
			}
			for _, i := range s.buffer {
				if i < len(n.Inputs) {
					mark(n.Inputs[i], true)
				}
			}
		}
		if n.OpType == "Add" && len(n.Inputs) == 2 {
			for i := 0; i < 2; i++ {
				if pr := producer[n.Inputs[1-i]]; pr != nil && (pr.OpType == "MatMul" || pr.OpType == "Gemm") {
					mark(n.Inputs[i], false)
				}
			}
		}
	}
	// Create parameters in first-use order, so the model lists them as the
	// graph computes them (torchvision's order for torchvision exports).
	seen := map[string]bool{}
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if seen[in] || (!want[in] && !buffer[in]) {
				continue
			}
			seen[in] = true
			tp := p.inits[in]
			if tp.DataType != tFloat && tp.DataType != tDouble && tp.DataType != tFloat16 && tp.DataType != tBFloat16 {
				continue // integer "weights" stay constants
			}
			var data []float32
			var err error
			if p.graphOnly && !tp.HasData && tp.External == nil {
				data = make([]float32, numel(tp.Dims))
			} else if data, err = tp.float32s(p.m.Dir); err != nil {
				return fmt.Errorf("initializer %s: %w", in, err)
			}
			t := torch.FromFloat32(data, tp.Dims...)
			if err := t.Err(); err != nil {
				return fmt.Errorf("initializer %s: %w", in, err)
			}
			isBuf := buffer[in] && !want[in]
			if !isBuf {
				if err := t.SetRequiresGrad(true); err != nil {
					return fmt.Errorf("initializer %s: %w", in, err)
				}
			}
			pi := &pinfo{onnx: in, t: t, buffer: isBuf}
			p.params[in] = pi
			p.order = append(p.order, pi)
		}
	}
	return nil
}

// classify computes each value's kind, folds static nodes into constants
// and lays out the dynamic nodes; lazily computed nodes (shape and param
// kinds) are looked up through p.producer.
func (p *program) classify(nodes []*Node) error {
	for name, tp := range p.inits {
		if _, isParam := p.params[name]; isParam {
			p.kinds[name] = kParam
			continue
		}
		p.kinds[name] = kStatic
		if !used(nodes, name) {
			continue
		}
		c, err := tp.Const(p.m.Dir)
		if err != nil {
			return fmt.Errorf("initializer %s: %w", name, err)
		}
		c.static = true
		p.consts[name] = c
	}
	for _, in := range p.inputs {
		p.kinds[in.Name] = kDynamic
	}
	for _, n := range nodes {
		cn := &cnode{Node: n, label: n.label(), run: ops[n.OpType], pos: -1}
		k := kStatic
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			kin := p.kinds[in]
			if n.OpType == "Shape" || n.OpType == "Size" {
				if kin == kDynamic {
					kin = kShape
				}
			}
			k = max(k, kin)
		}
		if n.OpType == "Dropout" || n.OpType == "RandomNormal" || n.OpType == "RandomUniform" || n.OpType == "RandomNormalLike" || n.OpType == "RandomUniformLike" {
			k = max(k, kDynamic) // never folded: depends on the mode
		}
		cn.kind = k
		for _, o := range n.Outputs {
			p.kinds[o] = k
		}
		switch k {
		case kStatic:
			if err := p.fold(cn); err != nil {
				return err
			}
		case kShape, kParam:
			for _, o := range n.Outputs {
				p.producer[o] = cn
			}
		case kDynamic:
			cn.pos = len(p.nodes)
			p.nodes = append(p.nodes, cn)
		}
		if n.OpType == "BatchNormalization" {
			p.bindBatchNorm(cn)
		}
	}
	return nil
}

// fold evaluates a static node now.
func (p *program) fold(n *cnode) error {
	e := p.newEnv(torch.CPU, false)
	defer e.release(nil)
	var err error
	torch.NoGrad(func() {
		var outs []value
		outs, err = e.exec(n)
		if err != nil {
			return
		}
		for i, o := range outs {
			if i >= len(n.Outputs) || n.Outputs[i] == "" {
				continue
			}
			c := o.c
			if c == nil {
				if c, err = constOf(o.t); err != nil {
					err = fmt.Errorf("%s: %w", n.label, err)
					return
				}
			}
			c.static = true
			p.consts[n.Outputs[i]] = c
		}
	})
	return err
}

// bindBatchNorm gives a BatchNormalization whose statistics are buffers an
// nn.BatchNorm2d, so it trains (batch statistics, running averages) like
// PyTorch's.
func (p *program) bindBatchNorm(n *cnode) {
	if len(n.Inputs) < 5 {
		return
	}
	var ts [4]*torch.Tensor
	for i := range ts {
		pi := p.params[n.Inputs[i+1]]
		if pi == nil {
			return
		}
		ts[i] = pi.t
	}
	mom := 0.9
	if a := n.Attrs["momentum"]; a != nil {
		mom = float64(a.F)
	}
	eps := 1e-5
	if a := n.Attrs["epsilon"]; a != nil {
		eps = float64(a.F)
	}
	n.bn = &nn.BatchNorm2d{Weight: ts[0], Bias: ts[1], RunningMean: ts[2], RunningVar: ts[3],
		Momentum: 1 - mom, Eps: eps}
	// torchvision state_dicts carry num_batches_tracked; ONNX drops it. Add
	// it back where the names follow torchvision's pattern, so imported
	// models and torchvision checkpoints share one set of names.
	w := n.Inputs[1]
	if prefix, ok := strings.CutSuffix(w, ".weight"); ok && n.Inputs[3] == prefix+".running_mean" {
		nbt := torch.Full(nil, 0, torch.Int64, torch.CPU)
		n.bn.NumBatchesTracked = nbt
		pi := &pinfo{gname: prefix + ".num_batches_tracked", t: nbt, buffer: true}
		// keep it right after the BatchNorm's running_var
		for i, q := range p.order {
			if q == p.params[n.Inputs[4]] {
				p.order = append(p.order[:i+1], append([]*pinfo{pi}, p.order[i+1:]...)...)
				break
			}
		}
	}
}

// free releases the program's parameters and cached constants.
func (p *program) free() {
	for _, pi := range p.order {
		pi.t.Free()
	}
	p.mu.Lock()
	for k, t := range p.cache {
		t.Free()
		delete(p.cache, k)
	}
	p.mu.Unlock()
}

// constTensor is a static constant as a tensor on dev, converted once.
func (p *program) constTensor(c *Const, dev torch.Device) *torch.Tensor {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := cacheKey{c, dev}
	if t, ok := p.cache[k]; ok {
		return t
	}
	t := c.tensor(dev)
	if t.Err() == nil {
		p.cache[k] = t
	}
	return t
}

// env is one evaluation: the values computed so far.
type env struct {
	p     *program
	dev   torch.Device
	train bool
	// graphTraining makes BatchNormalization and Dropout follow their
	// training_mode inputs (conformance runs); models follow train.
	graphTraining bool
	vals          map[string]value
	owned         map[string]bool    // values this env created and may free
	temps         []*torch.Tensor    // runtime constants converted to tensors
	record        map[string][]int64 // when set, every dynamic value's shape
}

func (p *program) newEnv(dev torch.Device, train bool) *env {
	return &env{p: p, dev: dev, train: train, vals: map[string]value{}, owned: map[string]bool{}}
}

// get returns a value, computing lazily evaluated ones on first use.
func (e *env) get(name string) (value, error) {
	if name == "" {
		return value{}, nil
	}
	if v, ok := e.vals[name]; ok {
		return v, nil
	}
	if pi, ok := e.p.params[name]; ok {
		return value{t: pi.t}, nil
	}
	if c, ok := e.p.consts[name]; ok {
		return value{c: c}, nil
	}
	if n, ok := e.p.producer[name]; ok {
		outs, err := e.exec(n)
		if err != nil {
			return value{}, err
		}
		e.store(n, outs)
		if v, ok := e.vals[name]; ok {
			return v, nil
		}
	}
	return value{}, fmt.Errorf("value %q is not available here (it is computed in another stage, or by an output graft does not produce)", name)
}

// exec runs one node on its inputs. A panic in an operator (a malformed
// attribute the checks missed) becomes an error naming the node.
func (e *env) exec(n *cnode) (outs []value, err error) {
	defer func() {
		if r := recover(); r != nil {
			outs, err = nil, fmt.Errorf("%s: internal error: %v", n.label, r)
		}
	}()
	in := make([]value, len(n.Inputs))
	for i, name := range n.Inputs {
		v, err := e.get(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n.label, err)
		}
		in[i] = v
	}
	outs, err = n.run(e, n, in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.label, err)
	}
	for _, o := range outs {
		if o.t != nil {
			if err := o.t.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", n.label, err)
			}
		}
	}
	return outs, nil
}

func (e *env) store(n *cnode, outs []value) {
	for i, o := range outs {
		if i < len(n.Outputs) && n.Outputs[i] != "" && o.ok() {
			e.vals[n.Outputs[i]] = o
			if o.t != nil {
				e.owned[n.Outputs[i]] = true
			}
		}
	}
}

// tensor returns v as a tensor on the env's device.
func (e *env) tensor(v value) *torch.Tensor {
	if v.t != nil {
		return v.t
	}
	if v.c == nil {
		return torch.Failed(fmt.Errorf("missing input"))
	}
	if v.c.static {
		return e.p.constTensor(v.c, e.dev)
	}
	t := v.c.tensor(e.dev)
	e.temps = append(e.temps, t)
	return t
}

func used(nodes []*Node, name string) bool {
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if in == name {
				return true
			}
		}
	}
	return false
}

// release frees what the env owns except keep.
func (e *env) release(keep map[*torch.Tensor]bool) {
	for name, v := range e.vals {
		if e.owned[name] && v.t != nil && !keep[v.t] {
			v.t.Free()
		}
	}
	for _, t := range e.temps {
		if !keep[t] {
			t.Free()
		}
	}
	e.vals, e.owned, e.temps = nil, nil, nil
}

// runNodes executes dynamic nodes [from, to) and frees each intermediate
// after its last use (last is p.lastUse(from, to)). Freeing a handle is
// safe even while training: autograd keeps its own references to what
// backward needs.
func (e *env) runNodes(from, to int, keep map[string]bool, last map[string]int) error {
	for i := from; i < to; i++ {
		n := e.p.nodes[i]
		outs, err := e.exec(n)
		if err != nil {
			return err
		}
		e.store(n, outs)
		if e.record != nil {
			for j, o := range outs {
				if j < len(n.Outputs) && o.ok() {
					e.record[n.Outputs[j]] = o.shape()
				}
			}
		}
		for _, name := range n.Inputs {
			if last[name] == i && e.owned[name] && !keep[name] {
				if v := e.vals[name]; v.t != nil && !e.aliased(name, v.t) {
					v.t.Free()
				}
				delete(e.vals, name)
				delete(e.owned, name)
			}
		}
	}
	return nil
}

// aliased reports whether another live value holds the same handle.
func (e *env) aliased(name string, t *torch.Tensor) bool {
	for k, v := range e.vals {
		if k != name && v.t == t {
			return true
		}
	}
	return false
}

// lastUse maps each value to the last dynamic node in [from, to) reading
// it, directly or through lazily computed values.
func (p *program) lastUse(from, to int) map[string]int {
	last := map[string]int{}
	var visit func(name string, i int, seen map[string]bool)
	visit = func(name string, i int, seen map[string]bool) {
		if seen[name] {
			return
		}
		seen[name] = true
		last[name] = i
		if pr, ok := p.producer[name]; ok {
			for _, in := range pr.Inputs {
				visit(in, i, seen)
			}
		}
	}
	for i := from; i < to; i++ {
		seen := map[string]bool{}
		for _, in := range p.nodes[i].Inputs {
			visit(in, i, seen)
		}
	}
	return last
}

// dynamicReads lists the dynamic values node i needs, including those
// read through lazily computed shape values: a Shape of x makes x live
// until the node that uses the shape.
func (p *program) dynamicReads(i int) []string {
	var out []string
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		if p.kinds[name] == kDynamic {
			out = append(out, name)
			return
		}
		if pr, ok := p.producer[name]; ok {
			for _, in := range pr.Inputs {
				visit(in)
			}
		}
	}
	for _, in := range p.nodes[i].Inputs {
		visit(in)
	}
	sort.Strings(out)
	return out
}

// Run evaluates the whole graph on named inputs and returns the graph
// outputs as new tensors the caller owns. train selects training behaviour
// as for a model; followGraph instead lets the graph's training_mode
// inputs and attributes decide, as ONNX defines (Session, conformance).
func (p *program) Run(inputs map[string]*torch.Tensor, train, followGraph bool) (map[string]*torch.Tensor, error) {
	dev := torch.CPU
	for _, t := range inputs {
		dev = t.Device()
		break
	}
	// A Session's weights follow its inputs to their device (a model's
	// move with nn.Model.To).
	for _, pi := range p.order {
		if pi.t.Defined() && pi.t.Device() != dev {
			if err := pi.t.MoveTo_(dev, false); err != nil {
				return nil, fmt.Errorf("move %s to %v: %w", pi.gname, dev, err)
			}
		}
	}
	e := p.newEnv(dev, train)
	e.graphTraining = followGraph
	for _, in := range p.inputs {
		t, ok := inputs[in.Name]
		if !ok {
			e.release(nil)
			return nil, fmt.Errorf("input %q is missing", in.Name)
		}
		e.vals[in.Name] = value{t: t}
	}
	keep := map[string]bool{}
	for _, o := range p.outputs {
		keep[o] = true
	}
	if err := e.runNodes(0, len(p.nodes), keep, p.lastUse(0, len(p.nodes))); err != nil {
		e.release(nil)
		return nil, err
	}
	out := map[string]*torch.Tensor{}
	keepT := map[*torch.Tensor]bool{}
	for _, name := range p.outputs {
		v, err := e.get(name)
		if err != nil {
			e.release(nil)
			return nil, err
		}
		var t *torch.Tensor
		switch {
		case v.c != nil:
			t = v.c.tensor(dev)
		case e.owned[name] && !keepT[v.t]:
			t = v.t
		default:
			t = v.t.Alias() // an input, parameter or a second output of the same value
		}
		keepT[t] = true
		out[name] = t
	}
	e.release(keepT)
	return out, nil
}
