package data

import (
	"math"
	"math/rand/v2"
)

// The pixel operations behind Augment. Each writes dst from src (same shape)
// except jitter, which works in place on an image the caller owns.

// mirror reflects an index into [0, n) with edge pixels repeated
// (…2 1 0 | 0 1 2 … n-1 | n-1 n-2 …).
func mirror(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

func warpAffine(dst, src *Image, t affine) {
	w, h := src.W, src.H
	hw := w * h
	for y := 0; y < h; y++ {
		dy := float64(y) + 0.5 - t.cy - t.ty
		for x := 0; x < w; x++ {
			dx := float64(x) + 0.5 - t.cx - t.tx
			u := t.m[0]*dx + t.m[1]*dy + t.cx - 0.5
			v := t.m[2]*dx + t.m[3]*dy + t.cy - 0.5
			fu, fv := math.Floor(u), math.Floor(v)
			ax, ay := float32(u-fu), float32(v-fv)
			x0, y0 := int(fu), int(fv)
			x1, y1 := mirror(x0+1, w), mirror(y0+1, h)
			x0, y0 = mirror(x0, w), mirror(y0, h)
			i00, i01, i10, i11 := y0*w+x0, y0*w+x1, y1*w+x0, y1*w+x1
			for c := 0; c < src.C; c++ {
				p := src.Pix[c*hw : (c+1)*hw]
				top := p[i00] + ax*(p[i01]-p[i00])
				bot := p[i10] + ax*(p[i11]-p[i10])
				dst.Pix[c*hw+y*w+x] = top + ay*(bot-top)
			}
		}
	}
}

func flipH(dst, src *Image) {
	w := src.W
	for r := 0; r < src.C*src.H; r++ {
		in, out := src.Pix[r*w:(r+1)*w], dst.Pix[r*w:(r+1)*w]
		for x, v := range in {
			out[w-1-x] = v
		}
	}
}

// jitter applies brightness, contrast, saturation and hue in place,
// clamping to [0,1] after each as torchvision does.
func (a Augment) jitter(im *Image, rng *rand.Rand) {
	factor := func(v float64) float32 { return float32(uniform(rng, max(0, 1-v), 1+v)) }
	if a.Brightness > 0 {
		f := factor(a.Brightness)
		for i, v := range im.Pix {
			im.Pix[i] = min(max(v*f, 0), 1)
		}
	}
	if a.Contrast > 0 {
		adjustContrast(im, factor(a.Contrast))
	}
	if im.C != 3 {
		return // saturation and hue do not exist for grey images
	}
	if a.Saturation > 0 {
		adjustSaturation(im, factor(a.Saturation))
	}
	if a.Hue > 0 {
		shiftHue(im, uniform(rng, -a.Hue, a.Hue)*2*math.Pi)
	}
}

// hueMatrix rotates the (I, Q) chroma plane by theta: RGB→YIQ, rotate, back.
func hueMatrix(theta float64) [9]float32 {
	toYIQ := [9]float64{0.299, 0.587, 0.114, 0.596, -0.274, -0.322, 0.211, -0.523, 0.312}
	// The exact inverse rather than the rounded textbook one, so that a
	// zero shift leaves colours exactly alone.
	toRGB := inverse3(toYIQ)
	cos, sin := math.Cos(theta), math.Sin(theta)
	rot := [9]float64{1, 0, 0, 0, cos, -sin, 0, sin, cos}
	mul := func(a, b [9]float64) [9]float64 {
		var out [9]float64
		for i := 0; i < 3; i++ {
			for j := 0; j < 3; j++ {
				for k := 0; k < 3; k++ {
					out[3*i+j] += a[3*i+k] * b[3*k+j]
				}
			}
		}
		return out
	}
	m := mul(toRGB, mul(rot, toYIQ))
	var out [9]float32
	for i, v := range m {
		out[i] = float32(v)
	}
	return out
}

// gaussKernel is a normalised kernel of radius ceil(3σ).
func gaussKernel(sigma float64) []float32 {
	r := max(int(math.Ceil(3*sigma)), 1)
	k := make([]float32, 2*r+1)
	var sum float64
	for i := range k {
		d := float64(i - r)
		v := math.Exp(-d * d / (2 * sigma * sigma))
		k[i] = float32(v)
		sum += v
	}
	for i := range k {
		k[i] /= float32(sum)
	}
	return k
}

func blurH(dst, src *Image, k []float32) {
	r, w := len(k)/2, src.W
	for row := 0; row < src.C*src.H; row++ {
		in, out := src.Pix[row*w:(row+1)*w], dst.Pix[row*w:(row+1)*w]
		for x := range out {
			var acc float32
			if x >= r && x+r < w {
				for j, kj := range k {
					acc += kj * in[x-r+j]
				}
			} else {
				for j, kj := range k {
					acc += kj * in[mirror(x-r+j, w)]
				}
			}
			out[x] = acc
		}
	}
}

func blurV(dst, src *Image, k []float32) {
	r, w, h := len(k)/2, src.W, src.H
	for c := 0; c < src.C; c++ {
		plane := src.Pix[c*h*w : (c+1)*h*w]
		oplane := dst.Pix[c*h*w : (c+1)*h*w]
		for y := 0; y < h; y++ {
			out := oplane[y*w : (y+1)*w]
			clear(out)
			for j, kj := range k {
				yy := mirror(y-r+j, h)
				in := plane[yy*w : (yy+1)*w]
				for x, v := range in {
					out[x] += kj * v
				}
			}
		}
	}
}

func inverse3(m [9]float64) [9]float64 {
	a, b, c, d, e, f, g, h, i := m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8]
	A, B, C := e*i-f*h, -(d*i - f*g), d*h-e*g
	det := a*A + b*B + c*C
	return [9]float64{
		A / det, -(b*i - c*h) / det, (b*f - c*e) / det,
		B / det, (a*i - c*g) / det, -(a*f - c*d) / det,
		C / det, -(a*h - b*g) / det, (a*e - b*d) / det,
	}
}
