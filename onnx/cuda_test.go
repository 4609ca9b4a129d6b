package onnx

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

// Imported graphs on CUDA compute what they compute on the CPU, forward
// and backward. Runs where the shim was built against a CUDA libtorch and
// a GPU is visible (README: another libtorch, or a GPU).
func TestImportedOnCUDA(t *testing.T) {
	if torch.CUDADeviceCount() == 0 {
		t.Skip("no CUDA device visible to this libtorch")
	}
	dir := t.TempDir()
	torch.ManualSeed(3)
	b, err := arch.New("resnet18", arch.Config{NumClasses: 5})
	if err != nil {
		t.Fatal(err)
	}
	randomizeBN(t, b)
	om, err := Export(b, ExportOptions{Height: 64, Width: 64})
	b.Free()
	if err != nil {
		t.Fatal(err)
	}
	r18 := filepath.Join(dir, "r18.onnx")
	if err := WriteFile(r18, om); err != nil {
		t.Fatal(err)
	}
	// The same weights as safetensors, for the built-in control.
	r18w := filepath.Join(dir, "r18.safetensors")
	{
		m, _, err := Import(r18, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.Save(strings.TrimSuffix(r18w, ".safetensors"), m, checkpoint.Meta{}, nil); err != nil {
			t.Fatal(err)
		}
		m.Free()
	}
	type result struct {
		logits []float32
		loss   float64
		grads  map[string][]float32
	}
	run := func(t *testing.T, path string, shape []int64, dev torch.Device, channelsLast bool) result {
		torch.ManualSeed(11)
		x := torch.Randn(shape...)
		defer x.Free()
		y := torch.FromInt64([]int64{0, 1, 2, 3}, 4)
		defer y.Free()
		var m *nn.Model
		var err error
		if path == "" {
			if m, err = arch.New("resnet18", arch.Config{NumClasses: 5}); err == nil {
				_, err = LoadPretrained(m, r18w, WeightsOptions{})
			}
		} else if m, _, err = Import(path, ImportOptions{}); err == nil {
			programOf(m).noDropout = true
		}
		if err != nil {
			t.Fatal(err)
		}
		defer m.Free()
		if err := m.To(dev, channelsLast); err != nil {
			t.Fatal(err)
		}
		xd, yd := x.ToDevice(dev), y.ToDevice(dev)
		defer xd.Free()
		defer yd.Free()
		var r result
		var out *torch.Tensor
		torch.NoGrad(func() { out = m.Forward(xd, false) })
		if r.logits, err = out.Float32s(); err != nil {
			t.Fatalf("%v forward: %v", dev, err)
		}
		l := torch.CrossEntropy(m.Forward(xd, true), yd, 0)
		if err := l.Backward(); err != nil {
			t.Fatalf("%v backward: %v", dev, err)
		}
		r.loss, _ = l.Item()
		r.grads = gradsOf(t, m)
		return r
	}
	// compare reports the largest relative differences; gradients compare
	// by norm, ‖a − b‖ / ‖a‖, skipping those that are zero in exact
	// arithmetic (a bias before a BatchNorm) and so rounding noise only.
	compare := func(a, b result) (logits, loss, grads float64, at string) {
		var top float64
		for _, g := range a.grads {
			top = math.Max(top, norm(g))
		}
		for name, g := range a.grads {
			if norm(g) < 1e-4*top {
				continue
			}
			if d := normDiff(g, b.grads[name]) / norm(g); d > grads {
				grads, at = d, name
			}
		}
		return maxRel(a.logits, b.logits), math.Abs(a.loss-b.loss) / math.Abs(a.loss), grads, at
	}
	check := func(t *testing.T, what string, a, b result, bound float64) {
		l, loss, g, at := compare(a, b)
		if l > bound || loss > bound || g > bound {
			t.Errorf("%s: logits %.3g, loss %.3g, gradients %.3g (%s) apart; bound %g", what, l, loss, g, at, bound)
		}
		t.Logf("%s: logits %.2g, loss %.2g, gradients %.2g at %s (relative differences)", what, l, loss, g, at)
	}
	t.Run("tiny", func(t *testing.T) {
		p := filepath.Join(tinyDir, "model13.onnx")
		cpu := run(t, p, []int64{4, 3, 16, 16}, torch.CPU, false)
		check(t, "CPU vs CUDA", cpu, run(t, p, []int64{4, 3, 16, 16}, torch.CUDA(0), false), 1e-4)
		// NHWC convolutions take cuDNN's TF32 kernels: 10-bit mantissas.
		check(t, "CPU vs CUDA channels-last", cpu, run(t, p, []int64{4, 3, 16, 16}, torch.CUDA(0), true), 1e-2)
	})
	t.Run("resnet18", func(t *testing.T) {
		// Deep random networks on cuDNN (TF32 convolutions by default) drift
		// from the CPU by up to tens of percent in some gradients, built-in
		// or imported alike, so the imported model is held to the built-in
		// one on the same device; the CPU–CUDA spread is logged.
		s := []int64{4, 3, 64, 64}
		imp, ref := run(t, r18, s, torch.CUDA(0), false), run(t, "", s, torch.CUDA(0), false)
		check(t, "imported vs built-in on CUDA", ref, imp, 1e-3)
		l, loss, g, at := compare(run(t, "", s, torch.CPU, false), ref)
		t.Logf("for scale, the built-in model's CPU–CUDA spread: logits %.2g, loss %.2g, gradients %.2g at %s", l, loss, g, at)
	})
}

func gradsOf(t *testing.T, m *nn.Model) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range m.Trainable() {
		g, err := p.T.Grad()
		if err != nil || g == nil {
			t.Fatalf("%s: no gradient", p.Name)
		}
		v, err := g.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		g.Free()
		out[p.Name] = v
	}
	return out
}

func maxRel(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i])-float64(b[i])))
		s = math.Max(s, math.Abs(float64(a[i])))
	}
	return d / math.Max(s, 1e-12)
}

func norm(a []float32) float64 {
	var s float64
	for _, v := range a {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

func normDiff(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
