package data

import (
	"image"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadImageFormats(t *testing.T) {
	dir := t.TempDir()
	src := gradient(5, 4)
	tests := []struct {
		ext string
		c   int
		tol float32
	}{
		{"png", 3, 0},
		{"bmp", 3, 0},
		{"ppm", 3, 0},
		{"pgm", 1, 0},
		{"jpg", 3, 0.2}, // lossy, and chroma is subsampled
	}
	for _, tt := range tests {
		t.Run(tt.ext, func(t *testing.T) {
			path := filepath.Join(dir, "a."+tt.ext)
			writeFile(t, path, encode(t, tt.ext, src))
			im, err := LoadImage(path)
			if err != nil {
				t.Fatal(err)
			}
			if im.C != tt.c || im.H != 4 || im.W != 5 {
				t.Fatalf("shape %dx%dx%d, want %dx4x5", im.C, im.H, im.W, tt.c)
			}
			if tt.c == 1 {
				return
			}
			for y := 0; y < 4; y++ {
				for x := 0; x < 5; x++ {
					p := src.NRGBAAt(x, y)
					for c, v := range []uint8{p.R, p.G, p.B} {
						if got := im.At(c, y, x); !near(got, float32(v)/255, tt.tol+1e-6) {
							t.Fatalf("(%d,%d,%d) = %v, want %v", c, y, x, got, float32(v)/255)
						}
					}
				}
			}
		})
	}
}

func TestLoadImageErrors(t *testing.T) {
	dir := t.TempDir()
	png := encode(t, "png", gradient(8, 8))
	jpg := encode(t, "jpg", gradient(8, 8))
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"text", []byte("hello"), "unknown image format"},
		{"empty", nil, "unknown image format"},
		{"truncated png", png[:len(png)/2], "png"},
		{"truncated jpeg", jpg[:len(jpg)/2], "EOF"},
		{"png header only", png[:20], "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			writeFile(t, path, tt.data)
			_, err := LoadImage(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("err = %v, want it to name %s and contain %q", err, path, tt.want)
			}
		})
	}
	if _, err := LoadImage(filepath.Join(dir, "missing.png")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestFromImage(t *testing.T) {
	rect := image.Rect(0, 0, 2, 1)
	rgba := image.NewRGBA(rect)
	rgba.SetRGBA(0, 0, color.RGBA{64, 32, 0, 128}) // premultiplied: straight 128, 64, 0
	pal := image.NewPaletted(rect, color.Palette{color.Black, color.RGBA{0, 255, 0, 255}})
	pal.SetColorIndex(1, 0, 1)
	g16 := image.NewGray16(rect)
	g16.SetGray16(1, 0, color.Gray16{Y: 65535})
	cmyk := image.NewCMYK(rect) // no fast path
	cmyk.SetCMYK(0, 0, color.CMYK{C: 255})
	ycc := image.NewYCbCr(rect, image.YCbCrSubsampleRatio444)
	ycc.Y[1] = 255
	ycc.Cb[0], ycc.Cr[0], ycc.Cb[1], ycc.Cr[1] = 128, 128, 128, 128
	tests := []struct {
		name string
		m    image.Image
		c    int
		want []float32
	}{
		{"rgba unpremultiplied", rgba, 3, []float32{128.0 / 255, 0, 64.0 / 255, 0, 0, 0}},
		{"paletted", pal, 3, []float32{0, 0, 0, 1, 0, 0}},
		{"gray16", g16, 1, []float32{0, 1}},
		{"cmyk generic", cmyk, 3, []float32{0, 1, 1, 1, 1, 1}},
		{"ycbcr", ycc, 3, []float32{0, 1, 0, 1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := FromImage(tt.m)
			if im.C != tt.c || im.H != 1 || im.W != 2 {
				t.Fatalf("shape %dx%dx%d", im.C, im.H, im.W)
			}
			for i, w := range tt.want {
				if !near(im.Pix[i], w, 0.01) {
					t.Errorf("pix %v, want %v", im.Pix, tt.want)
					break
				}
			}
		})
	}
}

func TestToImageRoundTrip(t *testing.T) {
	for _, c := range []int{1, 3} {
		im := NewImage(c, 3, 4)
		for i := range im.Pix {
			im.Pix[i] = float32(i*7%256) / 255
		}
		m, err := im.ToImage()
		if err != nil {
			t.Fatal(err)
		}
		back := FromImage(m)
		for i := range im.Pix {
			if !near(back.Pix[i], im.Pix[i], 1e-6) {
				t.Fatalf("c=%d: pix[%d] = %v, want %v", c, i, back.Pix[i], im.Pix[i])
			}
		}
	}
	if _, err := NewImage(2, 1, 1).ToImage(); err == nil {
		t.Error("2 channels: no error")
	}
}

func TestCrop(t *testing.T) {
	im := patterned(2, 4, 5)
	tests := []struct {
		name           string
		x0, y0, x1, y1 int
		h, w           int
		err            bool
	}{
		{"inside", 1, 1, 3, 4, 3, 2, false},
		{"clamped", -2, -1, 9, 2, 2, 5, false},
		{"empty", 3, 1, 3, 2, 0, 0, true},
		{"outside", 6, 0, 8, 2, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := im.Crop(tt.x0, tt.y0, tt.x1, tt.y1)
			if tt.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.C != 2 || out.H != tt.h || out.W != tt.w {
				t.Fatalf("shape %dx%dx%d, want 2x%dx%d", out.C, out.H, out.W, tt.h, tt.w)
			}
			x0, y0 := max(tt.x0, 0), max(tt.y0, 0)
			if got, want := out.At(1, out.H-1, out.W-1), im.At(1, y0+out.H-1, x0+out.W-1); got != want {
				t.Errorf("corner = %v, want %v", got, want)
			}
		})
	}
}
