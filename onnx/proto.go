package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"google.golang.org/protobuf/proto"

	"github.com/graftml/graft/onnx/onnxpb"
)

// The part of onnx.proto graft works with, as plain Go values: the wire
// format is decoded into onnxpb's generated messages and converted here
// (encode.go goes the other way), so these types hold only what graft
// reads, in the forms it reads them in (attributes by name, opsets by
// domain, dimensions as -1 or a parameter name).

// Model is a decoded ModelProto.
type Model struct {
	IRVersion       int64
	Opsets          map[string]int64 // domain ("" is ai.onnx) → version
	ProducerName    string
	ProducerVersion string
	Graph           *Graph
	Metadata        map[string]string
	// Dir is the directory external tensor data is resolved against.
	Dir string
}

// Opset is the ai.onnx operator set version the model uses.
func (m *Model) Opset() int64 {
	if v, ok := m.Opsets[""]; ok {
		return v
	}
	if v, ok := m.Opsets["ai.onnx"]; ok {
		return v
	}
	return 0
}

// Graph is a decoded GraphProto.
type Graph struct {
	Name        string
	Nodes       []*Node
	Initializer []*TensorProto
	Inputs      []*ValueInfo
	Outputs     []*ValueInfo
	ValueInfo   []*ValueInfo
}

// Node is a decoded NodeProto.
type Node struct {
	Name    string
	OpType  string
	Domain  string
	Inputs  []string // "" marks an omitted optional input
	Outputs []string
	Attrs   map[string]*Attribute
}

// Attribute types (AttributeProto.AttributeType).
const (
	attrFloat   = 1
	attrInt     = 2
	attrString  = 3
	attrTensor  = 4
	attrGraph   = 5
	attrFloats  = 6
	attrInts    = 7
	attrStrings = 8
	attrTensors = 9
	attrGraphs  = 10
)

// Attribute is a decoded AttributeProto; subgraphs are not kept (no
// supported operator has one).
type Attribute struct {
	Name    string
	Type    int64
	F       float32
	I       int64
	S       []byte
	T       *TensorProto
	Floats  []float32
	Ints    []int64
	Strings [][]byte
	HasG    bool
}

// ValueInfo is a graph input or output: a name, an element type and a
// shape whose dimensions are fixed (Dims[i] ≥ 0) or symbolic (Dims[i] = -1,
// Params[i] names it).
type ValueInfo struct {
	Name     string
	ElemType int32
	Dims     []int64
	Params   []string
	HasShape bool
}

// TensorProto element types.
const (
	tFloat    = 1
	tUint8    = 2
	tInt8     = 3
	tUint16   = 4
	tInt16    = 5
	tInt32    = 6
	tInt64    = 7
	tString   = 8
	tBool     = 9
	tFloat16  = 10
	tDouble   = 11
	tUint32   = 12
	tUint64   = 13
	tBFloat16 = 16
)

var elemTypeNames = map[int32]string{tFloat: "float", tUint8: "uint8", tInt8: "int8", tUint16: "uint16", tInt16: "int16",
	tInt32: "int32", tInt64: "int64", tString: "string", tBool: "bool", tFloat16: "float16", tDouble: "double",
	tUint32: "uint32", tUint64: "uint64", 14: "complex64", 15: "complex128", tBFloat16: "bfloat16"}

func elemTypeName(t int32) string {
	if s, ok := elemTypeNames[t]; ok {
		return s
	}
	return fmt.Sprintf("type %d", t)
}

// TensorProto is a decoded TensorProto. Exactly one of the data fields is
// set for a tensor with data; External lists where external data lives.
type TensorProto struct {
	Name      string
	Dims      []int64
	DataType  int32
	RawData   []byte
	FloatData []float32
	Int32Data []int32
	Int64Data []int64
	Double    []float64
	Uint64    []uint64
	Strings   [][]byte
	External  map[string]string // location, offset, length
	HasData   bool              // raw_data was present (even empty), or a typed field holds values
}

// ErrNotONNX marks files that are not ONNX models at all.
var ErrNotONNX = errors.New("not an ONNX model")

