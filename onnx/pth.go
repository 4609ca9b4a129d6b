package onnx

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"strings"

	"github.com/graftml/graft/torch"
)

// StateDict is a PyTorch state_dict read from a file torch.save wrote:
// the zip format (PyTorch 1.6 and later) or the legacy pickle stream.
type StateDict struct {
	Path     string
	names    []string
	tensors  map[string]*tensorRef
	storages map[string][]byte // raw little-endian data by storage key
}

// ReadStateDict reads a .pth/.pt file. A checkpoint dict that wraps the
// state_dict ({"state_dict": …}, {"model": …}) is unwrapped, and the
// "module." prefix DataParallel adds is dropped.
func ReadStateDict(path string) (*StateDict, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read weights: %w", err)
	}
	sd := &StateDict{Path: path, tensors: map[string]*tensorRef{}, storages: map[string][]byte{}}
	var top any
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		top, err = sd.readZip(b)
	case len(b) > 2 && b[0] == 0x80:
		top, err = sd.readLegacy(b)
	default:
		return nil, fmt.Errorf("%s is not a PyTorch checkpoint (neither a zip archive nor a pickle)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dict, err := findStateDict(top)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	prefix := "module."
	all := len(dict.keys) > 0
	for _, k := range dict.keys {
		if s, _ := k.(string); !strings.HasPrefix(s, prefix) {
			all = false
		}
	}
	for i, k := range dict.keys {
		name, ok := k.(string)
		t, isT := dict.vals[i].(*tensorRef)
		if !ok || !isT {
			continue // non-tensor entries (extra state)
		}
		if all {
			name = strings.TrimPrefix(name, prefix)
		}
		if err := sd.check(name, t); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		sd.names = append(sd.names, name)
		sd.tensors[name] = t
	}
	if len(sd.names) == 0 {
		return nil, fmt.Errorf("%s holds no tensors", path)
	}
	return sd, nil
}

// findStateDict picks the dict of tensors out of what was pickled.
func findStateDict(v any) (*pyDict, error) {
	switch t := v.(type) {
	case *pyDict:
		for _, k := range []string{"state_dict", "model_state_dict", "model", "module", "net", "params"} {
			if inner, ok := t.get(k); ok {
				if d, ok := inner.(*pyDict); ok && hasTensors(d) {
					return d, nil
				}
			}
		}
		if hasTensors(t) {
			return t, nil
		}
		var keys []string
		for _, k := range t.keys {
			if s, ok := k.(string); ok {
				keys = append(keys, s)
			} else {
				keys = append(keys, repr(k))
			}
		}
		return nil, fmt.Errorf("a dict without tensors (keys %s); expected a state_dict", strings.Join(limitStrings(keys, 8), ", "))
	case *pyObject:
		if t.class.name != "" {
			return nil, fmt.Errorf("it pickles a whole %s object, not a state_dict; save model.state_dict() instead", t.class)
		}
	}
	return nil, fmt.Errorf("it holds a %T, not a state_dict", v)
}

func hasTensors(d *pyDict) bool {
	for _, v := range d.vals {
		if _, ok := v.(*tensorRef); ok {
			return true
		}
	}
	return false
}

func limitStrings(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("and %d more", len(s)-n))
}

func (sd *StateDict) readZip(b []byte) (any, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("bad zip archive: %w", err)
	}
	files := map[string]*zip.File{}
	var pkl string
	for _, f := range zr.File {
		files[f.Name] = f
		if strings.HasSuffix(f.Name, "data.pkl") && (pkl == "" || len(f.Name) < len(pkl)) {
			pkl = f.Name
		}
	}
	if pkl == "" {
		return nil, fmt.Errorf("zip archive without data.pkl: not a torch.save file")
	}
	prefix := strings.TrimSuffix(pkl, "data.pkl")
	if f := files[prefix+"byteorder"]; f != nil {
		if order, _ := readZipFile(f); strings.TrimSpace(string(order)) == "big" {
			return nil, fmt.Errorf("big-endian checkpoints are not supported")
		}
	}
	data, err := readZipFile(files[pkl])
	if err != nil {
		return nil, err
	}
	persist := func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) < 5 || t[0] != "storage" {
			return nil, fmt.Errorf("unexpected persistent id %s", repr(pid))
		}
		ref, err := storageOf(t[1], t[2], t[4])
		if err != nil {
			return nil, err
		}
		if _, done := sd.storages[ref.key]; !done {
			f := files[prefix+"data/"+ref.key]
			if f == nil {
				return nil, fmt.Errorf("storage %s is missing from the archive (truncated file?)", ref.key)
			}
			raw, err := readZipFile(f)
			if err != nil {
				return nil, err
			}
			sd.storages[ref.key] = raw
		}
		return ref, nil
	}
	v, _, err := unpickle(data, 0, persist)
	return v, err
}

