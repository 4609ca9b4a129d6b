package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// idxBytes builds an unsigned-byte IDX file.
func idxBytes(dims []int, data []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 8, byte(len(dims))})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, uint32(d))
	}
	b.Write(data)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// idxPair writes 3 images of 2×3 and their labels into dir.
func idxPair(t *testing.T, dir, prefix string, zip bool) (string, string) {
	pix := make([]byte, 3*2*3)
	for i := range pix {
		pix[i] = byte(i * 15)
	}
	img, lab := idxBytes([]int{3, 2, 3}, pix), idxBytes([]int{3}, []byte{2, 0, 1})
	ip, lp := filepath.Join(dir, prefix+"-images-idx3-ubyte"), filepath.Join(dir, prefix+"-labels-idx1-ubyte")
	if zip {
		img, lab, ip, lp = gz(img), gz(lab), ip+".gz", lp+".gz"
	}
	writeFile(t, ip, img)
	writeFile(t, lp, lab)
	return ip, lp
}

func TestOpenIDX(t *testing.T) {
	for _, zip := range []bool{false, true} {
		dir := t.TempDir()
		ip, lp := idxPair(t, dir, "train", zip)
		d, err := OpenIDX(ip, lp, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d.Len() != 3 || len(d.Classes()) != 3 || d.Label(0) != 2 {
			t.Fatalf("len %d, classes %q, label0 %d", d.Len(), d.Classes(), d.Label(0))
		}
		im, _ := d.Image(1)
		if im.C != 1 || im.H != 2 || im.W != 3 || im.Pix[0] != float32(6*15)/255 {
			t.Errorf("image 1: %dx%dx%d, pix0 %v", im.C, im.H, im.W, im.Pix[0])
		}
		if !strings.HasSuffix(d.Source(2), "-ubyte"+map[bool]string{true: ".gz"}[zip]+"#2") {
			t.Errorf("source %q", d.Source(2))
		}
		fm, err := FashionMNIST(dir, true)
		if err != nil {
			t.Fatal(err)
		}
		if fm.Classes()[0] != "T-shirt/top" || fm.Len() != 3 {
			t.Errorf("FashionMNIST: classes %q, len %d", fm.Classes(), fm.Len())
		}
	}
}

func TestOpenIDXErrors(t *testing.T) {
	pix := make([]byte, 12)
	good := idxBytes([]int{2, 2, 3}, pix)
	labels := idxBytes([]int{2}, []byte{0, 1})
	tests := []struct {
		name           string
		images, labels []byte
		classes        []string
		wants          []string
	}{
		{"swapped", labels, good, nil, []string{"images.idx", "not an IDX images file", "magic 0x00000801", "swapped"}},
		{"not idx", []byte("hello world!"), labels, nil, []string{"images.idx", "not an IDX images file"}},
		{"short", []byte{0, 0}, labels, nil, []string{"too short"}},
		{"truncated", good[:len(good)-1], labels, nil, []string{"images.idx", "truncated", "[2 2 3]", "download it again"}},
		{"too long", append(good, 0), labels, nil, []string{"longer than its header"}},
		{"truncated header", good[:10], labels, nil, []string{"truncated IDX header"}},
		{"count mismatch", good, idxBytes([]int{3}, []byte{0, 1, 1}), nil, []string{"2 images", "3 labels"}},
		{"label out of range", good, idxBytes([]int{2}, []byte{0, 5}), []string{"a", "b"}, []string{"label 5", "2 classes"}},
		{"bad gzip", append([]byte{0x1f, 0x8b}, "rubbish"...), labels, nil, []string{"gunzip", "download it again"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			ip, lp := filepath.Join(dir, "images.idx"), filepath.Join(dir, "labels.idx")
			writeFile(t, ip, tt.images)
			writeFile(t, lp, tt.labels)
			_, err := OpenIDX(ip, lp, tt.classes)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	t.Run("missing files", func(t *testing.T) {
		_, err := FashionMNIST(t.TempDir(), false)
		if err == nil || !strings.Contains(err.Error(), "t10k-images-idx3-ubyte not found") || !strings.Contains(err.Error(), "dataset-fashion-mnist") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestFashionMNISTInstalled reads the real test split when the
// dataset-fashion-mnist package is installed.
func TestFashionMNISTInstalled(t *testing.T) {
	if _, err := os.Stat(filepath.Join(DefaultFashionMNISTDir, "t10k-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST not installed:", err)
	}
	d, err := FashionMNIST("", false)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 10000 {
		t.Errorf("len %d, want 10000", d.Len())
	}
	counts := ClassCounts(d)
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("class %s has %d samples, want 1000", d.Classes()[c], n)
		}
	}
	im, _ := d.Image(0)
	if im.C != 1 || im.H != 28 || im.W != 28 {
		t.Errorf("image shape %dx%dx%d", im.C, im.H, im.W)
	}
}
