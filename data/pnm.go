package data

import (
	"errors"
	"fmt"
)

// Netpbm greymaps and pixmaps (P2, P3, P5, P6) are decoded here because GTSRB
// ships as PPM and no maintained Go decoder exists. Both 8-bit and 16-bit
// (big-endian, maxval > 255) samples are read and scaled by maxval, so a
// 16-bit file with maxval 1023 maps 1023 to 1.0.

var errPNMTruncated = errors.New("truncated PNM file")

type pnmReader struct {
	b   []byte
	pos int
}

// skipSpace skips whitespace and '#' comments, which the format allows
// anywhere in the header.
func (r *pnmReader) skipSpace() {
	for r.pos < len(r.b) {
		switch c := r.b[r.pos]; {
		case c == '#':
			for r.pos < len(r.b) && r.b[r.pos] != '\n' && r.b[r.pos] != '\r' {
				r.pos++
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			r.pos++
		default:
			return
		}
	}
}

// number reads one unsigned decimal integer after optional whitespace.
func (r *pnmReader) number(what string) (int, error) {
	r.skipSpace()
	if r.pos >= len(r.b) {
		return 0, fmt.Errorf("%w: missing %s", errPNMTruncated, what)
	}
	start, v := r.pos, 0
	for r.pos < len(r.b) && r.b[r.pos] >= '0' && r.b[r.pos] <= '9' {
		v = v*10 + int(r.b[r.pos]-'0')
		if v > 1<<30 {
			return 0, fmt.Errorf("PNM %s is too large", what)
		}
		r.pos++
	}
	if r.pos == start {
		return 0, fmt.Errorf("PNM %s: want a number, found %q", what, r.b[r.pos])
	}
	return v, nil
}

func decodePNM(b []byte) (*Image, error) {
	kind := b[1]
	var c int
	switch kind {
	case '2', '5':
		c = 1
	case '3', '6':
		c = 3
	default:
		return nil, fmt.Errorf("PNM format P%c is not supported; convert to PGM (P2/P5) or PPM (P3/P6)", kind)
	}
	r := &pnmReader{b: b, pos: 2}
	w, err := r.number("width")
	if err != nil {
		return nil, err
	}
	h, err := r.number("height")
	if err != nil {
		return nil, err
	}
	maxval, err := r.number("maxval")
	if err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || w*h > maxPixels {
		return nil, fmt.Errorf("PNM size %dx%d is empty or too large", w, h)
	}
	if maxval <= 0 || maxval > 65535 {
		return nil, fmt.Errorf("PNM maxval %d outside 1..65535", maxval)
	}
	// The header's size is checked against the bytes that follow it before
	// the image is allocated: a forged size must not cost gigabytes.
	hw := h * w
	scale := 1 / float32(maxval)
	if kind == '2' || kind == '3' {
		// Every ASCII sample takes at least one byte.
		if left := len(b) - r.pos; left < hw*c {
			return nil, fmt.Errorf("%w: %d bytes left for %d samples of %dx%d", errPNMTruncated, left, hw*c, w, h)
		}
		im := NewImage(c, h, w)
		for i := 0; i < hw*c; i++ {
			v, err := r.number("sample")
			if err != nil {
				return nil, fmt.Errorf("sample %d of %d: %w", i, hw*c, err)
			}
			if v > maxval {
				return nil, fmt.Errorf("PNM sample %d is %d, above maxval %d", i, v, maxval)
			}
			// Samples are interleaved per pixel; planes are ours.
			im.Pix[(i%c)*hw+i/c] = float32(v) * scale
		}
		return im, nil
	}
	// Exactly one whitespace byte separates maxval from binary data; more
	// skipping would eat pixel values that happen to look like spaces.
	if r.pos >= len(b) {
		return nil, fmt.Errorf("%w: no pixel data", errPNMTruncated)
	}
	r.pos++
	bps := 1
	if maxval > 255 {
		bps = 2
	}
	data := b[r.pos:]
	if want := hw * c * bps; len(data) < want {
		return nil, fmt.Errorf("%w: %d bytes of pixel data, want %d for %dx%d", errPNMTruncated, len(data), want, w, h)
	}
	im := NewImage(c, h, w)
	i := 0
	for p := 0; p < hw; p++ {
		for ch := 0; ch < c; ch++ {
			v := int(data[i])
			if bps == 2 {
				v = v<<8 | int(data[i+1])
			}
			if v > maxval {
				return nil, fmt.Errorf("PNM sample %d is %d, above maxval %d", i/bps, v, maxval)
			}
			im.Pix[ch*hw+p] = float32(v) * scale
			i += bps
		}
	}
	return im, nil
}
