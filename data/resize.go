package data

import "math"

// Resampling is separable and uses a triangle (bilinear) filter whose support
// widens with the shrink factor: the "bilinear with antialias" of Pillow and
// torchvision (antialias=True), which is what pretrained weights were
// trained on. Plain bilinear sampling when shrinking reads only 2 of every
// scale-many pixels and aliases badly (thin sign borders flicker in and out);
// widening the filter averages every source pixel instead. Separability makes
// the cost proportional to the filter width, not its square, and the filter
// weights are computed once per call rather than per pixel.

// taps holds, for each output coordinate, the first source index and the
// normalised weights of the source pixels it averages.
type taps struct {
	start []int
	n     []int
	w     []float32
	k     int // stride of w
}

// computeTaps maps the source interval [lo, hi) of an axis of length in onto
// out samples.
func computeTaps(in int, lo, hi float64, out int) taps {
	scale := (hi - lo) / float64(out)
	fs := max(scale, 1)
	support := fs // the triangle filter's support is 1, widened by fs
	k := int(math.Ceil(support))*2 + 1
	t := taps{start: make([]int, out), n: make([]int, out), w: make([]float32, out*k), k: k}
	ws := make([]float64, k)
	for i := 0; i < out; i++ {
		x0, x1, total := triangle(lo+(float64(i)+0.5)*scale, fs, 0, in, k, ws)
		t.start[i], t.n[i] = x0, x1-x0
		for j := 0; j < x1-x0; j++ {
			t.w[i*k+j] = float32(ws[j] / total)
		}
	}
	return t
}

// triangle fills ws with the unnormalised weights of the triangle filter
// of half-width fs centred at center (in source pixels) over the pixels
// [x0, x1) of [lo, hi) it reaches (at most k), and returns them with their
// total. Where the filter reaches no pixel of [lo, hi) (a box past an
// edge) the nearest pixel takes it all.
func triangle(center, fs float64, lo, hi, k int, ws []float64) (x0, x1 int, total float64) {
	x0 = max(int(math.Floor(center-fs+0.5)), lo)
	x1 = min(int(math.Floor(center+fs+0.5)), hi)
	if x1-x0 > k {
		x1 = x0 + k
	}
	for x := x0; x < x1; x++ {
		v := 1 - math.Abs((float64(x)-center+0.5)/fs)
		if v < 0 {
			v = 0
		}
		ws[x-x0] = v
		total += v
	}
	if total == 0 {
		x0 = min(max(int(math.Floor(center)), lo), hi-1)
		x1 = x0 + 1
		ws[0], total = 1, 1
	}
	return x0, x1, total
}

// resample writes the box [x0,x1)×[y0,y1) of src (in pixel coordinates,
// fractional allowed) into dst, whose size sets the output size.
func resample(dst, src *Image, x0, y0, x1, y1 float64) {
	if x0 == 0 && y0 == 0 && x1 == float64(src.W) && y1 == float64(src.H) && dst.H == src.H && dst.W == src.W {
		copy(dst.Pix, src.Pix)
		return
	}
	tx := computeTaps(src.W, x0, x1, dst.W)
	ty := computeTaps(src.H, y0, y1, dst.H)
	// Only the rows the vertical pass reads need the horizontal pass.
	r0, r1 := ty.start[0], ty.start[dst.H-1]+ty.n[dst.H-1]
	for i := range ty.start {
		r0 = min(r0, ty.start[i])
		r1 = max(r1, ty.start[i]+ty.n[i])
	}
	rows := r1 - r0
	tmp := make([]float32, rows*dst.W)
	for c := 0; c < src.C; c++ {
		plane := src.Pix[c*src.H*src.W : (c+1)*src.H*src.W]
		for y := r0; y < r1; y++ {
			row := plane[y*src.W : (y+1)*src.W]
			out := tmp[(y-r0)*dst.W : (y-r0+1)*dst.W]
			for x := range out {
				s, n := tx.start[x], tx.n[x]
				w := tx.w[x*tx.k : x*tx.k+n]
				px := row[s : s+n]
				px = px[:len(w)] // lets the compiler drop the bounds check below
				var acc float32
				for j, wj := range w {
					acc += wj * px[j]
				}
				out[x] = acc
			}
		}
		dplane := dst.Pix[c*dst.H*dst.W : (c+1)*dst.H*dst.W]
		for y := 0; y < dst.H; y++ {
			out := dplane[y*dst.W : (y+1)*dst.W]
			clear(out)
			s, n := ty.start[y], ty.n[y]
			for j := 0; j < n; j++ {
				wj := ty.w[y*ty.k+j]
				in := tmp[(s+j-r0)*dst.W : (s+j-r0+1)*dst.W]
				in = in[:len(out)]
				for x, v := range in {
					out[x] += wj * v
				}
			}
		}
	}
}

// Resize returns im scaled to h×w (stretching if the aspect differs) with the
// antialiased bilinear filter described above.
func Resize(im *Image, h, w int) *Image {
	out := NewImage(im.C, h, w)
	resample(out, im, 0, 0, float64(im.W), float64(im.H))
	return out
}
