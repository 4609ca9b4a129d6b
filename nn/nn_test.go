package nn

import (
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
