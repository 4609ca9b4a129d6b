package checkpoint

import (
	"runtime"
	"strings"
	"testing"
)

// Helpers shared by this package's fuzz targets (each package that fuzzes
// a decoder has a copy: test files cannot be shared across packages).

// fuzzAllocLimit is the most a decoder may allocate for an n-byte input:
// generous per byte (JSON and protobuf decoding build Go values, gzip
// expands up to about 1000-fold), but far below what a forged length field
// would make a decoder ask for.
func fuzzAllocLimit(n int) uint64 { return 16<<20 + 1024*uint64(n) }

// checkAlloc runs decode and fails t when it allocated more than
// fuzzAllocLimit for an n-byte input: a decoder must bound every length it
// reads by the size of its input before allocating for it.
func checkAlloc(t *testing.T, n int, decode func()) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	if got, limit := after.TotalAlloc-before.TotalAlloc, fuzzAllocLimit(n); got > limit {
		t.Fatalf("decoding a %d-byte input allocated %d bytes (limit %d): a length field is trusted beyond the input's size", n, got, limit)
	}
}

// checkErrNames fails t when err does not name one of the files the
// decoder was given.
func checkErrNames(t *testing.T, err error, paths ...string) {
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
