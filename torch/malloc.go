package torch

import (
	"os"
	"runtime"
	"syscall"
)

// MallocEnv is TuneAllocator(1 GiB) — what graft's CLI calls — as glibc's
// environment variables: mmap threshold 32 MiB (glibc's cap), trim
// threshold 1 GiB, no mmap, one arena. bench gives them to the PyTorch peer
// for the like-for-like comparison.
var MallocEnv = []string{"MALLOC_MMAP_THRESHOLD_=33554432", "MALLOC_TRIM_THRESHOLD_=1073741824", "MALLOC_MMAP_MAX_=0", "MALLOC_ARENA_MAX=1"}

// ExecWithMallocEnv starts the running program again, in place (same
// process, same arguments), with MallocEnv in its environment, unless
// MALLOC_ARENA_MAX is already set there (by an earlier start, or by the
// user, whose choice stands). It returns only when it does not restart.
//
// Why: TuneAllocator's one-arena setting comes too late to matter. By the
// time main runs, the Go runtime's threads have made cgo calls and own
// malloc arenas of their own; an arena other than the main one lives in
// 64 MB heaps that glibc unmaps whenever one empties, so a training step
// that frees its activations gets them back as fresh pages, each faulted
// in again: 10,000 page faults per ResNet-18 step (batch 32, 64²), against
// none with MALLOC_ARENA_MAX=1 in the environment, which glibc reads
// before any thread exists. Linux only; elsewhere it does nothing.
func ExecWithMallocEnv() error {
	if runtime.GOOS != "linux" || os.Getenv("MALLOC_ARENA_MAX") != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, append(os.Environ(), MallocEnv...))
}
