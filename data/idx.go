package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// DefaultFashionMNISTDir is where the dataset-fashion-mnist package installs
// the files.
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// FashionMNISTClasses are the Fashion-MNIST class names in label order.
var FashionMNISTClasses = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

// IDX is an images+labels pair of IDX files (MNIST, Fashion-MNIST), held in
// memory as bytes: 60,000 28×28 images are 47 MB, far less than as floats.
type IDX struct {
	name    string // base name of the images file, for Source
	pix     []byte
	labels  []byte
	h, w    int
	classes []string
}

// OpenIDX reads an IDX images file (magic 0x00000803, unsigned bytes, N×H×W)
// and its labels file (magic 0x00000801, N), either of them gzipped or not.
// With nil classes the class names are "0".."max label".
func OpenIDX(imagesPath, labelsPath string, classes []string) (*IDX, error) {
	img, err := readIDX(imagesPath, 3)
	if err != nil {
		return nil, err
	}
	lab, err := readIDX(labelsPath, 1)
	if err != nil {
		return nil, err
	}
	n := img.dims[0]
	if lab.dims[0] != n {
		return nil, fmt.Errorf("%s has %d images but %s has %d labels; pass the labels file that belongs to the images file",
			imagesPath, n, labelsPath, lab.dims[0])
	}
	top := -1
	for _, l := range lab.data {
		top = max(top, int(l))
	}
	if classes == nil {
		for i := 0; i <= top; i++ {
			classes = append(classes, strconv.Itoa(i))
		}
	}
	if top >= len(classes) {
		return nil, fmt.Errorf("%s has label %d but only %d classes were given; pass the matching class names", labelsPath, top, len(classes))
	}
	return &IDX{
		name:    filepath.Base(imagesPath),
		pix:     img.data,
		labels:  lab.data,
		h:       img.dims[1],
		w:       img.dims[2],
		classes: classes,
	}, nil
}

// FashionMNIST opens the training (60,000) or test (10,000) split from dir,
// which defaults to DefaultFashionMNISTDir. Files may be gzipped or not.
func FashionMNIST(dir string, train bool) (*IDX, error) {
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	return openIDXPair(dir, train, FashionMNISTClasses, "install the dataset-fashion-mnist package or pass the folder holding the files")
}

// MNIST opens the MNIST digits from dir, laid out like FashionMNIST.
func MNIST(dir string, train bool) (*IDX, error) {
	digits := []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	return openIDXPair(dir, train, digits, "pass the folder holding the MNIST files")
}

func openIDXPair(dir string, train bool, classes []string, fix string) (*IDX, error) {
	prefix := "t10k"
	if train {
		prefix = "train"
	}
	find := func(base string) (string, error) {
		for _, name := range []string{base + ".gz", base} {
			p := filepath.Join(dir, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("%s not found in %s (plain or .gz); %s", base, dir, fix)
	}
	ip, err := find(prefix + "-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	lp, err := find(prefix + "-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	return OpenIDX(ip, lp, classes)
}

type idxFile struct {
	dims []int
	data []byte
}

// readIDX loads an unsigned-byte IDX file with ndim dimensions and checks
// that its size matches the header exactly.
func readIDX(path string, ndim int) (*idxFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("IDX file %s not found; check the path", path)
		}
		return nil, fmt.Errorf("read IDX: %w", err)
	}
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		raw, err = gunzip(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: gunzip: %v; the file is damaged, download it again", path, err)
		}
	}
	kind := "images"
	if ndim == 1 {
		kind = "labels"
	}
	want := uint32(0x0800 | ndim)
	if len(raw) < 4 || binary.BigEndian.Uint32(raw) != want {
		got := "too short"
		if len(raw) >= 4 {
			got = fmt.Sprintf("magic %#08x", binary.BigEndian.Uint32(raw))
		}
		return nil, fmt.Errorf("%s is not an IDX %s file (%s, want magic %#08x); check that images and labels are not swapped", path, kind, got, want)
	}
	head := 4 + 4*ndim
	if len(raw) < head {
		return nil, fmt.Errorf("%s: truncated IDX header; the file is damaged, download it again", path)
	}
	f := &idxFile{dims: make([]int, ndim)}
	size := 1
	for i := range f.dims {
		d := int(binary.BigEndian.Uint32(raw[4+4*i:]))
		if d <= 0 || d > 1<<28 {
			return nil, fmt.Errorf("%s: IDX dimension %d is %d; the file is damaged", path, i, d)
		}
		f.dims[i] = d
		size *= d
		if size > 1<<34 {
			return nil, fmt.Errorf("%s: IDX header describes an impossibly large array; the file is damaged", path)
		}
	}
	if got := len(raw) - head; got != size {
		what := "truncated"
		if got > size {
			what = "longer than its header says"
		}
		return nil, fmt.Errorf("%s: %s: header gives %v (%d bytes) but the file has %d; download it again", path, what, f.dims, size, got)
	}
	f.data = raw[head:]
	return f, nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out bytes.Buffer
	// The gzip trailer records the uncompressed size (mod 2^32); sizing the
	// buffer from it avoids repeated growth on 47 MB files.
	if len(b) >= 8 {
		if n := int(binary.LittleEndian.Uint32(b[len(b)-4:])); n < 1<<30 && n < 1000*len(b) {
			out.Grow(n)
		}
	}
	if _, err := io.Copy(&out, zr); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func (d *IDX) Len() int          { return len(d.labels) }
func (d *IDX) Classes() []string { return d.classes }
func (d *IDX) Label(i int) int   { return int(d.labels[i]) }
func (d *IDX) Source(i int) string {
	return d.name + "#" + strconv.Itoa(i)
}

// Image returns sample i as a 1×H×W image.
func (d *IDX) Image(i int) (*Image, error) {
	hw := d.h * d.w
	im := NewImage(1, d.h, d.w)
	for j, v := range d.pix[i*hw : (i+1)*hw] {
		im.Pix[j] = float32(v) / 255
	}
	return im, nil
}