// unmarshal drops fields graft's onnx.proto does not know (a newer IR's)
// instead of keeping a copy of their bytes.
var unmarshal = proto.UnmarshalOptions{DiscardUnknown: true}

// ReadModel reads and decodes an ONNX file. External tensor data is
// resolved relative to the file's directory when tensors are loaded.
func ReadModel(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read onnx model: %w", err)
	}
	m, err := DecodeModel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Dir = dirOf(path)
	return m, nil
}

// DecodeModel decodes a serialized ModelProto and checks that it is one:
// protobuf bytes of another message usually decode without error, so the
// result must also have a graph with nodes.
//
// The decoded model does not alias b, but holds a copy of each tensor's
// raw_data: decoding needs about twice the file's size while it runs.
func DecodeModel(b []byte) (*Model, error) {
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("%w: the file is empty", ErrNotONNX)
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return nil, fmt.Errorf("%w: it is a zip archive (a PyTorch .pth/.pt checkpoint?); load weights with `graft import --arch`", ErrNotONNX)
	case bytes.HasPrefix(b, []byte{0x80}) && len(b) > 1 && b[1] <= 5:
		return nil, fmt.Errorf("%w: it is a Python pickle (a legacy PyTorch checkpoint?)", ErrNotONNX)
	}
	var pb onnxpb.ModelProto
	if err := unmarshal.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("%w: protobuf decoding failed: %v (truncated file?)", ErrNotONNX, err)
	}
	if pb.Graph == nil || pb.GetIrVersion() <= 0 || pb.GetIrVersion() > 100 {
		return nil, fmt.Errorf("%w: no ir_version and graph (a different protobuf message, or not protobuf at all)", ErrNotONNX)
	}
	g, err := graphFromProto(pb.Graph)
	if err != nil {
		return nil, fmt.Errorf("graph: %w", err)
	}
	if len(g.Nodes) == 0 {
		return nil, fmt.Errorf("the ONNX graph has no nodes")
	}
	m := &Model{
		IRVersion:       pb.GetIrVersion(),
		Opsets:          map[string]int64{},
		ProducerName:    pb.GetProducerName(),
		ProducerVersion: pb.GetProducerVersion(),
		Graph:           g,
		Metadata:        stringMap(pb.MetadataProps),
	}
	for _, o := range pb.OpsetImport {
		m.Opsets[o.GetDomain()] = o.GetVersion()
	}
	if len(m.Opsets) == 0 {
		// IR version 3+ requires opset_import; very old files imply opset 1.
		m.Opsets[""] = 1
	}
	return m, nil
}

// stringMap turns key/value entries into a map, the last value of a
// repeated key winning.
func stringMap(entries []*onnxpb.StringStringEntryProto) map[string]string {
	m := make(map[string]string, len(entries))
	for _, e := range entries {
		m[e.GetKey()] = e.GetValue()
	}
	return m
}

func graphFromProto(pb *onnxpb.GraphProto) (*Graph, error) {
	if len(pb.SparseInitializer) > 0 {
		return nil, errors.New("sparse initializers are not supported")
	}
	g := &Graph{Name: pb.GetName()}
	for i, n := range pb.Node {
		node, err := nodeFromProto(n)
		if err != nil {
			return nil, fmt.Errorf("node %d: %w", i, err)
		}
		g.Nodes = append(g.Nodes, node)
	}
	for i, t := range pb.Initializer {
		tp, err := tensorFromProto(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %d: %w", i, err)
		}
		g.Initializer = append(g.Initializer, tp)
	}
	g.Inputs = valueInfos(pb.Input)
	g.Outputs = valueInfos(pb.Output)
	g.ValueInfo = valueInfos(pb.ValueInfo)
	return g, nil
}

func nodeFromProto(pb *onnxpb.NodeProto) (*Node, error) {
	n := &Node{
		Name:    pb.GetName(),
		OpType:  pb.GetOpType(),
		Domain:  pb.GetDomain(),
		Inputs:  pb.Input,
		Outputs: pb.Output,
		Attrs:   make(map[string]*Attribute, len(pb.Attribute)),
	}
	for _, a := range pb.Attribute {
		attr, err := attrFromProto(a)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", a.GetName(), err)
		}
		n.Attrs[attr.Name] = attr
	}
	return n, nil
}

