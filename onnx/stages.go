package onnx

import (
	"fmt"
	"math"
	"strings"
)

// A cut after dynamic node i is possible when exactly one dynamic value is
// alive there: everything later depends on the graph input only through
// it, so nn.Model can run the two sides as separate stages, cache the
// first side's output, or drop the second side (Truncate).
type cut struct {
	pos   int    // after p.nodes[pos]
	value string // the one live value
}

// cuts lists every possible cut, in order.
func (p *program) cuts() []cut {
	n := len(p.nodes)
	def := map[string]int{}
	lastRead := map[string]int{}
	for _, in := range p.inputs {
		def[in.Name] = -1
	}
	for i, nd := range p.nodes {
		for _, o := range nd.Outputs {
			if o != "" {
				def[o] = i
			}
		}
		for _, v := range p.dynamicReads(i) {
			lastRead[v] = i
		}
	}
	for _, o := range p.outputs {
		if _, ok := def[o]; ok {
			lastRead[o] = n
		}
	}
	// Difference arrays over positions: how many values are alive after
	// node i, and the sum of their ids (which names the value when only
	// one is alive).
	ids := map[int]string{}
	count := make([]int, n+1)
	sum := make([]int, n+1)
	id := 0
	for v, d := range def {
		l, read := lastRead[v]
		if !read {
			continue // produced and never used (extra outputs of training exports)
		}
		id++
		ids[id] = v
		from := max(d, 0) // graph inputs (d = -1) are alive from the start
		if l <= from {
			continue
		}
		// alive after positions from .. l-1
		count[from]++
		count[l]--
		sum[from] += id
		sum[l] -= id
	}
	var out []cut
	c, s := 0, 0
	for i := 0; i < n; i++ {
		c += count[i]
		s += sum[i]
		if c == 1 && i < n-1 {
			out = append(out, cut{pos: i, value: ids[s]})
		}
	}
	return out
}

// modulePath is where a node sits in the exporting framework's module
// tree: PyTorch 1.13+ names nodes "/layer1/layer1.0/conv1/Conv"; older
// exports name them "Conv_12", and then the node's first parameter
// ("layer1.0.conv1.weight") says it.
func (p *program) modulePath(n *cnode) []string {
	if strings.HasPrefix(n.Name, "/") {
		parts := strings.Split(strings.Trim(n.Name, "/"), "/")
		if len(parts) > 1 {
			return parts[:len(parts)-1]
		}
		return nil
	}
	for _, in := range n.Inputs {
		if _, ok := p.params[in]; ok {
			if i := strings.LastIndexByte(in, '.'); i > 0 {
				return strings.Split(in[:i], ".")
			}
		}
	}
	return nil
}

// blockKeys labels each dynamic node with its block (the first two levels
// of its module path); nodes without one inherit their predecessor's.
func (p *program) blockKeys() []string {
	keys := make([]string, len(p.nodes))
	prev := ""
	for i, n := range p.nodes {
		path := p.modulePath(n)
		if len(path) > 2 {
			path = path[:2]
		}
		if len(path) > 0 {
			prev = strings.Join(path, "/")
		}
		keys[i] = prev
	}
	return keys
}

// reduction is the spatial downsampling of a 4-d value relative to the
// input, as the nearest power of two (unpadded convolutions and ceil-mode
// pools make 64 px into 15, not 16), or 0 for values that are not
// feature maps.
func (p *program) reduction(v string, inH int64) int {
	s := p.shapes[v]
	if len(s) != 4 || s[2] == 0 {
		return 0
	}
	r := float64(inH) / float64(s[2])
	return 1 << int(math.Round(math.Log2(max(r, 1))))
}

var (
	activationOps = map[string]bool{"Relu": true, "Clip": true, "LeakyRelu": true, "Sigmoid": true, "HardSigmoid": true,
		"HardSwish": true, "Tanh": true, "Elu": true, "Selu": true, "PRelu": true, "Softplus": true, "Identity": true, "Mul": true}
	paramFreeTail = map[string]bool{"Relu": true, "Clip": true, "Sigmoid": true, "Softmax": true, "LogSoftmax": true, "Flatten": true,
		"Reshape": true, "Squeeze": true, "Unsqueeze": true, "GlobalAveragePool": true, "GlobalMaxPool": true, "AveragePool": true,
		"MaxPool": true, "ReduceMean": true, "Dropout": true, "Identity": true, "Transpose": true, "LeakyRelu": true, "HardSigmoid": true,
		"HardSwish": true, "Tanh": true}
	spatialParamOps = map[string]bool{"Conv": true, "ConvTranspose": true, "BatchNormalization": true, "InstanceNormalization": true}
)

