package checkpoint

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"

	"github.com/graftml/graft/torch"
)

// The safetensors format (a little-endian u64 header length, a JSON header
// of name → dtype/shape/offsets, then raw little-endian data) is written by
// hand: it is a page of code, and no maintained Go module covers it.

type tensorInfo struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// maxHeader bounds the JSON header so a corrupt length cannot make us
// allocate gigabytes.
const maxHeader = 100 << 20

var dtypeNames = map[torch.DType]string{torch.Float32: "F32", torch.Int64: "I64", torch.Float64: "F64", torch.Int32: "I32", torch.Uint8: "U8", torch.Bool: "BOOL", torch.Float16: "F16", torch.BFloat16: "BF16"}

// Tensor is one named entry to write.
type Tensor struct {
	Name string
	T    *torch.Tensor
}

// WriteSafetensors writes tensors (float32 and int64 are stored as such;
// other types are converted to float32) with string metadata.
func WriteSafetensors(w io.Writer, ts []Tensor, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	type blob struct {
		dtype torch.DType
		n     int64
	}
	blobs := make([]blob, len(ts))
	var off int64
	for i, e := range ts {
		if err := e.T.Err(); err != nil {
			return fmt.Errorf("tensor %s: %w", e.Name, err)
		}
		dt := e.T.DType()
		if dt != torch.Int64 {
			dt = torch.Float32
		}
		n := e.T.Numel()
		size := n * 4
		if dt == torch.Int64 {
			size = n * 8
		}
		header[e.Name] = tensorInfo{DType: dtypeNames[dt], Shape: nonNil(e.T.Shape()), Offsets: [2]int64{off, off + size}}
		blobs[i] = blob{dt, n}
		off += size
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return err
	}
	// Pad the header with spaces to 8 bytes so data is aligned for mmap.
	for len(hj)%8 != 0 {
		hj = append(hj, ' ')
	}
	if err := binary.Write(w, binary.LittleEndian, uint64(len(hj))); err != nil {
		return err
	}
	if _, err := w.Write(hj); err != nil {
		return err
	}
	for i, e := range ts {
		var err error
		if blobs[i].dtype == torch.Int64 {
			var v []int64
			if v, err = e.T.Int64s(); err == nil {
				err = binary.Write(w, binary.LittleEndian, v)
			}
		} else {
			var v []float32
			if v, err = e.T.Float32s(); err == nil {
				err = binary.Write(w, binary.LittleEndian, v)
			}
		}
		if err != nil {
			return fmt.Errorf("tensor %s: %w", e.Name, err)
		}
	}
	return nil
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// Safetensors is a parsed file: entries are decoded into tensors on demand.
type Safetensors struct {
	Path  string
	Meta  map[string]string
	infos map[string]tensorInfo
	data  []byte
}

// ReadSafetensors reads and validates a whole file. Errors name the file
// and what is wrong with it.
func ReadSafetensors(path string) (*Safetensors, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read weights: %w", err)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%s is not a valid safetensors file: %s", path, fmt.Sprintf(format, a...))
	}
	if len(b) < 8 {
		return nil, bad("only %d bytes (truncated?)", len(b))
	}
	hl := binary.LittleEndian.Uint64(b[:8])
	if hl > maxHeader || 8+hl > uint64(len(b)) {
		return nil, bad("header length %d does not fit the %d-byte file (truncated or not safetensors)", hl, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hl], &raw); err != nil {
		return nil, bad("header: %v", err)
	}
	st := &Safetensors{Path: path, infos: map[string]tensorInfo{}, data: b[8+hl:]}
	for k, v := range raw {
		if k == "__metadata__" {
			if err := json.Unmarshal(v, &st.Meta); err != nil {
				return nil, bad("metadata: %v", err)
			}
			continue
		}
		var ti tensorInfo
		if err := json.Unmarshal(v, &ti); err != nil {
			return nil, bad("entry %s: %v", k, err)
		}
		if ti.Offsets[0] < 0 || ti.Offsets[1] < ti.Offsets[0] || ti.Offsets[1] > int64(len(st.data)) {
			return nil, bad("entry %s: data %v lies outside the %d data bytes (truncated?)", k, ti.Offsets, len(st.data))
		}
		size, ok := elemSize(ti.DType)
		if !ok {
			return nil, bad("entry %s: unsupported dtype %s", k, ti.DType)
		}
		nbytes := ti.Offsets[1] - ti.Offsets[0]
		n := int64(1)
		for _, d := range ti.Shape {
			if d < 0 {
				return nil, bad("entry %s: negative dimension", k)
			}
		}
		if slices.Contains(ti.Shape, 0) {
			n = 0
		}
		for _, d := range ti.Shape {
			// Checked as it grows, so that a forged shape cannot overflow
			// back to a plausible size.
			if n > 0 && n > nbytes/size/d {
				return nil, bad("entry %s: shape %v needs more than the %d bytes its offsets give", k, ti.Shape, nbytes)
			}
			n *= d
		}
		if n*size != nbytes {
			return nil, bad("entry %s: shape %v needs %d bytes, offsets give %d", k, ti.Shape, n*size, nbytes)
		}
		st.infos[k] = ti
	}
	return st, nil
}

