package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
)

// The subset of onnx.proto (IR version 3–9) that graft reads. Field numbers
// are onnx.proto's; messages and fields graft does not need are skipped.

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
	HasData   bool              // any data field was present (even empty)
}

// protoError says where decoding failed.
type protoError struct {
	msg   string
	field string
}

func (e *protoError) Error() string {
	if e.field == "" {
		return e.msg
	}
	return e.field + ": " + e.msg
}

// decoder walks one message's fields. Errors are kept and reported once.
type decoder struct {
	b   []byte
	msg string
	err error
}

// fields calls f for each field with its raw value; f decodes the fields
// it knows with the typed helpers and ignores the rest. Decoding stops at
// the first error a helper records with fail. (f's result is unused: it
// lets nested decoders be written as expressions.)
func (d *decoder) fields(f func(num protowire.Number, typ protowire.Type, v []byte) bool) error {
	b := d.b
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return &protoError{msg: "bad field tag (" + protowire.ParseError(n).Error() + ")", field: d.msg}
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return &protoError{msg: fmt.Sprintf("field %d: %v (truncated file?)", num, protowire.ParseError(m)), field: d.msg}
		}
		f(num, typ, b[:m])
		if d.err != nil {
			return d.err
		}
		b = b[m:]
	}
	return nil
}

func (d *decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = &protoError{msg: fmt.Sprintf(format, a...), field: d.msg}
	}
}

func (d *decoder) varint(typ protowire.Type, v []byte, what string) int64 {
	if typ != protowire.VarintType {
		d.fail("%s: wire type %d, expected varint", what, typ)
		return 0
	}
	x, _ := protowire.ConsumeVarint(v)
	return int64(x)
}

func (d *decoder) bytes(typ protowire.Type, v []byte, what string) []byte {
	if typ != protowire.BytesType {
		d.fail("%s: wire type %d, expected bytes", what, typ)
		return nil
	}
	x, _ := protowire.ConsumeBytes(v)
	return x
}

func (d *decoder) str(typ protowire.Type, v []byte, what string) string {
	return string(d.bytes(typ, v, what))
}

// int64s appends a repeated int64 field, packed or not.
func (d *decoder) int64s(dst []int64, typ protowire.Type, v []byte, what string) []int64 {
	switch typ {
	case protowire.VarintType:
		x, _ := protowire.ConsumeVarint(v)
		return append(dst, int64(x))
	case protowire.BytesType:
		p, _ := protowire.ConsumeBytes(v)
		for len(p) > 0 {
			x, n := protowire.ConsumeVarint(p)
			if n < 0 {
				d.fail("%s: bad packed varint", what)
				return dst
			}
			dst = append(dst, int64(x))
			p = p[n:]
		}
		return dst
	}
	d.fail("%s: wire type %d for a repeated integer", what, typ)
	return dst
}

func (d *decoder) float32s(dst []float32, typ protowire.Type, v []byte, what string) []float32 {
	switch typ {
	case protowire.Fixed32Type:
		x, _ := protowire.ConsumeFixed32(v)
		return append(dst, math.Float32frombits(x))
	case protowire.BytesType:
		p, _ := protowire.ConsumeBytes(v)
		if len(p)%4 != 0 {
			d.fail("%s: packed floats of %d bytes", what, len(p))
			return dst
		}
		for i := 0; i < len(p); i += 4 {
			dst = append(dst, math.Float32frombits(uint32(p[i])|uint32(p[i+1])<<8|uint32(p[i+2])<<16|uint32(p[i+3])<<24))
		}
		return dst
	}
	d.fail("%s: wire type %d for repeated floats", what, typ)
	return dst
}

func (d *decoder) float64s(dst []float64, typ protowire.Type, v []byte, what string) []float64 {
	switch typ {
	case protowire.Fixed64Type:
		x, _ := protowire.ConsumeFixed64(v)
		return append(dst, math.Float64frombits(x))
	case protowire.BytesType:
		p, _ := protowire.ConsumeBytes(v)
		if len(p)%8 != 0 {
			d.fail("%s: packed doubles of %d bytes", what, len(p))
			return dst
		}
		for len(p) > 0 {
			x, n := protowire.ConsumeFixed64(p)
			dst = append(dst, math.Float64frombits(x))
			p = p[n:]
		}
		return dst
	}
	d.fail("%s: wire type %d for repeated doubles", what, typ)
	return dst
}

func (d *decoder) sub(typ protowire.Type, v []byte, msg string) *decoder {
	b := d.bytes(typ, v, msg)
	return &decoder{b: b, msg: msg}
}

