package nn

import (
	"fmt"
	"strings"
)

// FLOPs counts the floating-point operations of one forward pass of m on
// one InChannels×h×w image. The convention is the roofline's: every
// multiply-add of a convolution or linear layer counts 2 (a multiply and an
// add), so ResNet-18 at 224² is 3.6 GFLOP — the "1.8 GFLOPs" torchvision
// lists counts multiply-adds. BatchNorm, activations, pooling, residual
// additions and biases are left out: together they are well under 1 % of
// a CNN's work, and they run at memory speed, not at the arithmetic limit
// the figure is compared with.
//
// The count walks the layers with the feature map's shape, without
// running them, so it costs nothing and needs no device. A module type it
// does not know (an imported ONNX graph's, say) is an error rather than a
// silent undercount.
func (m *Model) FLOPs(h, w int) (int64, error) {
	per, err := m.StageFLOPs(h, w)
	var n int64
	for _, f := range per {
		n += f
	}
	return n, err
}

// StageFLOPs is FLOPs stage by stage: what one image costs in each of
// m.Stages, so that a run's work can count only the stages it computes
// (a frozen prefix served from a cache costs nothing after its first pass).
func (m *Model) StageFLOPs(h, w int) ([]int64, error) {
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("count FLOPs of %s: input %d×%d: both sides must be at least 1", m.Arch, h, w)
	}
	s := shape{c: m.InChannels, h: h, w: w}
	per := make([]int64, len(m.Stages))
	for i, st := range m.Stages {
		var macs int64
		var err error
		s, err = countLayers(st.Layers, s, &macs, st.Name)
		if err != nil {
			return nil, fmt.Errorf("count FLOPs of %s: %w", m.Arch, err)
		}
		per[i] = 2 * macs
	}
	return per, nil
}

// shape is a feature map's channels and spatial size, per image; a flat
// feature vector has h = w = 1.
type shape struct{ c, h, w int }

func countLayers(layers []Named, s shape, macs *int64, path string) (shape, error) {
	for _, l := range layers {
		var err error
		if s, err = countModule(l.M, s, macs, path+"."+l.Name); err != nil {
			return s, err
		}
	}
	return s, nil
}

// countModule adds m's multiply-adds on an input of shape s to macs and
// returns its output's shape. path names the module in errors.
func countModule(m Module, s shape, macs *int64, path string) (shape, error) {
	switch v := m.(type) {
	case *Sequential:
		return countLayers(v.Children, s, macs, path)
	case *standardized:
		return countLayers(v.Children, s, macs, path)
	case *Conv2d:
		return countConv(v, s, macs, path)
	case *Linear:
		if s.h != 1 || s.w != 1 || s.c != v.In() {
			return s, fmt.Errorf("%s: a linear layer of %d inputs on a %d×%d×%d map", strings.TrimPrefix(path, "."), v.In(), s.c, s.h, s.w)
		}
		*macs += int64(v.In()) * int64(v.Out())
		return shape{c: v.Out(), h: 1, w: 1}, nil
	case *BasicBlock:
		return countResidual(s, macs, path, v.Downsample, []Named{{"conv1", v.Conv1}, {"conv2", v.Conv2}})
	case *Bottleneck:
		return countResidual(s, macs, path, v.Downsample, []Named{{"conv1", v.Conv1}, {"conv2", v.Conv2}, {"conv3", v.Conv3}})
	case *InvertedResidual:
		return countModule(v.Conv, s, macs, path+".conv")
	case *InvertedResidualV3:
		return countModule(v.Block, s, macs, path+".block")
	case *SqueezeExcitation:
		// fc1 and fc2 run on the 1×1 channel means; the output is the
		// input reweighted.
		p := shape{c: s.c, h: 1, w: 1}
		p, err := countConv(v.FC1, p, macs, path+".fc1")
		if err == nil {
			_, err = countConv(v.FC2, p, macs, path+".fc2")
		}
		return s, err
	case *MaxPool:
		return countPool(v.Opts.Kernel, v.Opts.Stride, v.Opts.Padding, v.Opts.Dilation, v.Opts.CeilMode, s, path)
	case *AvgPool:
		return countPool(v.Opts.Kernel, v.Opts.Stride, v.Opts.Padding, v.Opts.Dilation, v.Opts.CeilMode, s, path)
	case *AdaptivePool:
		if v.Flatten {
			return shape{c: s.c * v.H * v.W, h: 1, w: 1}, nil
		}
		return shape{c: s.c, h: v.H, w: v.W}, nil
	case Flatten, *Flatten:
		return shape{c: s.c * s.h * s.w, h: 1, w: 1}, nil
	case *BatchNorm2d, *Act, *Dropout, *Standardize, *L2Norm:
		return s, nil
	}
	return s, fmt.Errorf("%s: cannot count the FLOPs of a %T", strings.TrimPrefix(path, "."), m)
}

