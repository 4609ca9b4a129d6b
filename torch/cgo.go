package torch

// The shim is a separate shared library (torch/shim, built by
// `make -C torch/shim`) so that a CUDA or libtorch 2.x build of it can be
// swapped under an already-built graft binary with LD_LIBRARY_PATH: the
// RUNPATH below is only the default.

/*
#cgo CFLAGS: -I${SRCDIR}/shim
#cgo LDFLAGS: -L${SRCDIR}/../build/lib -lgraft_shim -Wl,-rpath,${SRCDIR}/../build/lib
#include <stdlib.h>
#include "graft_shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Error is a failure reported by libtorch, with the operation that failed.
type Error struct {
	Op  string
	Msg string
}

func (e *Error) Error() string { return "torch " + e.Op + ": " + e.Msg }

// check converts a shim error string into a Go error and frees it.
func check(op string, e C.gs_error) error {
	libtorchYielder.maybe() // see yield.go
	if e == nil {
		return nil
	}
	msg := C.GoString(e)
	C.gs_free_error(e)
	// libtorch's dispatcher errors go on for dozens of lines listing
	// backends; the first line says what went wrong.
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = strings.TrimSpace(msg[:i])
	}
	return &Error{Op: op, Msg: msg}
}

// shape converts Go dimensions for the C side. The returned pointer refers
// to Go memory that holds no Go pointers, which cgo allows for the duration of
// the call.
func cints(v []int64) (*C.int64_t, C.int) {
	if len(v) == 0 {
		var dummy [1]C.int64_t
		return &dummy[0], 0
	}
	return (*C.int64_t)(unsafe.Pointer(&v[0])), C.int(len(v))
}

func pair(v [2]int64) *C.int64_t { return (*C.int64_t)(unsafe.Pointer(&v[0])) }

func bint(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// CheckShim reports whether the shim library this process loaded was
// built from the header this binary was compiled with (GS_ABI): a shim
// from another graft version reads some calls' arguments differently, and
// would train garbage rather than fail.
func CheckShim() error {
	if got, want := int(C.gs_abi()), int(C.GS_ABI); got != want {
		return fmt.Errorf("the libgraft_shim.so this process loaded (through LD_LIBRARY_PATH or the binary's run path) speaks ABI %d and this graft binary needs %d: rebuild one from the same checkout as the other (make -C torch/shim, then go build ./cmd/graft), or point LD_LIBRARY_PATH at the shim built with it", got, want)
	}
	return nil
}

// Version is the libtorch version the shim was built against.
func Version() string {
	var buf [64]C.char
	C.gs_version(&buf[0], C.int(len(buf)))
	return C.GoString(&buf[0])
}

// SetNumThreads sets the intra-op thread count of libtorch's CPU kernels.
func SetNumThreads(n int) error {
	if n < 1 {
		return errors.New("torch: thread count must be at least 1")
	}
	return check("set_num_threads", C.gs_set_num_threads(C.int(n)))
}

// NumThreads is the intra-op thread count in use.
func NumThreads() int { return int(C.gs_get_num_threads()) }

// ManualSeed seeds libtorch's generators (CPU and CUDA): weight
// initialisation, dropout and randperm repeat under the same seed.
func ManualSeed(seed uint64) {
	rngMu.Lock()
	defer rngMu.Unlock()
	C.gs_manual_seed(C.uint64_t(seed))
}

// rngMu serialises use of libtorch's global generator by Seeded sections.
var rngMu sync.Mutex

// Seeded seeds libtorch's generators and runs f while no other Seeded
// section or ManualSeed can reseed them: weight initialisation in one
// goroutine is then not disturbed by a run beside it. (Dropout draws made
// outside such sections still share the generator.)
func Seeded(seed uint64, f func()) {
	rngMu.Lock()
	defer rngMu.Unlock()
	C.gs_manual_seed(C.uint64_t(seed))
	f()
}

// CUDADeviceCount is the number of usable CUDA devices; 0 for CPU builds.
func CUDADeviceCount() int { return int(C.gs_cuda_device_count()) }

// NoGrad runs f with autograd recording off, as PyTorch's torch.no_grad().
// Grad mode is thread-local in libtorch, so the goroutine is pinned to its OS
// thread for the duration; every op f issues must run on this goroutine.
func NoGrad(f func()) {
	defer LockThread()()
	prev := C.gs_grad_enabled()
	C.gs_set_grad_enabled(0)
	defer C.gs_set_grad_enabled(prev)
	f()
}

// GradEnabled reports whether autograd records on the calling thread.
func GradEnabled() bool { return C.gs_grad_enabled() != 0 }

// TuneAllocator keeps up to keepBytes of freed memory in glibc's heap for
// reuse instead of returning it to the kernel after every step, which
// otherwise costs page faults on each reallocation, serves even the
// largest blocks from the heap (no mmap), and keeps one malloc arena for
// all threads (see graft_shim.cpp; detectors at 320² train 2–4× faster).
// Programs that train call it once at start; graft's CLI does.
func TuneAllocator(keepBytes int64) { C.gs_tune_allocator(C.int64_t(keepBytes)) }

// abiVersion is the GS_ABI this binary was compiled with.
func abiVersion() int { return int(C.GS_ABI) }