func readZipFile(f *zip.File) ([]byte, error) {
	if f == nil {
		return nil, fmt.Errorf("missing archive entry")
	}
	r, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w (truncated file?)", f.Name, err)
	}
	return b, nil
}

func storageOf(typ, key, numel any) (*storageRef, error) {
	g, ok := typ.(pyGlobal)
	dt := storageTypes[g.name]
	if !ok || dt == "" {
		return nil, fmt.Errorf("unsupported storage type %s", repr(typ))
	}
	k, ok1 := key.(string)
	n, ok2 := numel.(int64)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("bad storage reference")
	}
	return &storageRef{dtype: dt, key: k, numel: n}, nil
}

// legacyMagic is torch.save's magic number before the zip format.
var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// readLegacy reads the pre-1.6 format: pickles of the magic number, the
// protocol version and system info, the object (storages as persistent
// ids), the list of storage keys, then each storage as a little-endian
// element count and its raw data.
func (sd *StateDict) readLegacy(b []byte) (any, error) {
	magic, pos, err := unpickle(b, 0, nil)
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, fmt.Errorf("a pickle, but not one torch.save wrote (no magic number)")
	}
	for i := 0; i < 2; i++ { // protocol version, sys_info
		if _, pos, err = unpickle(b, pos, nil); err != nil {
			return nil, err
		}
	}
	refs := map[string][]*storageRef{}
	persist := func(pid any) (any, error) {
		t, ok := pid.(pyTuple)
		if !ok || len(t) < 5 || t[0] != "storage" {
			return nil, fmt.Errorf("unexpected persistent id %s", repr(pid))
		}
		ref, err := storageOf(t[1], t[2], t[4])
		if err != nil {
			return nil, err
		}
		if len(t) > 5 {
			if view, ok := t[5].(pyTuple); ok && len(view) == 3 {
				off, _ := view[1].(int64)
				size, _ := view[2].(int64)
				ref = &storageRef{dtype: ref.dtype, key: ref.key, numel: size, viewOffset: off}
			}
		}
		refs[ref.key] = append(refs[ref.key], ref)
		return ref, nil
	}
	top, pos, err := unpickle(b, pos, persist)
	if err != nil {
		return nil, err
	}
	keysV, pos, err := unpickle(b, pos, nil)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, fmt.Errorf("legacy checkpoint: no storage key list")
	}
	for _, k := range keys.items {
		key, _ := k.(string)
		if pos+8 > len(b) {
			return nil, fmt.Errorf("storage %s: truncated file", key)
		}
		n := int64(binary.LittleEndian.Uint64(b[pos:]))
		pos += 8
		rs := refs[key]
		if len(rs) == 0 {
			return nil, fmt.Errorf("storage %s is not referenced", key)
		}
		es := dtypeSize(rs[0].dtype)
		if n < 0 || n > int64(len(b)-pos)/es {
			return nil, fmt.Errorf("storage %s: truncated file", key)
		}
		size := n * es
		sd.storages[key] = b[pos : pos+int(size)]
		pos += int(size)
	}
	return top, nil
}