// ErrNotONNX marks files that are not ONNX models at all.
var ErrNotONNX = errors.New("not an ONNX model")

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
func DecodeModel(b []byte) (*Model, error) {
	switch {
	case len(b) == 0:
		return nil, fmt.Errorf("%w: the file is empty", ErrNotONNX)
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return nil, fmt.Errorf("%w: it is a zip archive (a PyTorch .pth/.pt checkpoint?); load weights with `graft import --arch`", ErrNotONNX)
	case bytes.HasPrefix(b, []byte{0x80}) && len(b) > 1 && b[1] <= 5:
		return nil, fmt.Errorf("%w: it is a Python pickle (a legacy PyTorch checkpoint?)", ErrNotONNX)
	}
	m := &Model{Opsets: map[string]int64{}, Metadata: map[string]string{}}
	d := &decoder{b: b, msg: "ModelProto"}
	var sawGraph bool
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			m.IRVersion = d.varint(typ, v, "ir_version")
		case 2:
			m.ProducerName = d.str(typ, v, "producer_name")
		case 3:
			m.ProducerVersion = d.str(typ, v, "producer_version")
		case 7:
			sawGraph = true
			g, err := decodeGraph(d.sub(typ, v, "graph"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			m.Graph = g
		case 8:
			sd := d.sub(typ, v, "opset_import")
			var dom string
			var ver int64
			if err := sd.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
				switch num {
				case 1:
					dom = sd.str(typ, v, "domain")
				case 2:
					ver = sd.varint(typ, v, "version")
				}
				return true
			}); err != nil {
				d.fail("%v", err)
				return false
			}
			m.Opsets[dom] = ver
		case 14:
			k, val, err := decodeStringPair(d.sub(typ, v, "metadata_props"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			m.Metadata[k] = val
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("%w: protobuf decoding failed: %v", ErrNotONNX, err)
	}
	if !sawGraph || m.Graph == nil || m.IRVersion <= 0 || m.IRVersion > 100 {
		return nil, fmt.Errorf("%w: no ir_version and graph (a different protobuf message, or not protobuf at all)", ErrNotONNX)
	}
	if len(m.Graph.Nodes) == 0 {
		return nil, fmt.Errorf("the ONNX graph has no nodes")
	}
	if len(m.Opsets) == 0 {
		// IR version 3+ requires opset_import; very old files imply opset 1.
		m.Opsets[""] = 1
	}
	return m, nil
}

func decodeStringPair(d *decoder) (string, string, error) {
	var k, v string
	err := d.fields(func(num protowire.Number, typ protowire.Type, b []byte) bool {
		switch num {
		case 1:
			k = d.str(typ, b, "key")
		case 2:
			v = d.str(typ, b, "value")
		}
		return true
	})
	return k, v, err
}

func decodeGraph(d *decoder) (*Graph, error) {
	g := &Graph{}
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			n, err := decodeNode(d.sub(typ, v, fmt.Sprintf("node %d", len(g.Nodes))))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name = d.str(typ, v, "name")
		case 5:
			t, err := decodeTensor(d.sub(typ, v, fmt.Sprintf("initializer %d", len(g.Initializer))))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			g.Initializer = append(g.Initializer, t)
		case 11, 12, 13:
			vi, err := decodeValueInfo(d.sub(typ, v, "value_info"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			switch num {
			case 11:
				g.Inputs = append(g.Inputs, vi)
			case 12:
				g.Outputs = append(g.Outputs, vi)
			default:
				g.ValueInfo = append(g.ValueInfo, vi)
			}
		case 15:
			d.fail("sparse initializers are not supported")
		}
		return true
	})
	if err != nil {
		return nil, &protoError{msg: err.Error(), field: "graph"}
	}
	return g, nil
}

func decodeNode(d *decoder) (*Node, error) {
	n := &Node{Attrs: map[string]*Attribute{}}
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			n.Inputs = append(n.Inputs, d.str(typ, v, "input"))
		case 2:
			n.Outputs = append(n.Outputs, d.str(typ, v, "output"))
		case 3:
			n.Name = d.str(typ, v, "name")
		case 4:
			n.OpType = d.str(typ, v, "op_type")
		case 7:
			n.Domain = d.str(typ, v, "domain")
		case 5:
			a, err := decodeAttr(d.sub(typ, v, "attribute"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			n.Attrs[a.Name] = a
		}
		return true
	})
	return n, err
}