func attrFromProto(pb *onnxpb.AttributeProto) (*Attribute, error) {
	a := &Attribute{
		Name:    pb.GetName(),
		Type:    int64(pb.GetType()),
		F:       pb.GetF(),
		I:       pb.GetI(),
		S:       pb.S,
		Floats:  pb.Floats,
		Ints:    pb.Ints,
		Strings: pb.Strings,
		HasG:    pb.G != nil || len(pb.Graphs) > 0,
	}
	if pb.T != nil {
		t, err := tensorFromProto(pb.T)
		if err != nil {
			return nil, fmt.Errorf("t: %w", err)
		}
		a.T = t
	}
	if a.Type == 0 {
		// IR version 1 files have no type field: infer it from the value.
		switch {
		case a.T != nil:
			a.Type = attrTensor
		case len(a.Ints) > 0:
			a.Type = attrInts
		case len(a.Floats) > 0:
			a.Type = attrFloats
		case a.S != nil:
			a.Type = attrString
		}
	}
	return a, nil
}

// tensorFromProto converts a TensorProto, sharing its data slices.
func tensorFromProto(pb *onnxpb.TensorProto) (*TensorProto, error) {
	if pb.Segment != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	t := &TensorProto{
		Name:      pb.GetName(),
		Dims:      pb.Dims,
		DataType:  pb.GetDataType(),
		RawData:   pb.RawData,
		FloatData: pb.FloatData,
		Int32Data: pb.Int32Data,
		Int64Data: pb.Int64Data,
		Double:    pb.DoubleData,
		Uint64:    pb.Uint64Data,
		Strings:   pb.StringData,
	}
	t.HasData = t.RawData != nil || len(t.FloatData) > 0 || len(t.Int32Data) > 0 || len(t.Int64Data) > 0 ||
		len(t.Double) > 0 || len(t.Uint64) > 0 || len(t.Strings) > 0
	if len(pb.ExternalData) > 0 || pb.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		t.External = stringMap(pb.ExternalData)
	}
	for _, x := range t.Dims {
		if x < 0 {
			return nil, fmt.Errorf("tensor %q has negative dimension %d", t.Name, x)
		}
	}
	return t, nil
}

// DecodeTensor decodes a serialized TensorProto (the .pb files of ONNX's
// test data sets).
func DecodeTensor(b []byte) (*TensorProto, error) {
	var pb onnxpb.TensorProto
	if err := unmarshal.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("TensorProto: protobuf decoding failed: %v (truncated file?)", err)
	}
	t, err := tensorFromProto(&pb)
	if err != nil {
		return nil, fmt.Errorf("TensorProto: %w", err)
	}
	return t, nil
}

func valueInfos(pbs []*onnxpb.ValueInfoProto) []*ValueInfo {
	var out []*ValueInfo
	for _, pb := range pbs {
		out = append(out, valueInfoFromProto(pb))
	}
	return out
}

// valueInfoFromProto reads a tensor type's element type and shape;
// sequence, map and optional types leave the value typeless.
func valueInfoFromProto(pb *onnxpb.ValueInfoProto) *ValueInfo {
	vi := &ValueInfo{Name: pb.GetName()}
	tt := pb.GetType().GetTensorType()
	if tt == nil {
		return vi
	}
	vi.ElemType = tt.GetElemType()
	if tt.Shape == nil {
		return vi
	}
	vi.HasShape = true
	for _, d := range tt.Shape.Dim {
		dim, param := int64(-1), ""
		switch v := d.Value.(type) {
		case *onnxpb.TensorShapeProto_Dimension_DimValue:
			dim = v.DimValue
		case *onnxpb.TensorShapeProto_Dimension_DimParam:
			param = v.DimParam
		}
		vi.Dims = append(vi.Dims, dim)
		vi.Params = append(vi.Params, param)
	}
	return vi
}
