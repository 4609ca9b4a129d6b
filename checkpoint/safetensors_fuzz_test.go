package checkpoint

import (
	"encoding/binary"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// safetensorsBytes builds a safetensors file from a JSON header and data.
func safetensorsBytes(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

// FuzzReadSafetensors feeds safetensors files to ReadSafetensors and
// decodes every entry it accepts (small tensors: the input bounds them).
func FuzzReadSafetensors(f *testing.F) {
	data := make([]byte, 64)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f.Add(safetensorsBytes(`{"__metadata__":{"arch":"smallcnn"},"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},`+
		`"n":{"dtype":"I64","shape":[],"data_offsets":[16,24]},"h":{"dtype":"F16","shape":[4],"data_offsets":[24,32]},`+
		`"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[32,36]},"u":{"dtype":"U8","shape":[4],"data_offsets":[36,40]},`+
		`"k":{"dtype":"BOOL","shape":[2],"data_offsets":[40,42]},"i":{"dtype":"I32","shape":[1],"data_offsets":[44,48]},`+
		`"d":{"dtype":"F64","shape":[1],"data_offsets":[48,56]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[56,56]}}`, data))
	// Regression: a shape whose product overflows int64 to 0 was accepted.
	f.Add(safetensorsBytes(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, nil))
	f.Add(safetensorsBytes(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,1099511627776]}}`, data))
	f.Add(binary.LittleEndian.AppendUint64(nil, 1<<40))
	if b, err := os.ReadFile("../onnx/testdata/small_expected.safetensors"); err == nil { // written by PyTorch
		f.Add(b)
	}

	path := filepath.Join(f.TempDir(), "w.safetensors")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			st, err := ReadSafetensors(path)
			fuzzcheck.ErrNames(t, err, path)
			if err != nil {
				return
			}
			for _, name := range st.Names() {
				shape := st.Shape(name)
				want := big.NewInt(1)
				for _, d := range shape {
					want.Mul(want, big.NewInt(d))
				}
				if want.Cmp(big.NewInt(int64(len(b)))) > 0 {
					t.Fatalf("%s: accepted shape %v, more elements than the file has bytes", name, shape)
				}
				x, err := st.Tensor(name)
				if err != nil {
					t.Fatalf("%s: accepted but not decodable: %v", name, err)
				}
				if err := x.Err(); err != nil {
					t.Fatalf("%s: accepted but not decodable: %v", name, err)
				}
				if x.Numel() != want.Int64() {
					t.Fatalf("%s: %d elements for shape %v", name, x.Numel(), shape)
				}
				x.Free()
			}
		})
	})
}
