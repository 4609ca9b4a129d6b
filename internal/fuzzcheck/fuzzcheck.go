// Package fuzzcheck holds the properties every fuzz target of graft's
// decoders asserts beyond "no panic": allocation bounded by the input's
// size, and errors that name the file. It is imported by tests only.
package fuzzcheck

import (
	"runtime"
	"strings"
	"testing"
)

// AllocLimit is the most a decoder may allocate for an n-byte input:
// generous per byte (JSON and protobuf decoding build Go values, gzip
// expands up to about 1000-fold), but far below what a forged length field
// would make a decoder ask for.
func AllocLimit(n int) uint64 { return 16<<20 + 1024*uint64(n) }

// Alloc runs decode and fails t when it allocated more than AllocLimit
// for an n-byte input: a decoder must bound every length it reads by the
// size of its input before allocating for it.
func Alloc(t testing.TB, n int, decode func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, AllocLimit(n); got > limit {
		t.Fatalf("decoding a %d-byte input allocated %d bytes (limit %d): a length field is trusted beyond the input's size", n, got, limit)
	}
}

// ErrNames fails t when err is not nil and does not name one of the files
// the decoder was given.
func ErrNames(t testing.TB, err error, paths ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, p := range paths {
		if strings.Contains(err.Error(), p) {
			return
		}
	}
	t.Fatalf("error does not name the file (%s): %v", strings.Join(paths, ", "), err)
}
