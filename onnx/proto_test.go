package onnx

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/graftml/graft/onnx/onnxpb"
)

// pbModel is a valid one-node model as generated messages, for tests to
// break one field of.
func pbModel() *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion: proto.Int64(8),
		Graph: &onnxpb.GraphProto{
			Node: []*onnxpb.NodeProto{{Input: []string{"x", "w"}, Output: []string{"y"}, OpType: proto.String("MatMul")}},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), Dims: []int64{2, 2},
				DataType: proto.Int32(tFloat), FloatData: []float32{1, 2, 3, 4}}},
		},
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: proto.Int64(13)}},
	}
}

// Files that decode as protobuf but are not models graft can read fail
// with an error that says which part is wrong.
func TestDecodeModelErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *onnxpb.ModelProto)
		want string
	}{
		{"no graph", func(m *onnxpb.ModelProto) { m.Graph = nil }, "not an ONNX model: no ir_version and graph"},
		{"no ir_version", func(m *onnxpb.ModelProto) { m.IrVersion = nil }, "not an ONNX model: no ir_version and graph"},
		{"no nodes", func(m *onnxpb.ModelProto) { m.Graph.Node = nil }, "the ONNX graph has no nodes"},
		{"negative dimension", func(m *onnxpb.ModelProto) { m.Graph.Initializer[0].Dims[1] = -2 },
			`graph: initializer 0: tensor "w" has negative dimension -2`},
		{"segmented tensor", func(m *onnxpb.ModelProto) {
			m.Graph.Node[0].Attribute = []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
				T: &onnxpb.TensorProto{Segment: &onnxpb.TensorProto_Segment{Begin: proto.Int64(0), End: proto.Int64(1)}}}}
		}, `graph: node 0: attribute "value": t: segmented tensors are not supported`},
		{"sparse initializer", func(m *onnxpb.ModelProto) {
			m.Graph.SparseInitializer = []*onnxpb.SparseTensorProto{{}}
		}, "graph: sparse initializers are not supported"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := pbModel()
			tc.edit(m)
			b, err := proto.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = DecodeModel(b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeModel(pbBytes(nil, 7, []byte{0x0a, 0x7f})); err == nil || !strings.Contains(err.Error(), "truncated file?") {
		t.Errorf("a graph cut short: error %v, want it to suspect truncation", err)
	}
}

// Encoding a decoded model and decoding it again gives the same model.
func TestEncodeRoundTrip(t *testing.T) {
	for _, file := range []string{"model13.onnx", "model9.onnx"} {
		t.Run(file, func(t *testing.T) {
			want, err := ReadModel(filepath.Join(tinyDir, file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeModel(want.Encode())
			if err != nil {
				t.Fatal(err)
			}
			got.Dir = want.Dir
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the model changed on a round trip through Encode")
			}
		})
	}
}

// Encode writes the bytes ONNX's own serializer (protobuf C++ under
// Debian's python3-onnx) writes for the same model, so graft's files
// differ from PyTorch's only where the models do.
func TestEncodeMatchesONNX(t *testing.T) {
	if exec.Command(python, "-c", "import onnx").Run() != nil {
		t.Skip("python3-onnx is not installed")
	}
	const reserialize = "import onnx, sys; m = onnx.ModelProto(); m.ParseFromString(open(sys.argv[1], 'rb').read()); sys.stdout.buffer.write(m.SerializeToString())"
	for _, file := range []string{"model13.onnx", "model9.onnx"} {
		t.Run(file, func(t *testing.T) {
			m, err := ReadModel(filepath.Join(tinyDir, file))
			if err != nil {
				t.Fatal(err)
			}
			m.Metadata["graft.test"] = "x" // something to sort among the metadata
			path := filepath.Join(t.TempDir(), file)
			b := m.Encode()
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			ref, err := exec.Command(python, "-c", reserialize, path).Output()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, ref) {
				t.Errorf("Encode wrote %d bytes, onnx reserializes them as %d different bytes", len(b), len(ref))
			}
		})
	}
}
