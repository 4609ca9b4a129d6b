// Package torchtest checks that tests free the tensors they make.
//
// Go's collector does not see the memory libtorch holds, so graft frees
// tensors explicitly (Free, or a Scope's Close) and keeps the finalizer as
// a last resort. NoLeaks counts a tensor as leaked when the code under test
// made it and neither freed it nor closed a scope that owned it, whether or
// not the finalizer has since reclaimed it: torch.Live and torch.Finalized
// together make that count exact without forcing a collection, so the result
// does not depend on when the collector runs.
package torchtest

import (
	"os"
	"strings"
	"testing"

	"github.com/graftml/graft/torch"
)

// NoLeaks fails t, when its cleanups run, if tensors made since the call are
// still owned: not freed by Free or a Scope's Close. Call it first in a test,
// so that the test's own deferred frees and later t.Cleanup functions run
// before the check. Tests in a package run one after another here (no
// t.Parallel), which is what the count needs: tensors made by a concurrent
// test would count against this one, and a test that frees tensors made
// before the call offsets its own leaks by as many.
//
// With GRAFT_TRACE_LEAKS set in the environment, a failure also lists the
// call stacks that made the leaked tensors (torch.TraceAllocations).
func NoLeaks(t testing.TB) {
	t.Helper()
	tracing := os.Getenv("GRAFT_TRACE_LEAKS") != ""
	if tracing {
		torch.TraceAllocations(true)
	}
	start, startBytes := owned()
	t.Cleanup(func() {
		end, endBytes := owned()
		if n := end - start; n > 0 {
			msg := ""
			if tracing {
				sites := torch.UnfreedSites()
				if len(sites) > 5 {
					sites = sites[:5]
				}
				msg = "; made at:\n" + strings.Join(sites, "\n")
			} else {
				msg = "; set GRAFT_TRACE_LEAKS=1 to see where they were made"
			}
			t.Errorf("leaked %d tensors (at least %d bytes): made and neither freed nor closed with a scope%s", n, endBytes-startBytes, msg)
		}
		if tracing {
			torch.TraceAllocations(false)
		}
	})
}

// owned is the number of handles made and not explicitly freed so far: the
// live ones plus those the finalizer reclaimed.
func owned() (tensors, bytes int64) {
	n, b := torch.Live()
	fn, fb := torch.Finalized()
	return n + fn, b + fb
}
