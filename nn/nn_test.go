package nn

import (
	"slices"
	"testing"

	"github.com/graftml/graft/torch"
)

func TestBatchNormCountsBatchesAndFreezes(t *testing.T) {
	bn := NewBatchNorm2d(2)
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Randn(4, 2, 3, 3))
	for i := 0; i < 3; i++ {
		if err := bn.Forward(x, true).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n, _ := bn.NumBatchesTracked.Item()
	if n != 3 {
		t.Errorf("num_batches_tracked = %v after 3 training batches", n)
	}
	before, _ := bn.RunningMean.Float32s()
	bn.Frozen = true
	bn.Forward(x, true)
	after, _ := bn.RunningMean.Float32s()
	for i := range before {
		if before[i] != after[i] {
			t.Fatal("a frozen BatchNorm updated its running mean")
		}
	}
	if n, _ := bn.NumBatchesTracked.Item(); n != 3 {
		t.Errorf("frozen BatchNorm counted a batch: %v", n)
	}
}

func TestWalkReachesBlockBatchNorms(t *testing.T) {
	b := NewBasicBlock(4, 8, 2)
	var bns int
	Walk([]Named{{"b", b}}, func(m Module) {
		if _, ok := m.(*BatchNorm2d); ok {
			bns++
		}
	})
	if bns != 3 {
		t.Errorf("Walk found %d BatchNorms in a downsampling basic block, want 3", bns)
	}
}

// A head trained through StandardizeClassifier must fold into a plain
// Linear that computes what the pair computed, under the Linear's own
// parameter names, with statistics that are those of the training inputs.
func TestStandardizeFoldsIntoClassifier(t *testing.T) {
	for _, bias := range []bool{true, false} {
		s := torch.NewScope()
		m := &Model{Arch: "test", Stages: []*Stage{{Name: "head", Layers: []Named{
			{"flatten", Flatten{}}, {"fc", NewLinear(3, 2, bias)}}}}}
		names := func() (out []string) {
			for _, p := range m.Params() {
				out = append(out, p.Name)
			}
			return out
		}
		want := names()
		if err := m.StandardizeClassifier(); err != nil {
			t.Fatal(err)
		}
		if l, _ := m.Classifier(); l == nil {
			t.Fatal("Classifier does not see the Linear inside the standardised slot")
		}
		if _, wrapped := m.Head().Layers[1].M.(*standardized); wrapped != bias {
			t.Fatalf("bias %v: standardised %v; only a classifier with a bias can take the folded shift", bias, wrapped)
		}
		// A batch of one image has no variance: it passes through without
		// touching the statistics (libtorch would refuse it).
		if err := m.Forward(s.Track(torch.Randn(1, 3, 1, 1)), true).Err(); err != nil {
			t.Fatalf("a one-image batch: %v", err)
		}
		// Features with a large shared mean, as pooled ReLU outputs have.
		var batches []*torch.Tensor
		for i := 0; i < 4; i++ {
			x := s.Track(torch.Randn(8, 3, 1, 1))
			x = x.MulScalar(0.2).AddScalar(5 + float64(i%2))
			batches = append(batches, x)
			if err := m.Forward(x, true).Err(); err != nil {
				t.Fatal(err)
			}
		}
		all := s.Track(torch.Cat(batches, 0))
		if bias {
			std := m.Head().Layers[1].M.(*standardized).Children[0].M.(*Standardize)
			mean, _ := std.Mean.Float32s()
			wantMean, _ := all.Flatten(1, -1).Mean(0).Float32s()
			for i := range mean {
				if d := mean[i] - wantMean[i]; d > 1e-4 || d < -1e-4 {
					t.Errorf("running mean[%d] = %v, the training inputs' mean is %v", i, mean[i], wantMean[i])
				}
			}
		}
		before, _ := m.Forward(all, false).Float32s()
		if err := m.FoldStandardize(); err != nil {
			t.Fatal(err)
		}
		after, _ := m.Forward(all, false).Float32s()
		for i := range before {
			if d := before[i] - after[i]; d > 1e-3 || d < -1e-3 {
				t.Fatalf("bias %v: output %d is %v folded, %v standardised", bias, i, after[i], before[i])
			}
		}
		if got := names(); !slices.Equal(got, want) {
			t.Errorf("bias %v: parameters after folding %v, before standardising %v", bias, got, want)
		}
		s.Close()
		m.Free()
	}
}
