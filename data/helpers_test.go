package data

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
)

// gradient is a w×h test picture whose pixels differ by position and channel.
func gradient(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), 128, 255})
		}
	}
	return m
}

// encode writes m in the format named by ext (png, jpg, bmp, ppm, pgm).
func encode(t testing.TB, ext string, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch strings.ToLower(ext) {
	case "png":
		err = png.Encode(&buf, m)
	case "jpg", "jpeg":
		err = jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95})
	case "bmp":
		err = bmp.Encode(&buf, m)
	case "ppm", "pgm":
		b := m.Bounds()
		grey := strings.ToLower(ext) == "pgm"
		magic := "P6"
		if grey {
			magic = "P5"
		}
		fmt.Fprintf(&buf, "%s\n%d %d\n255\n", magic, b.Dx(), b.Dy())
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				n := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
				if grey {
					buf.WriteByte(color.GrayModel.Convert(n).(color.Gray).Y)
				} else {
					buf.Write([]byte{n.R, n.G, n.B})
				}
			}
		}
	default:
		t.Fatalf("encode: unknown format %q", ext)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeFile creates path (and its folders) holding b.
func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeImage writes a small gradient image at path in the format of its
// extension.
func writeImage(t testing.TB, path string, w, h int) {
	t.Helper()
	ext := filepath.Ext(path)[1:]
	writeFile(t, path, encode(t, ext, gradient(w, h)))
}

// patterned is a c×h×w image with distinct pixel values.
func patterned(c, h, w int) *Image {
	im := NewImage(c, h, w)
	for i := range im.Pix {
		im.Pix[i] = float32(i%97) / 96
	}
	return im
}

func near(a, b, tol float32) bool { return a-b <= tol && b-a <= tol }
