package onnx_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// stripes makes n 16×16 RGB images of 4 classes: stripes that run
// horizontally, vertically, or along either diagonal, at a random phase,
// with noise — easy for any convolution, whatever its position.
func stripes(n int, seed uint64) data.Dataset {
	rng := rand.New(rand.NewPCG(seed, 7))
	var ims []*data.Image
	var labels []int
	for i := 0; i < n; i++ {
		c := i % 4
		im := data.NewImage(3, 16, 16)
		phase := rng.IntN(4)
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				k := [4]int{y, x, x + y, x - y + 16}[c]
				v := 0.2
				if (k+phase)%4 < 2 {
					v = 0.8
				}
				for ch := 0; ch < 3; ch++ {
					im.Set(ch, y, x, float32(v+rng.NormFloat64()*0.1))
				}
			}
		}
		ims = append(ims, im)
		labels = append(labels, c)
	}
	ds, _ := data.NewInMemory(ims, labels, []string{"h", "v", "d", "a"})
	return ds
}

// scratch re-initialises an imported graph (each layer type as PyTorch
// initialises it) and trains it: on an easy task it ends far above chance,
// with BatchNorm kept and with BatchNorm folded away. Before, an imported
// graph started scratch from the zeros of its checkpoint's graph file and
// predicted one class.
func TestScratchLearnsOnImportedGraph(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small networks (a few seconds)")
	}
	// Loading an imported checkpoint needs its graph codec (cli.Main sets it).
	train, val := stripes(160, 1), stripes(80, 2)
	scratch, err := strategy.Parse("scratch")
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range []string{"kept.onnx", "folded.onnx"} {
		t.Run(file, func(t *testing.T) {
			m, info, err := onnx.Import(filepath.Join("testdata", "folded", file), onnx.ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ck := filepath.Join(t.TempDir(), "base")
			err = onnx.Checkpoints.Save(ck, m, checkpoint.Meta{Classes: []string{"w", "x", "y", "z"}, Preprocess: info.Preprocess}, nil)
			m.Free()
			if err != nil {
				t.Fatal(err)
			}
			base, err := experiment.LoadBase(ck)
			if err != nil {
				t.Fatal(err)
			}
			loader := func(ds data.Dataset, shuffle bool) *data.Loader {
				l, err := data.NewLoader(ds, data.LoaderConfig{BatchSize: 16, Shuffle: shuffle, Seed: 1, Workers: 1, Preprocess: base.Meta.Preprocess, CacheDecoded: true})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			res, err := experiment.Trial{Base: base, Strategy: scratch, Train: loader(train, true), Val: loader(val, false),
				Classes: 4, Seed: 1, LR: 1e-2, Budget: strategy.Budget{Epochs: 10}, Batch: 16}.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer res.Model.Free()
			if res.Status != "ok" || res.ValAcc < 0.6 {
				var hist []string
				for _, e := range res.Result.History {
					hist = append(hist, fmt.Sprintf("%.2f", e.ValAcc))
				}
				t.Fatalf("scratch on %s: status %s, best validation accuracy %.2f (chance 0.25); by epoch %v", file, res.Status, res.ValAcc, hist)
			}
			t.Logf("scratch on %s: validation accuracy %.2f after %d epochs (chance 0.25)", file, res.ValAcc, len(res.Result.History))
		})
	}
}

// ResetParameters draws an imported graph's parameters as PyTorch's layers
// initialise themselves, and leaves a built-in architecture (which has no
// Resetter layers: arch.New made it fresh) bit for bit as it was.
func TestResetParameters(t *testing.T) {
	m, _, err := onnx.Import(filepath.Join("testdata", "folded", "kept.onnx"), onnx.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	torch.ManualSeed(5)
	n, err := m.ResetParameters()
	if err != nil || n == 0 {
		t.Fatalf("reset %d layers: %v", n, err)
	}
	params := map[string][]float32{}
	for _, p := range m.Params() {
		v, err := p.T.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		params[p.Name] = v
	}
	for _, tc := range []struct {
		name  string
		fanIn int // > 0: U(±1/√fanIn); else every value is want
		want  float32
	}{
		{name: "stem.0.weight", fanIn: 3 * 3 * 3},
		{name: "layer2.0.weight", fanIn: 8 * 3 * 3},
		{name: "stem.1.weight", want: 1},
		{name: "stem.1.bias", want: 0},
		{name: "layer1.1.running_mean", want: 0},
		{name: "layer1.1.running_var", want: 1},
	} {
		var v []float32
		for name, vals := range params {
			if strings.HasSuffix(name, tc.name) {
				v = vals
			}
		}
		if v == nil {
			t.Fatalf("no parameter %s among %v", tc.name, keys(params))
		}
		if tc.fanIn == 0 {
			for _, x := range v {
				if x != tc.want {
					t.Errorf("%s holds %g, want all %g", tc.name, x, tc.want)
					break
				}
			}
			continue
		}
		bound := 1 / math.Sqrt(float64(tc.fanIn))
		var maxAbs, sq float64
		for _, x := range v {
			maxAbs = max(maxAbs, math.Abs(float64(x)))
			sq += float64(x) * float64(x)
		}
		std := math.Sqrt(sq / float64(len(v)))
		// U(±b) has standard deviation b/√3.
		if maxAbs > bound || math.Abs(std-bound/math.Sqrt(3)) > 0.2*bound {
			t.Errorf("%s: max |w| %.4f, std %.4f; want within ±%.4f, std %.4f", tc.name, maxAbs, std, bound, bound/math.Sqrt(3))
		}
	}

	b, err := arch.New("smallcnn", arch.Config{NumClasses: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Free()
	before := snapshot(t, b)
	if n, err := b.ResetParameters(); n != 0 || err != nil {
		t.Errorf("a built-in architecture reset %d layers (%v); it has none to reset", n, err)
	}
	if after := snapshot(t, b); !slices.Equal(before, after) {
		t.Errorf("ResetParameters changed a built-in architecture's weights")
	}
}

func keys(m map[string][]float32) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func snapshot(t *testing.T, m *nn.Model) []float32 {
	t.Helper()
	var out []float32
	for _, p := range m.Params() {
		if p.T.Numel() == 0 || strings.HasSuffix(p.Name, "num_batches_tracked") {
			continue
		}
		v, err := p.T.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v...)
	}
	return out
}
