package onnx

import (
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// pbBytes appends a length-delimited field.
func pbBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// pbVarint appends a varint field.
func pbVarint(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// fuzzInit is a float initializer "w" with the given dims and raw data,
// or with external data at off and length in loc when loc is not empty.
func fuzzInit(dims []uint64, raw []byte, loc, off, length string) []byte {
	var packed []byte
	for _, d := range dims {
		packed = protowire.AppendVarint(packed, d)
	}
	init := pbBytes(nil, 1, packed)
	init = pbVarint(init, 2, tFloat)
	init = pbBytes(init, 8, []byte("w"))
	if loc == "" {
		return pbBytes(init, 9, raw)
	}
	for _, kv := range [][2]string{{"location", loc}, {"offset", off}, {"length", length}} {
		init = pbBytes(init, 13, pbBytes(pbBytes(nil, 1, []byte(kv[0])), 2, []byte(kv[1])))
	}
	return pbVarint(init, 14, 1)
}

// fuzzModel is a one-node ModelProto: the initializer init, an attribute
// tensor, typed inputs and outputs, an opset and metadata.
func fuzzModel(init []byte) []byte {
	attrT := pbVarint(pbBytes(nil, 1, []byte{1}), 2, tInt64) // dims [1], int64
	attrT = pbBytes(attrT, 7, protowire.AppendVarint(nil, 5))
	attr := pbVarint(pbBytes(pbBytes(nil, 1, []byte("value")), 5, attrT), 20, attrTensor)
	ints := pbVarint(pbBytes(pbBytes(nil, 1, []byte("perm")), 8, []byte{1, 0}), 20, attrInts)
	node := pbBytes(pbBytes(pbBytes(pbBytes(nil, 1, []byte("x")), 1, []byte("w")), 2, []byte("y")), 4, []byte("MatMul"))
	node = pbBytes(pbBytes(node, 5, attr), 5, ints)
	dim := func(v uint64, param string) []byte {
		if param != "" {
			return pbBytes(nil, 1, pbBytes(nil, 2, []byte(param)))
		}
		return pbBytes(nil, 1, pbVarint(nil, 1, v))
	}
	shape := append(dim(0, "N"), dim(2, "")...)
	tt := pbBytes(pbVarint(nil, 1, tFloat), 2, shape)
	vi := func(name string) []byte { return pbBytes(pbBytes(nil, 1, []byte(name)), 2, pbBytes(nil, 1, tt)) }
	graph := pbBytes(pbBytes(pbBytes(pbBytes(nil, 1, node), 2, []byte("g")), 5, init), 11, vi("x"))
	graph = pbBytes(graph, 12, vi("y"))
	m := pbVarint(nil, 1, 8)
	m = pbBytes(m, 2, []byte("fuzz"))
	m = pbBytes(m, 7, graph)
	m = pbBytes(m, 8, pbVarint(pbBytes(nil, 1, nil), 2, 13))
	return pbBytes(m, 14, pbBytes(pbBytes(nil, 1, []byte("k")), 2, []byte("v")))
}

// safeNumel is the element count of dims, or false when it does not fit
// an int64.
func safeNumel(dims []int64) (int64, bool) {
	n := big.NewInt(1)
	for _, d := range dims {
		n.Mul(n, big.NewInt(d))
	}
	return n.Int64(), n.IsInt64()
}

// FuzzReadModel feeds ONNX files to ReadModel and decodes the data of
// every initializer and tensor attribute it accepts.
func FuzzReadModel(f *testing.F) {
	f.Add(fuzzModel(fuzzInit([]uint64{2, 3}, make([]byte, 24), "", "", "")))
	f.Add(fuzzModel(fuzzInit([]uint64{2, 3}, nil, "model.onnx", "0", "24"))) // external data: the model file itself
	// Regressions: offset+length overflowed int64 (make panicked), and
	// dims whose product overflows to 0 were accepted with no data.
	f.Add(fuzzModel(fuzzInit([]uint64{2, 3}, nil, "model.onnx", "4611686018427387904", "4611686018427387904")))
	f.Add(fuzzModel(fuzzInit([]uint64{1 << 32, 1 << 32}, []byte{}, "", "", "")))
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{0x80, 0x02})
	for _, p := range []string{"model13.onnx", "model9.onnx"} {
		if b, err := os.ReadFile(filepath.Join(tinyDir, p)); err == nil {
			f.Add(b)
		}
	}

	path := filepath.Join(f.TempDir(), "model.onnx")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			m, err := ReadModel(path)
			fuzzcheck.ErrNames(t, err, path)
			if err != nil {
				return
			}
			tensors := append([]*TensorProto{}, m.Graph.Initializer...)
			for _, n := range m.Graph.Nodes {
				for _, a := range n.Attrs {
					if a.T != nil {
						tensors = append(tensors, a.T)
					}
				}
			}
			for _, tp := range tensors {
				c, err := tp.Const(m.Dir)
				if err != nil {
					continue
				}
				want, ok := safeNumel(tp.Dims)
				if !ok {
					t.Fatalf("tensor %q: accepted dims %v, whose product overflows int64", tp.Name, tp.Dims)
				}
				if got := int64(len(c.F) + len(c.I)); got != want {
					t.Fatalf("tensor %q: %d values for dims %v", tp.Name, got, tp.Dims)
				}
				if tp.DataType == tFloat {
					if v, err := tp.float32s(m.Dir); err != nil || int64(len(v)) != want {
						t.Fatalf("tensor %q: float32s gives %d values (%v) for dims %v", tp.Name, len(v), err, tp.Dims)
					}
				}
			}
		})
	})
}