// countResidual counts a ResNet block: its convolutions in a chain (the
// BatchNorms between them keep the shape), and the shortcut's on the
// block's input.
func countResidual(s shape, macs *int64, path string, down *Sequential, convs []Named) (shape, error) {
	out, err := countLayers(convs, s, macs, path)
	if err != nil || down == nil {
		return out, err
	}
	id, err := countModule(down, s, macs, path+".downsample")
	if err == nil && id != out {
		err = fmt.Errorf("%s: the shortcut gives %v, the block %v", strings.TrimPrefix(path, "."), id, out)
	}
	return out, err
}

func countConv(c *Conv2d, s shape, macs *int64, path string) (shape, error) {
	ws := c.Weight.Shape() // [out, in/groups, kh, kw]
	if len(ws) != 4 {
		return s, fmt.Errorf("%s: convolution weight of shape %v", strings.TrimPrefix(path, "."), ws)
	}
	g := max(int(c.Opts.Groups), 1)
	if int(ws[1])*g != s.c {
		return s, fmt.Errorf("%s: a convolution of %d input channels on a %d-channel map", strings.TrimPrefix(path, "."), int(ws[1])*g, s.c)
	}
	// A zero stride is 1, as torch.Conv2dOpts reads it.
	h := outSide(s.h, int(ws[2]), orDefault(c.Opts.Stride[0], 1), int(c.Opts.Padding[0]), int(c.Opts.Dilation[0]), false)
	w := outSide(s.w, int(ws[3]), orDefault(c.Opts.Stride[1], 1), int(c.Opts.Padding[1]), int(c.Opts.Dilation[1]), false)
	if h < 1 || w < 1 {
		return s, fmt.Errorf("%s: a %d×%d map is too small for this convolution", strings.TrimPrefix(path, "."), s.h, s.w)
	}
	*macs += ws[0] * ws[1] * ws[2] * ws[3] * int64(h) * int64(w)
	return shape{c: int(ws[0]), h: h, w: w}, nil
}

func countPool(k, stride, pad, dil [2]int64, ceil bool, s shape, path string) (shape, error) {
	// A zero stride is the window's size, as torch.PoolOpts reads it.
	h := outSide(s.h, int(k[0]), orDefault(stride[0], k[0]), int(pad[0]), int(dil[0]), ceil)
	w := outSide(s.w, int(k[1]), orDefault(stride[1], k[1]), int(pad[1]), int(dil[1]), ceil)
	if h < 1 || w < 1 {
		return s, fmt.Errorf("%s: a %d×%d map is too small for this pooling", strings.TrimPrefix(path, "."), s.h, s.w)
	}
	return shape{c: s.c, h: h, w: w}, nil
}

// orDefault is v, or def when v is zero.
func orDefault(v, def int64) int {
	if v == 0 {
		return int(def)
	}
	return int(v)
}

// outSide is PyTorch's output length of a convolution or pooling window
// (torch.nn.Conv2d's and MaxPool2d's formula); a zero dilation is 1.
func outSide(in, k, stride, pad, dil int, ceil bool) int {
	if dil == 0 {
		dil = 1
	}
	span := in + 2*pad - dil*(k-1) - 1
	if span < 0 || stride < 1 {
		return 0
	}
	if !ceil {
		return span/stride + 1
	}
	out := (span+stride-1)/stride + 1
	// The last window must start inside the input or its left padding.
	if (out-1)*stride >= in+pad {
		out--
	}
	return out
}
