package data

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"

	"golang.org/x/image/bmp"
)

// maxPixels bounds the size a decoder will allocate for one image, so a
// corrupt header fails with an error instead of exhausting memory.
const maxPixels = 1 << 28

// errUnknownFormat is returned for files that are none of the supported
// formats; the message lists what is supported.
var errUnknownFormat = errors.New("unknown image format; want PNG, JPEG, PPM/PGM or BMP")

// LoadImage reads and decodes one image file (PNG, JPEG, PPM/PGM or BMP,
// recognised by content, not extension). Grey images have one channel,
// everything else three; alpha is dropped.
func LoadImage(path string) (*Image, error) {
	im, err := readImage(path)
	if err != nil {
		return nil, fmt.Errorf("load image %s: %w", path, err)
	}
	return im, nil
}

// readImage is LoadImage with errors that do not repeat the path, for
// callers that wrap them in an ErrSample naming it.
func readImage(path string) (*Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %w", pe.Op, pe.Err)
		}
		return nil, err
	}
	return decodeBytes(b)
}

// DecodeImage decodes one image from r; see LoadImage for the formats.
func DecodeImage(r io.Reader) (*Image, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return decodeBytes(b)
}

func decodeBytes(b []byte) (*Image, error) {
	var decode func(io.Reader) (image.Image, error)
	var decodeConfig func(io.Reader) (image.Config, error)
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		decode, decodeConfig = png.Decode, png.DecodeConfig
	case bytes.HasPrefix(b, []byte{0xff, 0xd8}):
		decode, decodeConfig = jpeg.Decode, jpeg.DecodeConfig
	case bytes.HasPrefix(b, []byte("BM")):
		decode, decodeConfig = bmp.Decode, bmp.DecodeConfig
	case len(b) >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7':
		return decodePNM(b)
	default:
		return nil, errUnknownFormat
	}
	// Reading the header first rejects absurd sizes before the decoder
	// allocates for them.
	cfg, err := decodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxPixels {
		return nil, fmt.Errorf("image size %dx%d is empty or too large", cfg.Width, cfg.Height)
	}
	m, err := decode(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return FromImage(m), nil
}

// FromImage converts a standard library image to CHW float32 in [0,1]. The
// common decoder outputs (grey, YCbCr, RGBA, NRGBA, paletted) take fast
// paths; anything else goes through the colour model, which is slower but
// exact.
func FromImage(m image.Image) *Image {
	b := m.Bounds()
	h, w := b.Dy(), b.Dx()
	switch m := m.(type) {
	case *image.Gray:
		out := NewImage(1, h, w)
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			dst := out.Pix[y*w : (y+1)*w]
			for x, v := range row {
				dst[x] = float32(v) / 255
			}
		}
		return out
	case *image.Gray16:
		out := NewImage(1, h, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*m.Stride + 2*x
				out.Pix[y*w+x] = float32(uint16(m.Pix[i])<<8|uint16(m.Pix[i+1])) / 65535
			}
		}
		return out
	case *image.YCbCr:
		out := NewImage(3, h, w)
		r, g, bl := out.Pix[:h*w], out.Pix[h*w:2*h*w], out.Pix[2*h*w:]
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				r[y*w+x], g[y*w+x], bl[y*w+x] = float32(cr)/255, float32(cg)/255, float32(cb)/255
			}
		}
		return out
	case *image.NRGBA:
		out := NewImage(3, h, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*m.Stride + 4*x
				for c := 0; c < 3; c++ {
					out.Pix[(c*h+y)*w+x] = float32(m.Pix[i+c]) / 255
				}
			}
		}
		return out
	case *image.RGBA:
		out := NewImage(3, h, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				i := y*m.Stride + 4*x
				a := float32(m.Pix[i+3])
				for c := 0; c < 3; c++ {
					v := float32(0)
					if a > 0 {
						v = min(float32(m.Pix[i+c])/a, 1) // undo premultiplication
					}
					out.Pix[(c*h+y)*w+x] = v
				}
			}
		}
		return out
	case *image.Paletted:
		pal := make([][3]float32, len(m.Palette))
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			pal[i] = [3]float32{float32(n.R) / 255, float32(n.G) / 255, float32(n.B) / 255}
		}
		out := NewImage(3, h, w)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				idx := int(m.Pix[y*m.Stride+x])
				var p [3]float32
				if idx < len(pal) {
					p = pal[idx]
				}
				for c := 0; c < 3; c++ {
					out.Pix[(c*h+y)*w+x] = p[c]
				}
			}
		}
		return out
	}
	out := NewImage(3, h, w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := color.NRGBA64Model.Convert(m.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
			out.Pix[y*w+x] = float32(n.R) / 65535
			out.Pix[(h+y)*w+x] = float32(n.G) / 65535
			out.Pix[(2*h+y)*w+x] = float32(n.B) / 65535
		}
	}
	return out
}

// ToImage converts to a standard library image for saving previews: one
// channel gives *image.Gray, three give *image.NRGBA. Values are clamped to
// [0,1], so denormalise first.
func (im *Image) ToImage() (image.Image, error) {
	q := func(v float32) uint8 { return uint8(min(max(v, 0), 1)*255 + 0.5) }
	hw := im.H * im.W
	switch im.C {
	case 1:
		g := image.NewGray(image.Rect(0, 0, im.W, im.H))
		for i, v := range im.Pix[:hw] {
			g.Pix[i] = q(v)
		}
		return g, nil
	case 3:
		n := image.NewNRGBA(image.Rect(0, 0, im.W, im.H))
		for i := 0; i < hw; i++ {
			n.Pix[4*i] = q(im.Pix[i])
			n.Pix[4*i+1] = q(im.Pix[hw+i])
			n.Pix[4*i+2] = q(im.Pix[2*hw+i])
			n.Pix[4*i+3] = 255
		}
		return n, nil
	}
	return nil, fmt.Errorf("image has %d channels; only 1 or 3 can be converted", im.C)
}

// Crop returns a copy of the rectangle [x0,x1)×[y0,y1), clamped to the image.
func (im *Image) Crop(x0, y0, x1, y1 int) (*Image, error) {
	x0, y0 = max(x0, 0), max(y0, 0)
	x1, y1 = min(x1, im.W), min(y1, im.H)
	if x1 <= x0 || y1 <= y0 {
		return nil, fmt.Errorf("crop [%d,%d)x[%d,%d) is empty inside a %dx%d image", x0, x1, y0, y1, im.W, im.H)
	}
	out := NewImage(im.C, y1-y0, x1-x0)
	for c := 0; c < im.C; c++ {
		for y := y0; y < y1; y++ {
			src := im.Pix[(c*im.H+y)*im.W+x0 : (c*im.H+y)*im.W+x1]
			copy(out.Pix[(c*out.H+y-y0)*out.W:], src)
		}
	}
	return out, nil
}

// sameShape reports whether a and b have equal dimensions.
func sameShape(a, b *Image) bool { return a.C == b.C && a.H == b.H && a.W == b.W }

// reshape makes dst a c×h×w image, reusing its buffer when large enough.
func reshape(dst *Image, c, h, w int) *Image {
	if dst == nil {
		return NewImage(c, h, w)
	}
	n := c * h * w
	if cap(dst.Pix) < n {
		dst.Pix = make([]float32, n)
	}
	dst.Pix = dst.Pix[:n]
	dst.C, dst.H, dst.W = c, h, w
	return dst
}
