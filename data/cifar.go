package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// CIFAR-10 binary records are one label byte followed by a 32×32 image stored
// as three 1024-byte planes (R, G, B): already our CHW layout.
const (
	cifarSide   = 32
	cifarPixels = 3 * cifarSide * cifarSide
	cifarRecord = 1 + cifarPixels
)

// CIFAR10Classes are the CIFAR-10 class names, used when batches.meta.txt is
// absent.
var CIFAR10Classes = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

const cifarFix = "download cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html and pass the extracted cifar-10-batches-bin folder"

// CIFAR is CIFAR-10 from its binary batches, held in memory (150 MB for the
// training set, the size of the files).
type CIFAR struct {
	records []byte
	files   []cifarFile
	classes []string
}

type cifarFile struct {
	name  string
	first int // index of its first record
}

// OpenCIFAR10 reads data_batch_1.bin… (train) or test_batch.bin from dir, or
// from dir/cifar-10-batches-bin if that exists. Class names come from
// batches.meta.txt when present.
func OpenCIFAR10(dir string, train bool) (*CIFAR, error) {
	if st, err := os.Stat(filepath.Join(dir, "cifar-10-batches-bin")); err == nil && st.IsDir() {
		dir = filepath.Join(dir, "cifar-10-batches-bin")
	}
	var names []string
	if train {
		// Batches are numbered 1..5; any prefix is accepted so that a
		// subset of the batches can be used on purpose.
		for i := 1; ; i++ {
			name := fmt.Sprintf("data_batch_%d.bin", i)
			if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
				break
			}
			names = append(names, name)
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no CIFAR-10 training batches (data_batch_1.bin…) in %s; %s", dir, cifarFix)
		}
	} else {
		names = []string{"test_batch.bin"}
	}
	classes, err := cifarClasses(dir)
	if err != nil {
		return nil, err
	}
	d := &CIFAR{classes: classes}
	for _, name := range names {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("CIFAR-10 batch %s not found; %s", path, cifarFix)
		}
		if err != nil {
			return nil, fmt.Errorf("read CIFAR-10 batch: %w", err)
		}
		if len(b) == 0 || len(b)%cifarRecord != 0 {
			return nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-byte CIFAR-10 records; the file is truncated or not CIFAR-10 binary, download it again",
				path, len(b), cifarRecord)
		}
		for r := 0; r < len(b); r += cifarRecord {
			if l := int(b[r]); l >= len(classes) {
				return nil, fmt.Errorf("%s: record %d has label %d but there are %d classes; this is not a CIFAR-10 binary batch", path, r/cifarRecord, l, len(classes))
			}
		}
		d.files = append(d.files, cifarFile{name: name, first: len(d.records) / cifarRecord})
		if d.records == nil {
			d.records = b
		} else {
			d.records = append(d.records, b...)
		}
	}
	return d, nil
}

func cifarClasses(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "batches.meta.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		return CIFAR10Classes, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read CIFAR-10 class names: %w", err)
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if len(names) < 2 {
		return nil, fmt.Errorf("%s lists %d class names, want one per line; fix or delete it", filepath.Join(dir, "batches.meta.txt"), len(names))
	}
	return names, nil
}

func (d *CIFAR) Len() int          { return len(d.records) / cifarRecord }
func (d *CIFAR) Classes() []string { return d.classes }
func (d *CIFAR) Label(i int) int   { return int(d.records[i*cifarRecord]) }

// Source names the batch file and the record within it.
func (d *CIFAR) Source(i int) string {
	f := d.files[0]
	for _, g := range d.files[1:] {
		if g.first > i {
			break
		}
		f = g
	}
	return f.name + "#" + strconv.Itoa(i-f.first)
}

// Image returns sample i as a 3×32×32 image.
func (d *CIFAR) Image(i int) (*Image, error) {
	im := NewImage(3, cifarSide, cifarSide)
	src := d.records[i*cifarRecord+1 : (i+1)*cifarRecord]
	for j, v := range src {
		im.Pix[j] = float32(v) / 255
	}
	return im, nil
}
