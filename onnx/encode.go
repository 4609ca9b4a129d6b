package onnx

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/graftml/graft/onnx/onnxpb"
)

// Encoding mirrors proto.go: the model is converted to onnxpb's generated
// messages and marshalled, with opsets, metadata, attributes and external
// data entries sorted so that the same model always gives the same bytes.
// Data slices are shared with the model, not copied.

// Encode serializes the model.
func (m *Model) Encode() []byte {
	pb := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(m.IRVersion),
		ProducerName:    optString(m.ProducerName),
		ProducerVersion: optString(m.ProducerVersion),
		MetadataProps:   stringEntries(m.Metadata),
	}
	if m.Graph != nil {
		pb.Graph = m.Graph.toProto()
	}
	for _, d := range sortedKeys(m.Opsets) {
		pb.OpsetImport = append(pb.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: optString(d), Version: proto.Int64(m.Opsets[d])})
	}
	// onnx.proto (proto2) has no required fields and no proto3 strings to
	// validate, the only things that make Marshal fail.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(pb)
	if err != nil {
		panic(fmt.Sprintf("onnx: marshal ModelProto: %v", err))
	}
	return b
}

// optString is s as an optional field: absent when empty.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringEntries(m map[string]string) []*onnxpb.StringStringEntryProto {
	var out []*onnxpb.StringStringEntryProto
	for _, k := range sortedKeys(m) {
		out = append(out, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(m[k])})
	}
	return out
}

func (g *Graph) toProto() *onnxpb.GraphProto {
	pb := &onnxpb.GraphProto{Name: optString(g.Name)}
	for _, n := range g.Nodes {
		pb.Node = append(pb.Node, n.toProto())
	}
	for _, t := range g.Initializer {
		pb.Initializer = append(pb.Initializer, t.toProto())
	}
	for _, v := range g.Inputs {
		pb.Input = append(pb.Input, v.toProto())
	}
	for _, v := range g.Outputs {
		pb.Output = append(pb.Output, v.toProto())
	}
	for _, v := range g.ValueInfo {
		pb.ValueInfo = append(pb.ValueInfo, v.toProto())
	}
	return pb
}

func (n *Node) toProto() *onnxpb.NodeProto {
	pb := &onnxpb.NodeProto{
		Input:  n.Inputs,
		Output: n.Outputs,
		Name:   optString(n.Name),
		OpType: proto.String(n.OpType),
		Domain: optString(n.Domain),
	}
	for _, k := range sortedKeys(n.Attrs) {
		pb.Attribute = append(pb.Attribute, n.Attrs[k].toProto())
	}
	return pb
}

// toProto writes the value field the attribute's type names; subgraphs
// are not kept (see Attribute), so a graph attribute keeps only its type.
func (a *Attribute) toProto() *onnxpb.AttributeProto {
	pb := &onnxpb.AttributeProto{Name: proto.String(a.Name), Type: onnxpb.AttributeProto_AttributeType(a.Type).Enum()}
	switch a.Type {
	case attrFloat:
		pb.F = proto.Float32(a.F)
	case attrInt:
		pb.I = proto.Int64(a.I)
	case attrString:
		pb.S = a.S
		if pb.S == nil {
			pb.S = []byte{}
		}
	case attrTensor:
		if a.T != nil {
			pb.T = a.T.toProto()
		}
	case attrFloats:
		pb.Floats = a.Floats
	case attrInts:
		pb.Ints = a.Ints
	case attrStrings:
		pb.Strings = a.Strings
	}
	return pb
}

func (t *TensorProto) toProto() *onnxpb.TensorProto {
	pb := &onnxpb.TensorProto{
		Dims:       t.Dims,
		DataType:   proto.Int32(t.DataType),
		FloatData:  t.FloatData,
		Int32Data:  t.Int32Data,
		StringData: t.Strings,
		Int64Data:  t.Int64Data,
		Name:       optString(t.Name),
		RawData:    t.RawData,
		DoubleData: t.Double,
		Uint64Data: t.Uint64,
	}
	if t.External != nil {
		pb.ExternalData = stringEntries(t.External)
		pb.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	}
	return pb
}

// toProto writes a tensor type when the value has an element type; a
// dimension is its size, its parameter name, or left unknown.
func (v *ValueInfo) toProto() *onnxpb.ValueInfoProto {
	pb := &onnxpb.ValueInfoProto{Name: proto.String(v.Name)}
	if v.ElemType == 0 {
		return pb
	}
	tt := &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(v.ElemType)}
	if v.HasShape {
		tt.Shape = &onnxpb.TensorShapeProto{}
		for i, d := range v.Dims {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			switch {
			case d >= 0:
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}
			case i < len(v.Params) && v.Params[i] != "":
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v.Params[i]}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	pb.Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}
	return pb
}
