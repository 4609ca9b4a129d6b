package torch

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Why graft gives way to Go's scheduler between libtorch calls.
//
// A goroutine that trains runs for minutes without blocking, nearly all of
// it inside cgo calls, locked to its OS thread (grad mode, autocast and
// OpenMP's thread pool are per thread). Go's sysmon thread preempts any
// goroutine that has run 10 ms without being rescheduled; one inside a cgo
// call cannot be preempted, so sysmon takes its P instead, and every such
// take resets sysmon's back-off: it then wakes every 20 µs instead of
// every 10 ms (golang/go#60693 describes the unconditional preemption).
// Where libtorch's OpenMP threads occupy every core, each wake-up preempts
// one of them and the whole parallel region waits for it. Measured on the
// project's 2-core machine (ResNet-18 inference, batch 32, 64², 100 steps):
// 20,000–25,000 context switches against PyTorch's 250, and 5–10% fewer
// images per second than PyTorch running the same oneDNN primitives.
//
// Rescheduling the goroutine ourselves every yieldEvery, shorter than
// sysmon's 10 ms, means sysmon never has to: it backs off, the context
// switches fall to about 5,000 and the rate to PyTorch's. A locked
// goroutine's reschedule costs a hand-off between two threads (a few
// microseconds), about a hundred times a second.
//
// Only while some goroutine holds LockThread: an unlocked goroutine that
// yields may resume on another OS thread, whose OpenMP thread count and
// grad mode are that thread's own. The clock is the process's, so during a
// locked run an unlocked goroutine's libtorch call may take the yield
// instead (rare: graft's libtorch work runs locked); Go's own preemption
// could move that goroutine as well.
const yieldEvery = 8 * time.Millisecond

// locked counts the goroutines inside LockThread.
var locked atomic.Int32

// LockThread pins the calling goroutine to its OS thread for a run of
// libtorch work, as runtime.LockOSThread does (libtorch's grad mode,
// autocast and OpenMP thread count are per thread, and so are glibc's
// malloc arenas), and lets the work give way to Go's scheduler as above.
// Call the function it returns when the run ends:
//
//	defer torch.LockThread()()
func LockThread() (unlock func()) {
	runtime.LockOSThread()
	locked.Add(1)
	return func() {
		locked.Add(-1)
		runtime.UnlockOSThread()
	}
}

// yielder reschedules its caller when at least every nanoseconds of now's
// clock have passed since it last did, while active counts a locked run.
type yielder struct {
	every  int64
	now    func() int64
	yield  func()
	active *atomic.Int32
	last   atomic.Int64
}

// maybe yields if it is time to, and says whether it did. Calls from
// several goroutines are safe; only one of a racing pair yields.
func (y *yielder) maybe() bool {
	if y.active.Load() == 0 {
		return false
	}
	t, last := y.now(), y.last.Load()
	if t-last < y.every || !y.last.CompareAndSwap(last, t) {
		return false
	}
	y.yield()
	return true
}

var processStart = time.Now()

var libtorchYielder = yielder{
	every:  int64(yieldEvery),
	now:    func() int64 { return int64(time.Since(processStart)) },
	yield:  runtime.Gosched,
	active: &locked,
}
