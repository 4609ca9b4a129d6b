package onnx

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/graftml/graft/torch"
)

// The round trip of the issue: a torchvision model exported by PyTorch
// imports into graft with a new head, fine-tunes (weights and BatchNorm
// statistics move), exports, passes onnx.checker, and PyTorch, running the
// export node by node (scripts/onnx_fixtures.py check-export), computes
// graft's logits.
func TestTorchvisionRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("generates PyTorch fixtures (about 15 s)")
	}
	dir := modelFixtures(t)
	const (
		classes = 7
		steps   = 2
		lr      = 0.01
	)
	cases := []struct {
		arch string
		size int
	}{
		{"resnet18", 64},
		{"mobilenet_v2", 64},
		{"squeezenet1_1", 64},
		{"densenet121", 64},
	}
	if os.Getenv("GRAFT_ONNX_LARGE") != "" {
		if _, err := os.Stat(filepath.Join(dir, "vgg11_bn", "model.onnx")); err != nil {
			cmd := exec.Command(python, filepath.Join("..", "scripts", "onnx_fixtures.py"), "models", dir, "--arch", "vgg11_bn")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnx_fixtures.py vgg11_bn: %v\n%s", err, lastLines(string(out), 20))
			}
		}
		cases = append(cases, struct {
			arch string
			size int
		}{"vgg11_bn", 224})
	}
	for _, tc := range cases {
		t.Run(tc.arch, func(t *testing.T) {
			start := time.Now()
			m, _, err := Import(filepath.Join(dir, tc.arch, "model.onnx"), ImportOptions{Size: tc.size, Classes: classes})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if m.NumClasses != classes {
				t.Fatalf("%d classes after the import, want %d", m.NumClasses, classes)
			}
			x := loadTensor(t, filepath.Join(dir, tc.arch, "input.pb"))
			defer x.Free()
			before := forward(t, m, x)
			defer before.Free()

			// Fine-tune: a few SGD steps in training mode on a fixed batch.
			target := torch.FromInt64([]int64{3, 5}, 2)
			defer target.Free()
			for i := 0; i < steps; i++ {
				s := torch.NewScope()
				loss := torch.CrossEntropy(m.Forward(s.Track(x.Alias()), true), target, 0)
				if err := loss.Backward(); err != nil {
					s.Close()
					t.Fatalf("step %d: backward: %v", i, err)
				}
				for _, p := range m.Trainable() {
					g, err := p.T.Grad()
					if err != nil || g == nil {
						s.Close()
						t.Fatalf("%s: no gradient (%v)", p.Name, err)
					}
					torch.NoGrad(func() { err = p.T.AddInPlace(g, -lr) })
					g.Free()
					p.T.ZeroGrad()
					if err != nil {
						s.Close()
						t.Fatal(err)
					}
				}
				s.Close()
			}
			want := forward(t, m, x)
			defer want.Free()
			if d := relDiff(t, want, before); d == 0 {
				t.Fatalf("fine-tuning left the eval logits unchanged")
			}

			om, err := Export(m, ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			tmp := t.TempDir()
			path := filepath.Join(tmp, tc.arch+"-ft.onnx")
			if err := WriteFile(path, om); err != nil {
				t.Fatal(err)
			}
			in, out := filepath.Join(tmp, "x.pb"), filepath.Join(tmp, "y.pb")
			writePB(t, in, x)
			cmd := exec.Command(python, filepath.Join("..", "scripts", "onnx_fixtures.py"), "check-export", path, in, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("onnx checker / PyTorch run of the export: %v\n%s", err, lastLines(string(b), 10))
			}
			ref := loadTensor(t, out)
			defer ref.Free()
			d := relDiff(t, want, ref)
			if d > logitsRtol {
				t.Errorf("PyTorch's logits for the fine-tuned export differ from graft's by %.3g (relative), tolerance %g", d, logitsRtol)
			}
			t.Logf("%s: %d classes, %d SGD steps, checker ok, PyTorch within %.2g of graft (%.1fs)",
				tc.arch, classes, steps, d, time.Since(start).Seconds())
		})
	}
}
