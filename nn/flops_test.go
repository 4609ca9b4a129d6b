package nn_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/nn"
)

// A hand-built net whose count is worked out by hand: a grouped, strided
// convolution, a ceil-mode pooling and a linear layer.
func TestFLOPsByHand(t *testing.T) {
	pool := nn.NewMaxPool(2, 2, 0)
	pool.Opts.CeilMode = true
	m := &nn.Model{Arch: "tiny", InChannels: 4, Stages: []*nn.Stage{
		{Name: "stage1", Layers: []nn.Named{{Name: "0", M: nn.Seq(
			nn.NewConv2d(4, 8, 3, 2, 1, 2, true), // 9×9 → 5×5; 8 out × 2 in × 9 taps × 25 = 3,600
			nn.NewBatchNorm2d(8), nn.ReLU(),
			pool, // 5×5 → 3×3 (ceil)
		)}}},
		{Name: "head", Layers: []nn.Named{
			{Name: "avgpool", M: &nn.AdaptivePool{H: 1, W: 1, Flatten: true}},
			{Name: "fc", M: nn.NewLinear(8, 3, true)}, // 24
		}},
	}}
	defer m.Free()
	got, err := m.FLOPs(9, 9)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * (3600 + 24)); got != want {
		t.Errorf("FLOPs = %d, want %d", got, want)
	}
	per, err := m.StageFLOPs(9, 9)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{2 * 3600, 2 * 24}; !slices.Equal(per, want) {
		t.Errorf("StageFLOPs = %v, want %v", per, want)
	}
}

// The built-ins against hand counts and torchvision's published figures
// (its "GFLOPS" column counts multiply-adds, so they are doubled here).
func TestFLOPsBuiltins(t *testing.T) {
	// smallcnn at 32²: convolutions 3→32 at 32², 32→64 at 16², 64→128
	// at 8² (3×3 each), then 128→10.
	smallcnn := 2 * (32*3*9*32*32 + 64*32*9*16*16 + 128*64*9*8*8 + 128*10)
	cases := []struct {
		arch    string
		size    int
		classes int
		want    float64 // FLOPs
		tol     float64 // relative
	}{
		{"smallcnn", 32, 10, float64(smallcnn), 0},
		{"resnet18", 224, 1000, 2 * 1.814e9, 0.005},
		{"resnet50", 224, 1000, 2 * 4.089e9, 0.005},
		{"mobilenet_v2", 224, 1000, 2 * 0.300e9, 0.02},
		{"mobilenet_v3_large", 224, 1000, 2 * 0.217e9, 0.03},
		{"vgg16", 224, 1000, 2 * 15.47e9, 0.005},
	}
	for _, c := range cases {
		t.Run(c.arch, func(t *testing.T) {
			m, err := arch.New(c.arch, arch.Config{NumClasses: c.classes, InChannels: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			got, err := m.FLOPs(c.size, c.size)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s at %d²: %d FLOPs", c.arch, c.size, got)
			if rel := math.Abs(float64(got)-c.want) / c.want; rel > c.tol {
				t.Errorf("%s at %d²: %d FLOPs, want %.4g (off by %.2f%%)", c.arch, c.size, got, c.want, 100*rel)
			}
		})
	}
}

func TestFLOPsRejects(t *testing.T) {
	lin := &nn.Model{Arch: "bad", InChannels: 3, Stages: []*nn.Stage{{Name: "head", Layers: []nn.Named{
		{Name: "fc", M: nn.NewLinear(5, 2, false)},
	}}}}
	defer lin.Free()
	unknown := &nn.Model{Arch: "odd", InChannels: 3, Stages: []*nn.Stage{{Name: "stem", Layers: []nn.Named{
		{Name: "x", M: oddModule{}},
	}}}}
	for _, c := range []struct {
		m    *nn.Model
		h    int
		want string
	}{
		{lin, 4, "linear layer of 5 inputs on a 3×4×4 map"},
		{unknown, 4, "cannot count the FLOPs of a nn_test.oddModule"},
		{unknown, 0, "at least 1"},
	} {
		_, err := c.m.FLOPs(c.h, c.h)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s at %d: error %v, want one saying %q", c.m.Arch, c.h, err, c.want)
		}
	}
}

type oddModule struct{ nn.Flatten }