func decodeAttr(d *decoder) (*Attribute, error) {
	a := &Attribute{}
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			a.Name = d.str(typ, v, "name")
		case 20:
			a.Type = d.varint(typ, v, "type")
		case 2:
			if typ != protowire.Fixed32Type {
				d.fail("f: wire type %d", typ)
				return false
			}
			x, _ := protowire.ConsumeFixed32(v)
			a.F = math.Float32frombits(x)
		case 3:
			a.I = d.varint(typ, v, "i")
		case 4:
			a.S = d.bytes(typ, v, "s")
		case 5:
			t, err := decodeTensor(d.sub(typ, v, "t"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			a.T = t
		case 6, 11:
			a.HasG = true
		case 7:
			a.Floats = d.float32s(a.Floats, typ, v, "floats")
		case 8:
			a.Ints = d.int64s(a.Ints, typ, v, "ints")
		case 9:
			a.Strings = append(a.Strings, d.bytes(typ, v, "strings"))
		}
		return true
	})
	if err != nil {
		return nil, err
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

func decodeTensor(d *decoder) (*TensorProto, error) {
	t := &TensorProto{}
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			t.Dims = d.int64s(t.Dims, typ, v, "dims")
		case 2:
			t.DataType = int32(d.varint(typ, v, "data_type"))
		case 3:
			d.fail("segmented tensors are not supported")
		case 4:
			t.FloatData = d.float32s(t.FloatData, typ, v, "float_data")
			t.HasData = true
		case 5:
			var xs []int64
			xs = d.int64s(xs, typ, v, "int32_data")
			for _, x := range xs {
				t.Int32Data = append(t.Int32Data, int32(x))
			}
			t.HasData = true
		case 6:
			t.Strings = append(t.Strings, d.bytes(typ, v, "string_data"))
			t.HasData = true
		case 7:
			t.Int64Data = d.int64s(t.Int64Data, typ, v, "int64_data")
			t.HasData = true
		case 8:
			t.Name = d.str(typ, v, "name")
		case 9:
			t.RawData = d.bytes(typ, v, "raw_data")
			t.HasData = true
		case 10:
			t.Double = d.float64s(t.Double, typ, v, "double_data")
			t.HasData = true
		case 11:
			var xs []int64
			xs = d.int64s(xs, typ, v, "uint64_data")
			for _, x := range xs {
				t.Uint64 = append(t.Uint64, uint64(x))
			}
			t.HasData = true
		case 13:
			k, val, err := decodeStringPair(d.sub(typ, v, "external_data"))
			if err != nil {
				d.fail("%v", err)
				return false
			}
			if t.External == nil {
				t.External = map[string]string{}
			}
			t.External[k] = val
		case 14:
			if d.varint(typ, v, "data_location") == 1 && t.External == nil {
				t.External = map[string]string{}
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	for _, x := range t.Dims {
		if x < 0 {
			return nil, &protoError{msg: fmt.Sprintf("tensor %q has negative dimension %d", t.Name, x), field: d.msg}
		}
	}
	return t, nil
}

// DecodeTensor decodes a serialized TensorProto (the .pb files of ONNX's
// test data sets).
func DecodeTensor(b []byte) (*TensorProto, error) {
	return decodeTensor(&decoder{b: b, msg: "TensorProto"})
}

func decodeValueInfo(d *decoder) (*ValueInfo, error) {
	vi := &ValueInfo{}
	err := d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		switch num {
		case 1:
			vi.Name = d.str(typ, v, "name")
		case 2: // TypeProto
			if err := decodeTypeProto(d.sub(typ, v, "type"), vi); err != nil {
				d.fail("%v", err)
			}
		}
		return true
	})
	return vi, err
}

// decodeTypeProto reads a tensor type's element type and shape; sequence,
// map and optional types leave vi typeless.
func decodeTypeProto(d *decoder, vi *ValueInfo) error {
	return d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if num != 1 {
			return true
		}
		tt := d.sub(typ, v, "tensor_type")
		if err := tt.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
			switch num {
			case 1:
				vi.ElemType = int32(tt.varint(typ, v, "elem_type"))
			case 2:
				vi.HasShape = true
				if err := decodeShape(tt.sub(typ, v, "shape"), vi); err != nil {
					tt.fail("%v", err)
				}
			}
			return true
		}); err != nil {
			d.fail("%v", err)
		}
		return true
	})
}

func decodeShape(d *decoder, vi *ValueInfo) error {
	return d.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
		if num != 1 {
			return true
		}
		dd := d.sub(typ, v, "dim")
		dim, param := int64(-1), ""
		if err := dd.fields(func(num protowire.Number, typ protowire.Type, v []byte) bool {
			switch num {
			case 1:
				dim = dd.varint(typ, v, "dim_value")
			case 2:
				param = dd.str(typ, v, "dim_param")
			}
			return true
		}); err != nil {
			d.fail("%v", err)
		}
		vi.Dims = append(vi.Dims, dim)
		vi.Params = append(vi.Params, param)
		return true
	})
}