// classifierInfo describes the layer whose outputs are the classes.
type classifierInfo struct {
	pos    int    // dynamic node index of the Gemm/MatMul/Conv
	end    int    // last node of the classifier (the Add of MatMul+Add)
	kind   string // "gemm", "matmul" or "conv1x1"; "" when not replaceable
	weight string // initializer names
	bias   string
	why    string // why it cannot be replaced, when kind is ""
}

// findClassifier finds the last Gemm, MatMul or Conv with a weight
// parameter after which only parameter-free operators follow.
func (p *program) findClassifier(cutAt map[int]bool) *classifierInfo {
	for i := len(p.nodes) - 1; i >= 0; i-- {
		n := p.nodes[i]
		switch n.OpType {
		case "Gemm", "MatMul", "Conv":
		default:
			if !paramFreeTail[n.OpType] && !(n.OpType == "Add" && i > 0 && p.nodes[i-1].OpType == "MatMul") {
				return nil
			}
			continue
		}
		if len(n.Inputs) < 2 || p.params[n.Inputs[1]] == nil {
			return nil
		}
		ci := &classifierInfo{pos: i, end: i, weight: n.Inputs[1]}
		if len(n.Inputs) > 2 && n.Inputs[2] != "" {
			ci.bias = n.Inputs[2]
		}
		ws := p.params[ci.weight].t.Shape()
		switch n.OpType {
		case "Gemm":
			switch {
			case n.attrI("transA", 0) != 0 || n.attrF("alpha", 1) != 1 || (ci.bias != "" && n.attrF("beta", 1) != 1):
				ci.why = "its Gemm scales or transposes its input"
			case ci.bias != "" && (p.params[ci.bias] == nil || len(p.params[ci.bias].t.Shape()) > 2 || numel(p.params[ci.bias].t.Shape()) != classesOf(ws, n.attrI("transB", 0) == 1)):
				ci.why = "its bias is not one value per class"
			default:
				ci.kind = "gemm"
			}
		case "MatMul":
			if len(ws) != 2 {
				ci.why = "its MatMul weight is not a matrix"
				break
			}
			ci.kind = "matmul"
			if i+1 < len(p.nodes) && p.nodes[i+1].OpType == "Add" {
				add := p.nodes[i+1]
				for _, in := range add.Inputs {
					if pi := p.params[in]; pi != nil && numel(pi.t.Shape()) == ws[1] {
						ci.bias, ci.end = in, i+1
					}
				}
			}
		case "Conv":
			g, err := spatialGeometry(n, []int64{1, 1}, ws[2:])
			switch {
			case err != nil || len(ws) != 4 || ws[2] != 1 || ws[3] != 1:
				ci.why = "it is a convolution with a kernel larger than 1×1"
			case n.attrI("group", 1) != 1 || g.strides[0] != 1 || g.strides[1] != 1 || g.begin[0] != 0 || g.begin[1] != 0 || g.end[0] != 0 || g.end[1] != 0:
				ci.why = "it is a grouped, strided or padded convolution"
			default:
				ci.kind = "conv1x1"
			}
		}
		if ci.kind != "" && !(cutAt[ci.pos-1] && (ci.end == len(p.nodes)-1 || cutAt[ci.end])) {
			ci.kind, ci.why = "", "other values flow around it"
		}
		return ci
	}
	return nil
}

func classesOf(w []int64, transB bool) int64 {
	if len(w) != 2 {
		return -1
	}
	if transB {
		return w[0]
	}
	return w[1]
}

// headStart picks the cut where the head begins: after the last
// convolution or normalisation before the classifier, past the
// activations and max-pools that finish the feature extractor.
func (p *program) headStart(cuts []cut, cls *classifierInfo) (int, error) {
	if len(cuts) == 0 {
		return -1, fmt.Errorf("the graph cannot be split into stages: no point in it carries a single value")
	}
	limit := len(p.nodes) - 1
	if cls != nil {
		limit = cls.pos
	}
	last := -1
	for i := 0; i < limit; i++ {
		if spatialParamOps[p.nodes[i].OpType] {
			last = i
		}
	}
	h := -1
	for k, c := range cuts {
		if c.pos >= last && c.pos < limit {
			h = k
			break
		}
	}
	if h < 0 {
		// No cut after the features: the head is the last piece there is.
		for k := len(cuts) - 1; k >= 0; k-- {
			if cuts[k].pos < limit {
				return k, nil
			}
		}
		return len(cuts) - 1, nil
	}
	// Activations and max-pools right after the last convolution still
	// belong to the features (VGG's last block ends in a max-pool).
	for h+1 < len(cuts) && cuts[h+1].pos < limit {
		ok := true
		for i := cuts[h].pos + 1; i <= cuts[h+1].pos; i++ {
			if op := p.nodes[i].OpType; !activationOps[op] && op != "MaxPool" {
				ok = false
			}
		}
		if s := p.shapes[cuts[h+1].value]; !ok || len(s) != 4 || s[2]*s[3] <= 1 {
			break
		}
		h++
	}
	return h, nil
}

