package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarBatch builds n records; record r has label r%nc and every byte of
// channel c equal to 10*r+c.
func cifarBatch(n, nc int) []byte {
	var b []byte
	for r := 0; r < n; r++ {
		b = append(b, byte(r%nc))
		for c := 0; c < 3; c++ {
			for range 1024 {
				b = append(b, byte(10*r+c))
			}
		}
	}
	return b
}

func TestOpenCIFAR10(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "cifar-10-batches-bin")
	writeFile(t, filepath.Join(sub, "data_batch_1.bin"), cifarBatch(3, 10))
	writeFile(t, filepath.Join(sub, "data_batch_2.bin"), cifarBatch(2, 10))
	writeFile(t, filepath.Join(sub, "data_batch_4.bin"), cifarBatch(2, 10)) // after a gap: not read
	writeFile(t, filepath.Join(sub, "test_batch.bin"), cifarBatch(4, 10))

	train, err := OpenCIFAR10(dir, true) // the parent folder is accepted
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 5 || !slices.Equal(train.Classes(), CIFAR10Classes) {
		t.Fatalf("len %d, classes %q", train.Len(), train.Classes())
	}
	if got := train.Source(4); got != "data_batch_2.bin#1" {
		t.Errorf("Source(4) = %q", got)
	}
	if got := train.Label(4); got != 1 {
		t.Errorf("Label(4) = %d, want 1", got)
	}
	im, _ := train.Image(3) // first record of batch 2
	if im.C != 3 || im.H != 32 || im.W != 32 || im.At(0, 5, 5) != 0 || im.At(2, 31, 31) != 2.0/255 {
		t.Errorf("image: %dx%dx%d, R %v, B %v", im.C, im.H, im.W, im.At(0, 5, 5), im.At(2, 31, 31))
	}

	writeFile(t, filepath.Join(sub, "batches.meta.txt"), []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	test, err := OpenCIFAR10(sub, false)
	if err != nil {
		t.Fatal(err)
	}
	if test.Len() != 4 || test.Classes()[9] != "j" || len(test.Classes()) != 10 {
		t.Errorf("test: len %d, classes %q", test.Len(), test.Classes())
	}
}

func TestOpenCIFAR10Errors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
		train bool
		wants []string
	}{
		{"no training batches", map[string][]byte{"test_batch.bin": cifarBatch(1, 10)}, true,
			[]string{"no CIFAR-10 training batches", "cifar-10-binary.tar.gz"}},
		{"no test batch", map[string][]byte{}, false, []string{"test_batch.bin not found"}},
		{"truncated", map[string][]byte{"test_batch.bin": cifarBatch(2, 10)[:5000]}, false,
			[]string{"test_batch.bin", "5000 bytes", "3073-byte", "download it again"}},
		{"bad label", map[string][]byte{"test_batch.bin": cifarBatch(1, 10), "batches.meta.txt": []byte("x\n")}, false,
			[]string{"batches.meta.txt", "1 class names"}},
		{"label beyond names", map[string][]byte{"test_batch.bin": cifarBatch(3, 10), "batches.meta.txt": []byte("x\ny\n")}, false,
			[]string{"record 2 has label 2", "2 classes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tt.files {
				writeFile(t, filepath.Join(dir, name), b)
			}
			_, err := OpenCIFAR10(dir, tt.train)
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
}
