package torchtest_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

// recorder stands in for a test whose failure is the expected outcome.
type recorder struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *recorder) Helper()                   {}
func (r *recorder) Cleanup(f func())          { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(f string, a ...any) { r.errs = append(r.errs, fmt.Sprintf(f, a...)) }

func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestNoLeaksPassesWhenFreed(t *testing.T) {
	r := &recorder{TB: t}
	torchtest.NoLeaks(r)
	x := torch.Ones(2, 3)
	s := torch.NewScope()
	y := x.Add(s.Track(torch.Zeros(2, 3)))
	_ = y.Mul(y)
	s.Close()
	x.Free()
	r.finish()
	if len(r.errs) != 0 {
		t.Fatalf("NoLeaks failed a test that freed everything: %v", r.errs)
	}
}

func TestNoLeaksFailsOnDroppedTensor(t *testing.T) {
	r := &recorder{TB: t}
	torchtest.NoLeaks(r)
	kept := torch.Ones(4)           // still live at the check
	func() { _ = torch.Zeros(8) }() // dropped: only the finalizer reclaims it
	runtime.GC()
	runtime.GC()
	r.finish()
	kept.Free()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "leaked 2 tensors (at least 48 bytes)") {
		t.Fatalf("NoLeaks reported %q, want one failure saying \"leaked 2 tensors (at least 48 bytes)\"", r.errs)
	}
}