// autoStages picks stage boundaries among the cuts before the head: one
// stage per resolution, ending at the last cut before the resolution
// halves. A max- or average-pool that does the halving ends the earlier
// stage (as in VGG), and a cut inside a block moves back to the block's
// start (MobileNet's stride-2 blocks have cuts inside).
func (p *program) autoStages(cuts []cut, head int, inH int64) []int {
	keys := p.blockKeys()
	boundary := func(pos int) bool { return pos+1 >= len(keys) || keys[pos] != keys[pos+1] || keys[pos] == "" }
	var picks []int
	prev := -1
	for k := 0; k < head; k++ {
		r := p.reduction(cuts[k].value, inH)
		if r == 0 {
			continue
		}
		next := 0 // reduction at the next feature-map cut
		nk := -1
		for j := k + 1; j <= head; j++ {
			if rj := p.reduction(cuts[j].value, inH); rj != 0 {
				next, nk = rj, j
				break
			}
		}
		if next <= r {
			continue
		}
		pick := k
		// A pool that halves the resolution closes this stage.
		if nk >= 0 && p.onlyPools(cuts[k].pos+1, cuts[nk].pos) {
			pick = nk
			if pick == head {
				break // the pool ends the last feature stage anyway
			}
		}
		if !boundary(cuts[pick].pos) {
			for j := pick; j > prev; j-- {
				if boundary(cuts[j].pos) {
					pick = j
					break
				}
			}
		}
		if pick > prev && pick < head {
			picks = append(picks, pick)
			prev = pick
		}
		if pick > k {
			k = pick
		}
	}
	return picks
}

func (p *program) onlyPools(from, to int) bool {
	pool := false
	for i := from; i <= to; i++ {
		switch op := p.nodes[i].OpType; {
		case op == "MaxPool" || op == "AveragePool":
			pool = true
		case activationOps[op]:
		default:
			return false
		}
	}
	return pool
}

// userStages resolves --stages: node names, output value names, or module
// prefixes ("layer1", "features.4") meaning the last node inside it.
func (p *program) userStages(names []string, cuts []cut, head int) ([]int, error) {
	cutIndex := map[int]int{}
	for k, c := range cuts {
		cutIndex[c.pos] = k
	}
	var picks []int
	for _, name := range names {
		pos := -1
		for i, n := range p.nodes {
			if n.Name == name || contains(n.Outputs, name) || p.inModule(n, name) {
				pos = i
			}
		}
		if pos < 0 {
			return nil, fmt.Errorf("--stages: no node, value or module is named %q", name)
		}
		if pos > cuts[head].pos {
			return nil, fmt.Errorf("--stages: %q falls inside the head, which starts after %s", name, p.nodes[cuts[head].pos].label)
		}
		k, ok := cutIndex[pos]
		if !ok {
			return nil, fmt.Errorf("--stages: cannot cut after %s: other values flow past it (cut after a whole block instead; possible cuts: %s)", p.nodes[pos].label, p.cutSample(cuts, pos))
		}
		if k == head {
			continue
		}
		if len(picks) > 0 && k <= picks[len(picks)-1] {
			return nil, fmt.Errorf("--stages: %q is not after the previous cut; list cuts in graph order", name)
		}
		picks = append(picks, k)
	}
	return picks, nil
}

// inModule reports whether n belongs to the module named by a dotted
// prefix such as "layer1" or "features.4".
func (p *program) inModule(n *cnode, prefix string) bool {
	path := p.modulePath(n)
	if len(path) == 0 {
		return false
	}
	if strings.HasPrefix(n.Name, "/") {
		for _, seg := range path {
			if seg == prefix {
				return true
			}
		}
		return false
	}
	joined := strings.Join(path, ".")
	return joined == prefix || strings.HasPrefix(joined, prefix+".")
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// cutSample names the possible cuts nearest pos, for error messages.
func (p *program) cutSample(cuts []cut, pos int) string {
	var before, after string
	for _, c := range cuts {
		if c.pos < pos {
			before = p.nodes[c.pos].Name
		} else if after == "" {
			after = p.nodes[c.pos].Name
		}
	}
	var s []string
	if before != "" {
		s = append(s, "before it "+before)
	}
	if after != "" {
		s = append(s, "after it "+after)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