func elemSize(dt string) (int64, bool) {
	switch dt {
	case "F32", "I32":
		return 4, true
	case "I64", "F64":
		return 8, true
	case "F16", "BF16":
		return 2, true
	case "U8", "BOOL":
		return 1, true
	}
	return 0, false
}

// Names lists the entries in sorted order.
func (s *Safetensors) Names() []string {
	out := make([]string, 0, len(s.infos))
	for k := range s.infos {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Shape is an entry's shape, or nil if absent.
func (s *Safetensors) Shape(name string) []int64 {
	ti, ok := s.infos[name]
	if !ok {
		return nil
	}
	return ti.Shape
}

// ErrMissing is returned by Tensor for absent entries.
var ErrMissing = errors.New("no such tensor")

// Tensor decodes an entry into a new CPU tensor (float types become
// float32, integer types int64) that the caller owns.
func (s *Safetensors) Tensor(name string) (*torch.Tensor, error) {
	ti, ok := s.infos[name]
	if !ok {
		return nil, fmt.Errorf("%s: %s: %w", s.Path, name, ErrMissing)
	}
	raw := s.data[ti.Offsets[0]:ti.Offsets[1]]
	n := len(raw)
	switch ti.DType {
	case "F32":
		v := make([]float32, n/4)
		if _, err := binary.Decode(raw, binary.LittleEndian, v); err != nil {
			return nil, err
		}
		return torch.FromFloat32(v, ti.Shape...), nil
	case "I64":
		v := make([]int64, n/8)
		if _, err := binary.Decode(raw, binary.LittleEndian, v); err != nil {
			return nil, err
		}
		return torch.FromInt64(v, ti.Shape...), nil
	case "I32":
		v := make([]int32, n/4)
		binary.Decode(raw, binary.LittleEndian, v)
		w := make([]int64, len(v))
		for i, x := range v {
			w[i] = int64(x)
		}
		return torch.FromInt64(w, ti.Shape...), nil
	case "F64":
		v := make([]float64, n/8)
		binary.Decode(raw, binary.LittleEndian, v)
		w := make([]float32, len(v))
		for i, x := range v {
			w[i] = float32(x)
		}
		return torch.FromFloat32(w, ti.Shape...), nil
	case "F16", "BF16":
		w := make([]float32, n/2)
		for i := range w {
			h := binary.LittleEndian.Uint16(raw[2*i:])
			if ti.DType == "BF16" {
				w[i] = bf16(h)
			} else {
				w[i] = f16(h)
			}
		}
		return torch.FromFloat32(w, ti.Shape...), nil
	default: // U8, BOOL
		w := make([]int64, n)
		for i, x := range raw {
			w[i] = int64(x)
		}
		return torch.FromInt64(w, ti.Shape...), nil
	}
}
