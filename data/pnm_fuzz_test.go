package data

import (
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzLoadPNM feeds PGM/PPM files (P2, P3, P5, P6) to LoadImage. Inputs
// that are not Netpbm are skipped: PNG, JPEG and BMP are decoded by the
// standard library and x/image.
func FuzzLoadPNM(f *testing.F) {
	for _, s := range []string{
		"P2\n2 1\n4\n0 4\n",
		"P2 # a comment\n# another\n2 1 # dims\n255\n0\n255",
		"P3\n1 2\n255\n255 0 0\n0 0 255\n",
		"P5\n2 2\n255\n\x00\x80\xff\x40",
		"P6 2 1 255\n\xff\x00\x00\x00\xff\x00",
		"P5\n2 1\n65535\n\xff\xff\x80\x00",
		"P6\n1 1\n1023\n\x03\xff\x00\x00\x01\xff",
		// Regressions: forged sizes with no pixels were allocated.
		"P6\n2048 2048\n255\n",
		"P3\n2048 2048\n255\n1 2 3",
	} {
		f.Add([]byte(s))
	}
	m := image.Image(gradient(5, 3))
	f.Add(encode(f, "ppm", m))
	f.Add(encode(f, "pgm", m))

	path := filepath.Join(f.TempDir(), "image.ppm")
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 || b[0] != 'P' {
			return
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			im, err := LoadImage(path)
			fuzzcheck.ErrNames(t, err, path)
			if err != nil {
				return
			}
			if im.C != 1 && im.C != 3 || im.H <= 0 || im.W <= 0 || len(im.Pix) != im.C*im.H*im.W {
				t.Fatalf("image %dx%dx%d with %d values", im.C, im.H, im.W, len(im.Pix))
			}
			for i, v := range im.Pix {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("value %d is %v, outside [0,1]", i, v)
				}
			}
		})
	})
}
