package onnx

import (
	"fmt"
	"math"

	"github.com/graftml/graft/torch"
)

// Resize and Upsample, in every mode ONNX defines (nearest with its four
// roundings, linear, cubic; all coordinate transformations), as separable
// per-axis interpolation: each output position reads a few input
// positions (index_select) with weights. That is exact for these modes,
// works at any rank, and autograd flows through it.

func opResize(e *env, n *cnode, in []value) ([]value, error) {
	x := e.tensor(in[0])
	s := x.Shape()
	if s == nil {
		return one(x)
	}
	r := len(s)
	var scales, sizes, roi []float64
	read := func(i int) ([]float64, error) {
		v := inputAt(in, i)
		if !v.ok() || len(v.shape()) == 0 || numel(v.shape()) == 0 {
			return nil, nil
		}
		c, err := constOfValue(v)
		if err != nil {
			return nil, err
		}
		return c.floats(), nil
	}
	var err error
	switch {
	case n.OpType == "Upsample" && e.p.opset < 9:
		for _, f := range n.Attrs["scales"].Floats {
			scales = append(scales, float64(f))
		}
	case n.OpType == "Upsample" || e.p.opset < 11:
		scales, err = read(1)
	default:
		if roi, err = read(1); err == nil {
			if scales, err = read(2); err == nil {
				sizes, err = read(3)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	if axes, ok := n.attrInts("axes"); ok && len(axes) > 0 {
		// opset 18: scales/sizes for some axes only
		full := func(v []float64, def func(d int) float64) []float64 {
			if v == nil {
				return nil
			}
			out := make([]float64, r)
			for d := range out {
				out[d] = def(d)
			}
			for i, a := range axes {
				na, _ := normAxis(a, r)
				out[na] = v[i]
			}
			return out
		}
		scales = full(scales, func(int) float64 { return 1 })
		sizes = full(sizes, func(d int) float64 { return float64(s[d]) })
	}
	out := make([]int64, r)
	scale := make([]float64, r)
	switch {
	case len(sizes) == r:
		for d := range out {
			out[d] = int64(sizes[d])
			scale[d] = sizes[d] / float64(s[d])
		}
		if policy := n.attrS("keep_aspect_ratio_policy", "stretch"); policy != "stretch" {
			return nil, fmt.Errorf("keep_aspect_ratio_policy %q is not supported", policy)
		}
	case len(scales) == r:
		for d := range out {
			scale[d] = scales[d]
			out[d] = int64(math.Floor(float64(s[d]) * scales[d]))
		}
	default:
		return nil, fmt.Errorf("neither scales nor sizes for %d dimensions", r)
	}
	mode := n.attrS("mode", "nearest")
	coord := n.attrS("coordinate_transformation_mode", "half_pixel")
	nearestFloor := false
	if n.OpType == "Upsample" || e.p.opset < 11 {
		coord = "asymmetric" // Upsample and Resize-10 index this way
		nearestFloor = true
		if mode == "linear" || mode == "bilinear" {
			mode = "linear"
		}
	}
	nearest := n.attrS("nearest_mode", "round_prefer_floor")
	if nearestFloor {
		nearest = "floor"
	}
	a := n.attrF("cubic_coeff_a", -0.75)
	exclude := n.attrI("exclude_outside", 0) == 1
	extrap := n.attrF("extrapolation_value", 0)
	if n.attrI("antialias", 0) == 1 {
		return nil, fmt.Errorf("antialiased resizing is not supported")
	}
	for d := 0; d < r; d++ {
		if out[d] == s[d] && scale[d] == 1 {
			continue
		}
		var lo, hi float64
		if coord == "tf_crop_and_resize" {
			if len(roi) != 2*r {
				return nil, fmt.Errorf("tf_crop_and_resize needs a roi of %d values", 2*r)
			}
			lo, hi = roi[d], roi[d+r]
		}
		taps, inside, err := resizeTaps(s[d], out[d], scale[d], mode, coord, nearest, a, exclude, lo, hi)
		if err != nil {
			return nil, err
		}
		x = applyTaps(x, int64(d), taps, out[d])
		if inside != nil {
			shape := make([]int64, r)
			for i := range shape {
				shape[i] = 1
			}
			shape[d] = out[d]
			mask := torch.FromFloat32(inside, shape...).To(x.DType(), x.Device())
			x = x.Mul(mask).Add(mask.RSubScalar(1).MulScalar(extrap))
		}
	}
	return one(x)
}

// tap is one input position an output position reads, per output index.
type tap struct {
	idx []int64
	w   []float32 // nil: weight 1 everywhere
}

// resizeTaps computes, for one axis, where each output position samples
// the input. inside marks positions within the input (tf_crop_and_resize
// fills the rest with the extrapolation value).
func resizeTaps(in, out int64, scale float64, mode, coord, nearest string, a float64, exclude bool, roiLo, roiHi float64) ([]tap, []float32, error) {
	orig := func(o int64) float64 {
		xo := float64(o)
		switch coord {
		case "half_pixel":
			return (xo+0.5)/scale - 0.5
		case "pytorch_half_pixel":
			if out > 1 {
				return (xo+0.5)/scale - 0.5
			}
			return 0
		case "align_corners":
			if out == 1 {
				return 0
			}
			// ONNX divides by the unrounded output length in·scale.
			return xo * float64(in-1) / (float64(in)*scale - 1)
		case "asymmetric":
			return xo / scale
		case "tf_half_pixel_for_nn":
			return (xo + 0.5) / scale
		case "tf_crop_and_resize":
			if out > 1 {
				return roiLo*float64(in-1) + xo*(roiHi-roiLo)*float64(in-1)/float64(out-1)
			}
			return 0.5 * (roiLo + roiHi) * float64(in-1)
		}
		return math.NaN()
	}
	if math.IsNaN(orig(0)) {
		return nil, nil, fmt.Errorf("coordinate_transformation_mode %q is not supported", coord)
	}
	clamp := func(i int64) int64 { return max(0, min(i, in-1)) }
	var inside []float32
	if coord == "tf_crop_and_resize" {
		inside = make([]float32, out)
		for o := int64(0); o < out; o++ {
			if x := orig(o); x >= 0 && x <= float64(in-1) {
				inside[o] = 1
			}
		}
	}
	switch mode {
	case "nearest":
		t := tap{idx: make([]int64, out)}
		for o := int64(0); o < out; o++ {
			x := orig(o)
			var i float64
			switch nearest {
			case "round_prefer_floor":
				if x == math.Floor(x)+0.5 {
					i = math.Floor(x)
				} else {
					i = math.Round(x)
				}
			case "round_prefer_ceil":
				i = math.Floor(x + 0.5)
			case "floor":
				i = math.Floor(x)
			case "ceil":
				i = math.Ceil(x)
			default:
				return nil, nil, fmt.Errorf("nearest_mode %q is not supported", nearest)
			}
			t.idx[o] = clamp(int64(i))
		}
		return []tap{t}, inside, nil
	case "linear", "bilinear":
		t0 := tap{idx: make([]int64, out), w: make([]float32, out)}
		t1 := tap{idx: make([]int64, out), w: make([]float32, out)}
		for o := int64(0); o < out; o++ {
			x := orig(o)
			if coord != "tf_crop_and_resize" {
				x = max(0, min(x, float64(in-1)))
			}
			f := math.Floor(x)
			r := x - f
			t0.idx[o], t1.idx[o] = clamp(int64(f)), clamp(int64(f)+1)
			t0.w[o], t1.w[o] = float32(1-r), float32(r)
		}
		return []tap{t0, t1}, inside, nil
	case "cubic":
		ts := make([]tap, 4)
		for k := range ts {
			ts[k] = tap{idx: make([]int64, out), w: make([]float32, out)}
		}
		for o := int64(0); o < out; o++ {
			x := orig(o)
			f := math.Floor(x)
			t := x - f
			c := [4]float64{
				((a*(t+1)-5*a)*(t+1)+8*a)*(t+1) - 4*a,
				((a+2)*t-(a+3))*t*t + 1,
				((a+2)*(1-t)-(a+3))*(1-t)*(1-t) + 1,
				((a*(2-t)-5*a)*(2-t)+8*a)*(2-t) - 4*a,
			}
			sum := 0.0
			for k := 0; k < 4; k++ {
				i := int64(f) - 1 + int64(k)
				if exclude && (i < 0 || i >= in) {
					c[k] = 0
				}
				sum += c[k]
			}
			for k := 0; k < 4; k++ {
				if exclude && sum != 0 {
					c[k] /= sum
				}
				ts[k].idx[o] = clamp(int64(f) - 1 + int64(k))
				ts[k].w[o] = float32(c[k])
			}
		}
		return ts, inside, nil
	}
	return nil, nil, fmt.Errorf("resize mode %q is not supported", mode)
}

// applyTaps gathers and weights along dim.
func applyTaps(x *torch.Tensor, dim int64, taps []tap, out int64) *torch.Tensor {
	r := len(x.Shape())
	shape := make([]int64, r)
	for i := range shape {
		shape[i] = 1
	}
	shape[dim] = out
	var y *torch.Tensor
	for _, t := range taps {
		it := torch.FromInt64(t.idx, out)
		if x.Device() != torch.CPU {
			it = convert(it, -1, x.Device())
		}
		g := x.IndexSelect(dim, it)
		it.Free()
		if t.w != nil {
			w := torch.FromFloat32(t.w, shape...).To(x.DType(), x.Device())
			g = g.Mul(w)
		}
		if y == nil {
			y = g
		} else {
			y = y.Add(g)
		}
	}
	return y
}
