package onnx

import (
	"math"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
)

// Encoding mirrors proto.go: the same messages and field numbers, written
// in field-number order as protoc would, attributes sorted by name so the
// same model always gives the same bytes.

// Encode serializes the model.
func (m *Model) Encode() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.IRVersion))
	if m.ProducerName != "" {
		b = appendString(b, 2, m.ProducerName)
	}
	if m.ProducerVersion != "" {
		b = appendString(b, 3, m.ProducerVersion)
	}
	if m.Graph != nil {
		b = appendMessage(b, 7, m.Graph.encode())
	}
	doms := make([]string, 0, len(m.Opsets))
	for d := range m.Opsets {
		doms = append(doms, d)
	}
	sort.Strings(doms)
	for _, d := range doms {
		var o []byte
		if d != "" {
			o = appendString(o, 1, d)
		}
		o = protowire.AppendTag(o, 2, protowire.VarintType)
		o = protowire.AppendVarint(o, uint64(m.Opsets[d]))
		b = appendMessage(b, 8, o)
	}
	keys := make([]string, 0, len(m.Metadata))
	for k := range m.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var e []byte
		e = appendString(e, 1, k)
		e = appendString(e, 2, m.Metadata[k])
		b = appendMessage(b, 14, e)
	}
	return b
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

func appendVarint(b []byte, num protowire.Number, v int64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

func appendPackedInts(b []byte, num protowire.Number, xs []int64) []byte {
	if len(xs) == 0 {
		return b
	}
	var p []byte
	for _, x := range xs {
		p = protowire.AppendVarint(p, uint64(x))
	}
	return appendMessage(b, num, p)
}

func appendPackedFloats(b []byte, num protowire.Number, xs []float32) []byte {
	if len(xs) == 0 {
		return b
	}
	var p []byte
	for _, x := range xs {
		p = protowire.AppendFixed32(p, math.Float32bits(x))
	}
	return appendMessage(b, num, p)
}

func (g *Graph) encode() []byte {
	var b []byte
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, n.encode())
	}
	if g.Name != "" {
		b = appendString(b, 2, g.Name)
	}
	for _, t := range g.Initializer {
		b = appendMessage(b, 5, t.encode())
	}
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.encode())
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.encode())
	}
	for _, v := range g.ValueInfo {
		b = appendMessage(b, 13, v.encode())
	}
	return b
}

func (n *Node) encode() []byte {
	var b []byte
	for _, in := range n.Inputs {
		b = appendString(b, 1, in)
	}
	for _, o := range n.Outputs {
		b = appendString(b, 2, o)
	}
	if n.Name != "" {
		b = appendString(b, 3, n.Name)
	}
	b = appendString(b, 4, n.OpType)
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		b = appendMessage(b, 5, n.Attrs[k].encode())
	}
	if n.Domain != "" {
		b = appendString(b, 7, n.Domain)
	}
	return b
}

func (a *Attribute) encode() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case attrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case attrInt:
		b = appendVarint(b, 3, a.I)
	case attrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case attrTensor:
		if a.T != nil {
			b = appendMessage(b, 5, a.T.encode())
		}
	case attrFloats:
		b = appendPackedFloats(b, 7, a.Floats)
	case attrInts:
		b = appendPackedInts(b, 8, a.Ints)
	case attrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = appendVarint(b, 20, a.Type)
	return b
}

func (t *TensorProto) encode() []byte {
	var b []byte
	b = appendPackedInts(b, 1, t.Dims)
	b = appendVarint(b, 2, int64(t.DataType))
	b = appendPackedFloats(b, 4, t.FloatData)
	if len(t.Int32Data) > 0 {
		xs := make([]int64, len(t.Int32Data))
		for i, v := range t.Int32Data {
			xs[i] = int64(v)
		}
		b = appendPackedInts(b, 5, xs)
	}
	b = appendPackedInts(b, 7, t.Int64Data)
	if t.Name != "" {
		b = appendString(b, 8, t.Name)
	}
	if t.RawData != nil {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendBytes(b, t.RawData)
	}
	if len(t.Double) > 0 {
		var p []byte
		for _, x := range t.Double {
			p = protowire.AppendFixed64(p, math.Float64bits(x))
		}
		b = appendMessage(b, 10, p)
	}
	if t.External != nil {
		keys := make([]string, 0, len(t.External))
		for k := range t.External {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var e []byte
			e = appendString(e, 1, k)
			e = appendString(e, 2, t.External[k])
			b = appendMessage(b, 13, e)
		}
		b = appendVarint(b, 14, 1)
	}
	return b
}

func (v *ValueInfo) encode() []byte {
	var b []byte
	b = appendString(b, 1, v.Name)
	if v.ElemType == 0 {
		return b
	}
	var tt []byte
	tt = appendVarint(tt, 1, int64(v.ElemType))
	if v.HasShape {
		var shape []byte
		for i, d := range v.Dims {
			var dim []byte
			switch {
			case d >= 0:
				dim = appendVarint(dim, 1, d)
			case i < len(v.Params) && v.Params[i] != "":
				dim = appendString(dim, 2, v.Params[i])
			}
			shape = appendMessage(shape, 1, dim)
		}
		tt = appendMessage(tt, 2, shape)
	}
	var typ []byte
	typ = appendMessage(typ, 1, tt)
	return appendMessage(b, 2, typ)
}