// check verifies that a tensor's elements lie inside its storage.
func (sd *StateDict) check(name string, t *tensorRef) error {
	raw, ok := sd.storages[t.storage.key]
	if !ok {
		return fmt.Errorf("%s: storage %s missing", name, t.storage.key)
	}
	avail := int64(len(raw)) / dtypeSize(t.storage.dtype)
	for i, d := range t.size {
		if d < 0 || t.stride[i] < 0 {
			return fmt.Errorf("%s: negative size or stride", name)
		}
	}
	n, ok := checkedNumel(t.size)
	if ok && n == 0 {
		return nil
	}
	// Tensor reads every element from the storage, so a shape with more
	// elements than the storage (zero strides) is refused as well.
	if !ok || n > avail {
		return fmt.Errorf("%s: shape %v has more elements than its %d-element storage", name, t.size, avail)
	}
	// The last element, computed without overflow: every step is checked
	// against the room left in the storage.
	last, off := t.storage.viewOffset, t.offset
	if last < 0 || off < 0 || last >= avail || off >= avail-last {
		return fmt.Errorf("%s: offset %d (view offset %d) lies outside its %d-element storage (truncated file?)", name, off, last, avail)
	}
	last += off
	for i, d := range t.size {
		if d > 1 && t.stride[i] > (avail-1-last)/(d-1) {
			return fmt.Errorf("%s: shape %v with strides %v reaches past its %d-element storage (truncated file?)", name, t.size, t.stride, avail)
		}
		last += (d - 1) * t.stride[i]
	}
	return nil
}

// Names lists the tensors in the file's order.
func (sd *StateDict) Names() []string { return append([]string{}, sd.names...) }

// Shape is a tensor's shape, or nil if absent.
func (sd *StateDict) Shape(name string) []int64 {
	t, ok := sd.tensors[name]
	if !ok {
		return nil
	}
	return append([]int64{}, t.size...)
}

// DType is a tensor's element type as PyTorch names it ("float32", …).
func (sd *StateDict) DType(name string) string {
	if t, ok := sd.tensors[name]; ok {
		return t.storage.dtype
	}
	return ""
}

// ErrNoTensor is returned by Tensor for absent names.
var ErrNoTensor = errors.New("no such tensor")

// Tensor decodes one entry into a new contiguous CPU tensor the caller
// owns: floating-point types as float32, integers and bools as int64.
func (sd *StateDict) Tensor(name string) (*torch.Tensor, error) {
	t, ok := sd.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: %s: %w", sd.Path, name, ErrNoTensor)
	}
	raw := sd.storages[t.storage.key]
	dt := t.storage.dtype
	es := dtypeSize(dt)
	n := numel(t.size)
	// Walk the elements in row-major order through the strides.
	idx := make([]int64, n)
	pos := make([]int64, len(t.size))
	for k := int64(0); k < n; k++ {
		off := t.storage.viewOffset + t.offset
		for i := range pos {
			off += pos[i] * t.stride[i]
		}
		idx[k] = off
		for i := len(pos) - 1; i >= 0; i-- {
			pos[i]++
			if pos[i] < t.size[i] {
				break
			}
			pos[i] = 0
		}
	}
	le := binary.LittleEndian
	switch dt {
	case "float32", "float64", "float16", "bfloat16":
		out := make([]float32, n)
		for k, i := range idx {
			p := raw[i*es:]
			switch dt {
			case "float32":
				out[k] = math.Float32frombits(le.Uint32(p))
			case "float64":
				out[k] = float32(math.Float64frombits(le.Uint64(p)))
			default:
				out[k] = float32(halfToFloat(le.Uint16(p), dt == "bfloat16"))
			}
		}
		return torch.FromFloat32(out, t.size...), nil
	}
	out := make([]int64, n)
	for k, i := range idx {
		p := raw[i*es:]
		switch dt {
		case "int64":
			out[k] = int64(le.Uint64(p))
		case "int32":
			out[k] = int64(int32(le.Uint32(p)))
		case "int16":
			out[k] = int64(int16(le.Uint16(p)))
		case "int8":
			out[k] = int64(int8(p[0]))
		default:
			out[k] = int64(p[0])
		}
	}
	return torch.FromInt64(out, t.size...), nil
}
