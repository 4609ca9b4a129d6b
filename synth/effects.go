package synth

import (
	"math"
	"math/rand/v2"
)

// Photometric nuisances, applied at output resolution on CHW float planes.

// downscale box-filters the ss-times supersampled canvas into out.
func downscale(out, cv []float32, size, ss int) {
	if ss == 1 {
		copy(out, cv)
		return
	}
	if ss == 2 {
		downscale2(out, cv, size)
		return
	}
	w := size * ss
	n, m := size*size, w*w
	inv := 1 / float32(ss*ss)
	for c := range 3 {
		src, dst := cv[c*m:(c+1)*m], out[c*n:(c+1)*n]
		for y := range size {
			for x := range size {
				var s float32
				for dy := range ss {
					row := src[(y*ss+dy)*w+x*ss:]
					for dx := range ss {
						s += row[dx]
					}
				}
				dst[y*size+x] = s * inv
			}
		}
	}
}

// downscale2 is downscale for the common 2x case, unrolled.
func downscale2(out, cv []float32, size int) {
	w := 2 * size
	n, m := size*size, w*w
	for c := range 3 {
		src, dst := cv[c*m:(c+1)*m], out[c*n:(c+1)*n]
		for y := range size {
			r0 := src[2*y*w : 2*y*w+w]
			r1 := src[(2*y+1)*w : (2*y+1)*w+w]
			d := dst[y*size : y*size+size]
			for x := range d {
				d[x] = (r0[2*x] + r0[2*x+1] + r1[2*x] + r1[2*x+1]) * 0.25
			}
		}
	}
}

// lighting applies exposure, a colour cast, a linear illumination gradient,
// a hard cast shadow and reduced contrast.
func lighting(out []float32, size int, s *scene) {
	n := size * size
	gx, gy := math.Cos(s.gradAngle)*s.grad, math.Sin(s.gradAngle)*s.grad
	sx, sy := math.Cos(s.shadowAngle), math.Sin(s.shadowAngle)
	inv := 1 / float64(size)
	for c := range 3 {
		k := s.light * s.cast[c]
		pl := out[c*n : (c+1)*n]
		for y := range size {
			v := (float64(y)+0.5)*inv - 0.5
			for x := range size {
				u := (float64(x)+0.5)*inv - 0.5
				g := k * (1 + gx*u + gy*v)
				if s.shadow {
					// A soft one-pixel edge keeps the shadow from aliasing.
					e := (u*sx+v*sy-s.shadowAt*0.5)*float64(size) + 0.5
					g *= 1 - 0.45*math.Min(1, math.Max(0, e))
				}
				i := y*size + x
				pl[i] = float32((float64(pl[i])*g-0.5)*s.contrast + 0.5)
			}
		}
	}
}

// defocus blurs with a separable Gaussian of the given sigma in pixels.
func defocus(out, tmp []float32, size int, sigma float64) {
	if sigma < 0.3 {
		return
	}
	rad := int(math.Ceil(2.5 * sigma))
	var kern [32]float32
	rad = min(rad, len(kern)-1)
	var sum float32
	for i := 0; i <= rad; i++ {
		kern[i] = float32(math.Exp(-float64(i*i) / (2 * sigma * sigma)))
		if i == 0 {
			sum += kern[i]
		} else {
			sum += 2 * kern[i]
		}
	}
	for i := 0; i <= rad; i++ {
		kern[i] /= sum
	}
	n := size * size
	for c := range 3 {
		pl, t := out[c*n:(c+1)*n], tmp[:n]
		for y := range size {
			row := pl[y*size : (y+1)*size]
			for x := range size {
				acc := row[x] * kern[0]
				for k := 1; k <= rad; k++ {
					acc += (row[clampInt(x-k, size)] + row[clampInt(x+k, size)]) * kern[k]
				}
				t[y*size+x] = acc
			}
		}
		for y := range size {
			for x := range size {
				acc := t[y*size+x] * kern[0]
				for k := 1; k <= rad; k++ {
					acc += (t[clampInt(y-k, size)*size+x] + t[clampInt(y+k, size)*size+x]) * kern[k]
				}
				pl[y*size+x] = acc
			}
		}
	}
}

func clampInt(i, n int) int { return min(max(i, 0), n-1) }

// motionBlur averages bilinear samples along a line of the given length.
// Every pixel uses the same tap offsets, so their integer parts and
// bilinear weights are computed once.
func motionBlur(out, tmp []float32, size int, length, angle float64) {
	if length < 1 {
		return
	}
	type tap struct {
		dx, dy             int
		w00, w01, w10, w11 float32
	}
	var taps [16]tap
	nt := min(int(math.Ceil(length))+1, len(taps))
	cx, cy := math.Cos(angle), math.Sin(angle)
	inv := 1 / float32(nt)
	for k := range nt {
		o := (float64(k)/float64(nt-1) - 0.5) * length
		ox, oy := o*cx, o*cy
		fx, fy := math.Floor(ox), math.Floor(oy)
		ax, ay := float32(ox-fx), float32(oy-fy)
		taps[k] = tap{int(fx), int(fy), (1 - ax) * (1 - ay) * inv, ax * (1 - ay) * inv, (1 - ax) * ay * inv, ax * ay * inv}
	}
	n := size * size
	for c := range 3 {
		pl, t := out[c*n:(c+1)*n], tmp[:n]
		copy(t, pl)
		for y := range size {
			for x := range size {
				var acc float32
				for _, tp := range taps[:nt] {
					x0, y0 := clampInt(x+tp.dx, size), clampInt(y+tp.dy, size)
					x1, y1 := clampInt(x+tp.dx+1, size), clampInt(y+tp.dy+1, size)
					acc += t[y0*size+x0]*tp.w00 + t[y0*size+x1]*tp.w01 + t[y1*size+x0]*tp.w10 + t[y1*size+x1]*tp.w11
				}
				pl[y*size+x] = acc
			}
		}
	}
}

// sensorNoise adds roughly Gaussian noise to three planes of n pixels,
// partly shared across channels
// as luminance noise is on a real sensor. Each deviate is a sum of four
// uniform 16-bit draws (Irwin-Hall), which is close enough to normal for
// pixel noise and several times cheaper than NormFloat64.
func sensorNoise(out []float32, n int, sigma float64, r *rand.Rand) {
	if sigma <= 0 {
		return
	}
	// Four U(0,1) sum to mean 2 and standard deviation sqrt(1/3).
	const unit = 1.0 / 65536
	k := float32(sigma / math.Sqrt(1.0/3))
	dev := func(u uint64) float32 {
		s := (u & 0xffff) + (u >> 16 & 0xffff) + (u >> 32 & 0xffff) + (u >> 48)
		return (float32(s)*unit - 2) * k
	}
	for i := range n {
		l := dev(r.Uint64()) * 0.7
		for c := range 3 {
			out[c*n+i] += l + dev(r.Uint64())*0.5
		}
	}
}

func clampAll(out []float32) {
	for i, v := range out {
		out[i] = clamp01(v)
	}
}
