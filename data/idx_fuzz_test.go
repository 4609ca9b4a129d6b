package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzOpenIDX feeds an images file and a labels file to OpenIDX.
func FuzzOpenIDX(f *testing.F) {
	pix := make([]byte, 3*2*3)
	for i := range pix {
		pix[i] = byte(i * 15)
	}
	img, lab := idxBytes([]int{3, 2, 3}, pix), idxBytes([]int{3}, []byte{2, 0, 1})
	f.Add(img, lab)
	f.Add(gz(img), gz(lab))
	f.Add(idxBytes([]int{1, 1, 1}, []byte{7}), idxBytes([]int{1}, []byte{9}))
	f.Add(idxBytes([]int{1 << 20, 1 << 20, 1 << 20}, nil), idxBytes([]int{1 << 30}, nil)) // forged sizes
	f.Add(lab, img)                                                                       // swapped
	f.Add([]byte{}, []byte{0x1f, 0x8b})

	dir := f.TempDir()
	ip, lp := filepath.Join(dir, "images-idx3-ubyte"), filepath.Join(dir, "labels-idx1-ubyte")
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		if err := os.WriteFile(ip, images, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(lp, labels, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(images)+len(labels), func() {
			d, err := OpenIDX(ip, lp, nil)
			fuzzcheck.ErrNames(t, err, ip, lp)
			if err != nil {
				return
			}
			for _, i := range []int{0, d.Len() - 1} {
				if l := d.Label(i); l < 0 || l >= len(d.Classes()) {
					t.Fatalf("label %d of %d classes", l, len(d.Classes()))
				}
				im, err := d.Image(i)
				if err != nil || len(im.Pix) != im.H*im.W || im.C != 1 {
					t.Fatalf("image %d: %v", i, err)
				}
			}
		})
	})
}
