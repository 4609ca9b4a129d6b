package synth

import "math"

// A cheap JPEG round trip: YCbCr, 4:2:0 chroma, 8x8 DCT quantised with the
// standard tables scaled by quality, and back. It reproduces blocking,
// ringing and chroma bleeding without an encoder's allocations and entropy
// coding, which the artefacts do not depend on.

var lumaQ = [64]float32{
	16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
}

var chromaQ = [64]float32{
	17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
	24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
	99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
}

// dctBasis[u][x] is the orthonormal DCT-II basis, which matches JPEG's
// scaling so the standard tables apply unchanged.
var dctBasis = func() (b [8][8]float32) {
	for u := range 8 {
		s := math.Sqrt(2.0 / 8)
		if u == 0 {
			s = math.Sqrt(1.0 / 8)
		}
		for x := range 8 {
			b[u][x] = float32(s * math.Cos(float64((2*x+1)*u)*math.Pi/16))
		}
	}
	return b
}()

func scaledTable(base *[64]float32, quality int) (q [64]float32) {
	quality = min(max(quality, 1), 100)
	scale := 200 - 2*quality
	if quality < 50 {
		scale = 5000 / quality
	}
	for i, v := range base {
		t := float32(math.Floor((float64(v)*float64(scale) + 50) / 100))
		q[i] = min(max(t, 1), 255)
	}
	return q
}

// jpegArtefacts round-trips out (CHW, [0,1]) through quantised DCT blocks.
func jpegArtefacts(out, tmp []float32, size, quality int) {
	n := size * size
	hs := (size + 1) / 2
	m := hs * hs
	// tmp holds Y (n) then Cb and Cr at half resolution (m each).
	y, cb, cr := tmp[:n], tmp[n:n+m], tmp[n+m:n+2*m]
	for i := range cb {
		cb[i], cr[i] = 0, 0
	}
	R, G, B := out[:n], out[n:2*n], out[2*n:3*n]
	for j := range size {
		for i := range size {
			k := j*size + i
			r, g, b := R[k]*255, G[k]*255, B[k]*255
			y[k] = 0.299*r + 0.587*g + 0.114*b - 128
			h := (j/2)*hs + i/2
			cb[h] += (-0.168736*r - 0.331264*g + 0.5*b) * 0.25
			cr[h] += (0.5*r - 0.418688*g - 0.081312*b) * 0.25
		}
	}
	if size%2 == 1 {
		// The last half-resolution row and column averaged fewer pixels.
		for t := range hs {
			for _, h := range [2]int{(hs-1)*hs + t, t*hs + hs - 1} {
				cb[h], cr[h] = cb[h]*2, cr[h]*2
			}
		}
	}
	lq, cq := scaledTable(&lumaQ, quality), scaledTable(&chromaQ, quality)
	quantiseBlocks(y, size, &lq)
	quantiseBlocks(cb, hs, &cq)
	quantiseBlocks(cr, hs, &cq)
	for j := range size {
		for i := range size {
			k := j*size + i
			yy := y[k] + 128
			h := (j/2)*hs + i/2
			u, v := cb[h], cr[h]
			R[k] = (yy + 1.402*v) / 255
			G[k] = (yy - 0.344136*u - 0.714136*v) / 255
			B[k] = (yy + 1.772*u) / 255
		}
	}
}

// quantiseBlocks transforms, quantises and restores every 8x8 block of a
// w*w plane in place; partial edge blocks replicate their last row/column.
func quantiseBlocks(pl []float32, w int, q *[64]float32) {
	var blk, t [64]float32
	for by := 0; by < w; by += 8 {
		for bx := 0; bx < w; bx += 8 {
			for j := range 8 {
				yy := min(by+j, w-1)
				for i := range 8 {
					blk[j*8+i] = pl[yy*w+min(bx+i, w-1)]
				}
			}
			// Forward: rows, then columns.
			for j := range 8 {
				for u := range 8 {
					var s float32
					for x := range 8 {
						s += dctBasis[u][x] * blk[j*8+x]
					}
					t[j*8+u] = s
				}
			}
			for u := range 8 {
				for v := range 8 {
					var s float32
					for y := range 8 {
						s += dctBasis[v][y] * t[y*8+u]
					}
					blk[v*8+u] = roundf(s/q[v*8+u]) * q[v*8+u]
				}
			}
			// Inverse: columns, then rows.
			for u := range 8 {
				for y := range 8 {
					var s float32
					for v := range 8 {
						s += dctBasis[v][y] * blk[v*8+u]
					}
					t[y*8+u] = s
				}
			}
			for j := range 8 {
				if by+j >= w {
					break
				}
				for x := range 8 {
					if bx+x >= w {
						break
					}
					var s float32
					for u := range 8 {
						s += dctBasis[u][x] * t[j*8+u]
					}
					pl[(by+j)*w+bx+x] = s
				}
			}
		}
	}
}

// roundf rounds half away from zero without a float64 round trip.
func roundf(v float32) float32 {
	if v < 0 {
		return -float32(int32(-v + 0.5))
	}
	return float32(int32(v + 0.5))
}
