package data

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodePNM(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		c, h, w int
		pix     []float32 // expected planes, CHW
	}{
		{"P2 ascii grey", "P2\n2 1\n4\n0 4\n", 1, 1, 2, []float32{0, 1}},
		{"P2 comments", "P2 # a comment\n# another\n2 1 # dims\n255\n0\n255", 1, 1, 2, []float32{0, 1}},
		{"P3 ascii rgb", "P3\n1 2\n255\n255 0 0\n0 0 255\n", 3, 2, 1, []float32{1, 0, 0, 0, 0, 1}},
		{"P5 8-bit", "P5\n2 2\n255\n\x00\x80\xff\x40", 1, 2, 2, []float32{0, 128.0 / 255, 1, 64.0 / 255}},
		{"P5 data starting with whitespace byte", "P5\n1 1\n255\n\x20", 1, 1, 1, []float32{32.0 / 255}},
		{"P6 8-bit", "P6 2 1 255\n\xff\x00\x00\x00\xff\x00", 3, 1, 2, []float32{1, 0, 0, 1, 0, 0}},
		{"P5 16-bit", "P5\n2 1\n65535\n\xff\xff\x80\x00", 1, 1, 2, []float32{1, 32768.0 / 65535}},
		{"P6 16-bit maxval 1023", "P6\n1 1\n1023\n\x03\xff\x00\x00\x01\xff", 3, 1, 1, []float32{1, 0, 511.0 / 1023}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := decodeBytes([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if im.C != tt.c || im.H != tt.h || im.W != tt.w {
				t.Fatalf("shape %dx%dx%d, want %dx%dx%d", im.C, im.H, im.W, tt.c, tt.h, tt.w)
			}
			for i, want := range tt.pix {
				if !near(im.Pix[i], want, 1e-6) {
					t.Errorf("pix[%d] = %v, want %v", i, im.Pix[i], want)
				}
			}
		})
	}
}

func TestDecodePNMErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
		truncated      bool
	}{
		{"no size", "P6\n", "missing width", true},
		{"no maxval", "P6\n2 2\n", "missing maxval", true},
		{"short binary", "P6\n2 2\n255\n\x00\x00\x00", "3 bytes of pixel data, want 12", true},
		{"short 16-bit", "P5\n2 1\n1000\n\x00\x01\x00", "3 bytes of pixel data, want 4", true},
		{"short ascii", "P2\n2 1\n255\n7", "sample 1 of 2", true},
		{"no pixel data", "P5\n1 1\n255", "no pixel data", true},
		{"maxval zero", "P5\n1 1\n0\n\x00", "maxval 0", false},
		{"maxval too big", "P5\n1 1\n70000\n\x00", "maxval 70000", false},
		{"sample above maxval", "P5\n1 1\n100\n\xc8", "above maxval", false},
		{"zero width", "P5\n0 1\n255\n", "empty or too large", false},
		{"junk in header", "P6\nx 1\n255\n", "want a number", false},
		{"bitmap unsupported", "P4\n1 1\n\x00", "P4 is not supported", false},
		{"PAM unsupported", "P7\nWIDTH 1\n", "P7 is not supported", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeBytes([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if got := errors.Is(err, errPNMTruncated); got != tt.truncated {
				t.Errorf("errors.Is(err, errPNMTruncated) = %v, want %v", got, tt.truncated)
			}
		})
	}
}
