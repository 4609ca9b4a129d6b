package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzOpenCIFAR10 feeds a test batch and, when meta is not empty, a
// batches.meta.txt to OpenCIFAR10.
func FuzzOpenCIFAR10(f *testing.F) {
	f.Add(cifarBatch(2, 10), []byte{})
	f.Add(cifarBatch(3, 3), []byte("a\nb\nc\n"))
	f.Add(cifarBatch(1, 10), []byte("only one\n"))
	f.Add(cifarBatch(1, 10)[:100], []byte{})

	dir := f.TempDir()
	batch, meta := filepath.Join(dir, "test_batch.bin"), filepath.Join(dir, "batches.meta.txt")
	f.Fuzz(func(t *testing.T, b, m []byte) {
		if err := os.WriteFile(batch, b, 0o644); err != nil {
			t.Fatal(err)
		}
		os.Remove(meta)
		if len(m) > 0 {
			if err := os.WriteFile(meta, m, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		fuzzcheck.Alloc(t, len(b)+len(m), func() {
			d, err := OpenCIFAR10(dir, false)
			fuzzcheck.ErrNames(t, err, dir)
			if err != nil {
				return
			}
			for _, i := range []int{0, d.Len() - 1} {
				if l := d.Label(i); l < 0 || l >= len(d.Classes()) {
					t.Fatalf("label %d of %d classes", l, len(d.Classes()))
				}
				if im, err := d.Image(i); err != nil || im.C != 3 || im.H != 32 || im.W != 32 {
					t.Fatalf("image %d: %v", i, err)
				}
				_ = d.Source(i)
			}
		})
	})
}
