package arch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/torch"
)

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return strings.Join(parts, "x")
}

// TestTorchvisionNames checks every parameter name and shape against the
// state_dict torchvision produces (testdata/*.golden, written by
// scripts/torchvision_names.py), so torchvision weights load by name.
func TestTorchvisionNames(t *testing.T) {
	for _, name := range Names() {
		golden := filepath.Join("testdata", name+".golden")
		if _, err := os.Stat(golden); err != nil {
			continue // smallcnn is graft's own
		}
		t.Run(name, func(t *testing.T) {
			m, err := New(name, Config{NumClasses: 10})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			var got []string
			for _, p := range m.Params() {
				got = append(got, strings.TrimSpace(p.Name+" "+shapeString(p.T.Shape())))
			}
			f, err := os.Open(golden)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var want []string
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				want = append(want, strings.TrimSpace(sc.Text()))
			}
			if len(got) != len(want) {
				t.Fatalf("%d params, torchvision has %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("param %d: got %q, torchvision %q", i, got[i], want[i])
				}
			}
		})
	}
}

// TestArchitectureSuite is the contract every built-in keeps: any class
// count, small inputs, grey or RGB, a cut after every stage, a replaceable
// head, freezing by stage.
func TestArchitectureSuite(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && strings.HasPrefix(name, "vgg16") {
				t.Skip("large")
			}
			torch.ManualSeed(1)
			m, err := New(name, Config{NumClasses: 5, InChannels: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			if m.Head().Name != "head" {
				t.Fatalf("last stage is %q, want head", m.Head().Name)
			}
			forward := func(m *nn.Model, wantClasses int64) {
				t.Helper()
				s := torch.NewScope()
				defer s.Close()
				x := s.Track(torch.Randn(2, 1, 32, 32))
				var y *torch.Tensor
				torch.NoGrad(func() { y = m.Forward(x, false) })
				if err := y.Err(); err != nil {
					t.Fatal(err)
				}
				if got := y.Shape(); len(got) != 2 || got[0] != 2 || got[1] != wantClasses {
					t.Fatalf("output shape %v, want [2 %d]", got, wantClasses)
				}
			}
			forward(m, 5)
			// Stage metadata must match what the stage really outputs.
			s := torch.NewScope()
			x := s.Track(torch.Randn(1, 1, 64, 64))
			torch.NoGrad(func() {
				for i, st := range m.Stages[:len(m.Stages)-1] {
					x = st.Forward(x, false)
					sh := x.Shape()
					if sh == nil {
						t.Fatalf("stage %s: %v", st.Name, x.Err())
					}
					if int(sh[1]) != st.Channels || int(64/sh[2]) != st.Reduction {
						t.Errorf("stage %d %s: output %v, metadata says %d channels at /%d", i, st.Name, sh, st.Channels, st.Reduction)
					}
				}
			})
			s.Close()
			if err := m.ResetClassifier(3); err != nil {
				t.Fatal(err)
			}
			forward(m, 3)
			if _, cname := m.Classifier(); cname == "" {
				t.Error("no classifier found")
			}
			// Freezing all but the head leaves only the head trainable.
			for i := range m.Stages {
				if err := m.SetTrainable(i, i == len(m.Stages)-1, false); err != nil {
					t.Fatal(err)
				}
			}
			_, trainable := m.CountParams()
			var headN int64
			for _, p := range m.Head().Params() {
				headN += p.T.Numel()
			}
			if trainable != headN {
				t.Errorf("trainable %d, head has %d", trainable, headN)
			}
			total, _ := m.CountParams()
			for k := 0; k < len(m.Stages)-1; k++ {
				if total > 50_000_000 && k != len(m.Stages)-2 {
					continue // VGG's 100M-weight classifier makes every rebuild slow; the last cut covers it
				}
				c, err := New(name, Config{NumClasses: 4, InChannels: 1})
				if err != nil {
					t.Fatal(err)
				}
				if err := c.Truncate(k, 4); err != nil {
					t.Fatal(err)
				}
				forward(c, 4)
				c.Free()
			}
		})
	}
}

func TestUnknownArchitecture(t *testing.T) {
	_, err := New("resnet19", Config{NumClasses: 3})
	if err == nil || !strings.Contains(err.Error(), "resnet18") {
		t.Errorf("error %v should list the known architectures", err)
	}
	if _, err := New("resnet18", Config{NumClasses: 1}); err == nil {
		t.Error("1 class accepted")
	}
}
