package torch

import (
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLiveCountsAdoptionsAndFrees(t *testing.T) {
	n0, b0 := Live()
	const n = 10
	xs := make([]*Tensor, n)
	for i := range xs {
		xs[i] = Zeros(2, 3) // 24 bytes each
	}
	if n1, b1 := Live(); n1-n0 != n || b1-b0 != n*24 {
		t.Fatalf("after %d Zeros(2, 3): Live moved by %d tensors, %d bytes; want %d, %d", n, n1-n0, b1-b0, n, n*24)
	}
	s := NewScope()
	y := s.Track(xs[0]).Add(xs[1]).Relu() // two op results join the scope
	if n2, _ := Live(); n2-n0 != n+2 {
		t.Fatalf("op results: Live moved by %d, want %d", n2-n0, n+2)
	}
	s.Close() // frees xs[0], the sum and y
	y.Free()  // a second free changes nothing
	for _, x := range xs {
		x.Free()
	}
	errTensor(nil).Free()
	if n3, b3 := Live(); n3 != n0 || b3 != b0 {
		t.Fatalf("after freeing everything: Live = %d tensors, %d bytes; want %d, %d", n3, b3, n0, b0)
	}
}

func TestFinalizerCountsAsFinalized(t *testing.T) {
	n0, _ := Live()
	f0, _ := Finalized()
	func() { _ = Ones(3) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		runtime.GC()
		f, fb := Finalized()
		if n, _ := Live(); f-f0 == 1 && n == n0 {
			if fb < 12 {
				t.Errorf("finalized bytes = %d, want at least 12", fb)
			}
			return
		}
		if time.Now().After(deadline) {
			n, _ := Live()
			t.Fatalf("dropped tensor: Finalized moved by %d, Live by %d; want 1, 0", f-f0, n-n0)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScopeConcurrentUse runs under -race: goroutines share one scope,
// tracking tensors into it, computing results that join it, keeping some and
// asking its length, before one Close frees what it still owns.
func TestScopeConcurrentUse(t *testing.T) {
	n0, _ := Live()
	s := NewScope()
	var wg sync.WaitGroup
	kept := make([]*Tensor, 8)
	for g := range kept {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				x := s.Track(Ones(2))
				y := x.Relu().MulScalar(2)
				if i == 0 {
					kept[g] = s.Keep(y)
				}
				_ = s.Len()
			}
		}()
	}
	wg.Wait()
	s.Close()
	if s.Len() != 0 {
		t.Errorf("closed scope owns %d tensors", s.Len())
	}
	for _, k := range kept {
		if got := vals(t, k); !near(got, []float32{2, 2}, 0) {
			t.Errorf("kept tensor = %v, want [2 2]", got)
		}
		k.Free()
	}
	if n, _ := Live(); n != n0 {
		t.Errorf("Live = %d after closing and freeing everything, want %d", n, n0)
	}
}

func TestTraceAllocations(t *testing.T) {
	TraceAllocations(true)
	defer TraceAllocations(false)
	x := Ones(2)
	y := x.Relu()
	sites := UnfreedSites()
	if len(sites) != 2 || !strings.Contains(sites[1], "TestTraceAllocations") || !strings.Contains(sites[0], "TestTraceAllocations") {
		t.Errorf("sites while two tensors live: %q", sites)
	}
	x.Free()
	y.Free()
	if sites := UnfreedSites(); len(sites) != 0 {
		t.Errorf("sites after freeing both: %q", sites)
	}
}
