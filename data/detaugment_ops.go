package data

import (
	"math"
	"math/rand/v2"
)

// detWork is one goroutine's reusable buffers for DetectionAugment.run, so
// a loader worker augments without allocating per image.
type detWork struct {
	photo, out, inner *Image
	tmp               []float32
	tx, ty            canvasTaps
	boxes             []Box
}

// own copies src into w's output buffer, for an operation that works in
// place on an image that may not be ours.
func (w *detWork) own(src *Image) *Image {
	w.out = reshape(w.out, src.C, src.H, src.W)
	copy(w.out.Pix, src.Pix)
	return w.out
}

// canvasTaps is resize.go's taps for a source seen on a larger canvas: a
// filter tap that lands on the canvas but outside the source reads the
// canvas colour, whose total weight per output sample is fw. Taps are
// clipped to the canvas, not the source, so a view reaching into the canvas
// blends with its colour while a view inside the source weights its edge
// pixels exactly as resample does.
type canvasTaps struct {
	start, n []int
	w, fw    []float32
	k        int
	ws       []float64
}

// compute maps the interval [lo, hi) of an axis onto out samples; the
// source covers [0, in) of a canvas [c0, c1) ⊇ [0, in). With c0 = 0 and
// c1 = in the taps are computeTaps' exactly, so the pixels are resample's.
func (t *canvasTaps) compute(in, c0, c1 int, lo, hi float64, out int) {
	scale := (hi - lo) / float64(out)
	fs := max(scale, 1)
	support := fs
	k := int(math.Ceil(support))*2 + 1
	t.k = k
	t.start = grow(t.start, out)
	t.n = grow(t.n, out)
	t.w = grow(t.w, out*k)
	t.fw = grow(t.fw, out)
	t.ws = grow(t.ws, k)
	ws := t.ws
	for i := 0; i < out; i++ {
		x0, x1, total := triangle(lo+(float64(i)+0.5)*scale, fs, c0, c1, k, ws)
		a, b := max(x0, 0), min(x1, in)
		fill := 0.0
		if b <= a {
			t.start[i], t.n[i] = 0, 0
			fill = total
		} else {
			for x := x0; x < a; x++ {
				fill += ws[x-x0]
			}
			for x := b; x < x1; x++ {
				fill += ws[x-x0]
			}
			t.start[i], t.n[i] = a, b-a
			for j := 0; j < b-a; j++ {
				t.w[i*k+j] = float32(ws[a-x0+j] / total)
			}
		}
		t.fw[i] = float32(fill / total)
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// render draws the view of src (a rectangle of the canvas, in source
// pixels) into the window win of an oh×ow output whose area outside win is
// pad (letterboxing). The output is w.out.
func (w *detWork) render(src *Image, canvas, view, win rect, oh, ow int, fill []float32, pad float32) *Image {
	w.out = reshape(w.out, src.C, oh, ow)
	if win == (rect{0, 0, float64(ow), float64(oh)}) {
		w.renderInto(w.out, src, canvas, view, fill)
		return w.out
	}
	for i := range w.out.Pix {
		w.out.Pix[i] = pad
	}
	nw, nh := int(win.w()), int(win.h())
	ox, oy := int(win.x0), int(win.y0)
	w.inner = reshape(w.inner, src.C, nh, nw)
	w.renderInto(w.inner, src, canvas, view, fill)
	for c := 0; c < src.C; c++ {
		for y := 0; y < nh; y++ {
			copy(w.out.Pix[(c*oh+oy+y)*ow+ox:], w.inner.Pix[(c*nh+y)*nw:(c*nh+y+1)*nw])
		}
	}
	return w.out
}

// renderInto resamples the view into all of dst: resample, with the canvas
// colour fill (one value per channel) outside the source.
func (w *detWork) renderInto(dst, src *Image, canvas, view rect, fill []float32) {
	sw, sh := src.W, src.H
	dw, dh := dst.W, dst.H
	if view.w() == float64(dw) && view.h() == float64(dh) && view.x0 == math.Trunc(view.x0) && view.y0 == math.Trunc(view.y0) {
		copyView(dst, src, int(view.x0), int(view.y0), fill)
		return
	}
	tx, ty := &w.tx, &w.ty
	tx.compute(sw, int(canvas.x0), int(canvas.x1), view.x0, view.x1, dw)
	ty.compute(sh, int(canvas.y0), int(canvas.y1), view.y0, view.y1, dh)
	// Only source rows some output row reads need the horizontal pass.
	r0, r1 := sh, 0
	for i := range dh {
		if ty.n[i] > 0 {
			r0 = min(r0, ty.start[i])
			r1 = max(r1, ty.start[i]+ty.n[i])
		}
	}
	rows := max(r1-r0, 0)
	w.tmp = grow(w.tmp, rows*dw)
	tmp := w.tmp
	for c := 0; c < src.C; c++ {
		f := fill[c]
		plane := src.Pix[c*sh*sw : (c+1)*sh*sw]
		for y := r0; y < r1; y++ {
			row := plane[y*sw : (y+1)*sw]
			out := tmp[(y-r0)*dw : (y-r0+1)*dw]
			for x := range out {
				s, n := tx.start[x], tx.n[x]
				wt := tx.w[x*tx.k : x*tx.k+n]
				px := row[s : s+n]
				px = px[:len(wt)]
				var acc float32
				for j, wj := range wt {
					acc += wj * px[j]
				}
				if fw := tx.fw[x]; fw != 0 {
					acc += fw * f
				}
				out[x] = acc
			}
		}
		dplane := dst.Pix[c*dh*dw : (c+1)*dh*dw]
		for y := 0; y < dh; y++ {
			out := dplane[y*dw : (y+1)*dw]
			clear(out)
			s, n := ty.start[y], ty.n[y]
			for j := 0; j < n; j++ {
				wj := ty.w[y*ty.k+j]
				in := tmp[(s+j-r0)*dw : (s+j-r0+1)*dw]
				in = in[:len(out)]
				for x, v := range in {
					out[x] += wj * v
				}
			}
			if fw := ty.fw[y]; fw != 0 {
				add := fw * f
				for x := range out {
					out[x] += add
				}
			}
		}
	}
}

// copyView copies the dst-sized window of src at (x0, y0), which may reach
// past src, with fill outside src: the resample of a view at scale 1.
func copyView(dst, src *Image, x0, y0 int, fill []float32) {
	sw, sh, dw, dh := src.W, src.H, dst.W, dst.H
	a, b := min(max(-x0, 0), dw), min(max(sw-x0, 0), dw) // dst columns that are source
	for c := 0; c < src.C; c++ {
		f := fill[c]
		for y := 0; y < dh; y++ {
			out := dst.Pix[(c*dh+y)*dw : (c*dh+y+1)*dw]
			sy := y0 + y
			if sy < 0 || sy >= sh || b <= a {
				for x := range out {
					out[x] = f
				}
				continue
			}
			for x := 0; x < a; x++ {
				out[x] = f
			}
			copy(out[a:b], src.Pix[(c*sh+sy)*sw+x0+a:])
			for x := b; x < dw; x++ {
				out[x] = f
			}
		}
	}
}

func flipInPlace(im *Image) {
	w := im.W
	for r := 0; r < im.C*im.H; r++ {
		row := im.Pix[r*w : (r+1)*w]
		for i, j := 0, w-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// photometric runs the photometric steps, each with probability
// a.Photometric, in torchvision's RandomPhotometricDistort order. The
// result is src when no step fires, else w.photo.
func (a DetectionAugment) photometric(src *Image, rng *rand.Rand, w *detWork) *Image {
	var r [7]float64
	for i := range r {
		r[i] = rng.Float64()
	}
	p := a.Photometric
	cur := src
	own := func() {
		if cur == src {
			w.photo = reshape(w.photo, src.C, src.H, src.W)
			copy(w.photo.Pix, src.Pix)
			cur = w.photo
		}
	}
	colour := src.C == 3
	contrast := func() {
		own()
		adjustContrast(cur, float32(uniform(rng, a.Contrast[0], a.Contrast[1])))
	}
	if a.Brightness != [2]float64{} && r[0] < p {
		own()
		f := float32(uniform(rng, a.Brightness[0], a.Brightness[1]))
		for i, v := range cur.Pix {
			cur.Pix[i] = min(max(v*f, 0), 1)
		}
	}
	contrastFirst := r[1] < 0.5
	if contrastFirst && a.Contrast != [2]float64{} && r[2] < p {
		contrast()
	}
	if colour && a.Saturation != [2]float64{} && r[3] < p {
		own()
		adjustSaturation(cur, float32(uniform(rng, a.Saturation[0], a.Saturation[1])))
	}
	if colour && a.Hue > 0 && r[4] < p {
		own()
		shiftHue(cur, uniform(rng, -a.Hue, a.Hue)*2*math.Pi)
	}
	if !contrastFirst && a.Contrast != [2]float64{} && r[5] < p {
		contrast()
	}
	if colour && a.ChannelSwap > 0 && r[6] < a.ChannelSwap {
		own()
		perm := rng.Perm(3)
		hw := cur.H * cur.W
		// w.inner is free until render letterboxes, after this.
		w.inner = reshape(w.inner, 3, cur.H, cur.W)
		copy(w.inner.Pix, cur.Pix)
		for c, from := range perm {
			copy(cur.Pix[c*hw:(c+1)*hw], w.inner.Pix[from*hw:(from+1)*hw])
		}
	}
	return cur
}

// adjustContrast blends im with its mean grey level, as torchvision's
// adjust_contrast, clamping to [0,1].
func adjustContrast(im *Image, f float32) {
	hw := im.H * im.W
	var sum float64
	if im.C == 3 {
		for i := 0; i < hw; i++ {
			sum += float64(0.299*im.Pix[i] + 0.587*im.Pix[hw+i] + 0.114*im.Pix[2*hw+i])
		}
	} else {
		for _, v := range im.Pix[:hw] {
			sum += float64(v)
		}
	}
	m := float32(sum / float64(hw))
	for i, v := range im.Pix {
		im.Pix[i] = min(max((v-m)*f+m, 0), 1)
	}
}

// adjustSaturation blends an RGB image with its grey version.
func adjustSaturation(im *Image, f float32) {
	hw := im.H * im.W
	r, g, b := im.Pix[:hw], im.Pix[hw:2*hw], im.Pix[2*hw:3*hw]
	for i := 0; i < hw; i++ {
		grey := 0.299*r[i] + 0.587*g[i] + 0.114*b[i]
		r[i] = min(max((r[i]-grey)*f+grey, 0), 1)
		g[i] = min(max((g[i]-grey)*f+grey, 0), 1)
		b[i] = min(max((b[i]-grey)*f+grey, 0), 1)
	}
}

// shiftHue rotates an RGB image's chroma by theta radians (hueMatrix).
func shiftHue(im *Image, theta float64) {
	m := hueMatrix(theta)
	hw := im.H * im.W
	r, g, b := im.Pix[:hw], im.Pix[hw:2*hw], im.Pix[2*hw:3*hw]
	for i := 0; i < hw; i++ {
		R, G, B := r[i], g[i], b[i]
		r[i] = min(max(m[0]*R+m[1]*G+m[2]*B, 0), 1)
		g[i] = min(max(m[3]*R+m[4]*G+m[5]*B, 0), 1)
		b[i] = min(max(m[6]*R+m[7]*G+m[8]*B, 0), 1)
	}
}
