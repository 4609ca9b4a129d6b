package torch

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Allocation tracing, for finding leaks: while on, every adopted handle
// records the call stack that made it, until Free releases it.
var trace struct {
	on    atomic.Bool
	mu    sync.Mutex
	sites map[uintptr]string // live tensor → allocation stack
	lost  map[string]int     // allocation stack → handles the finalizer reclaimed
}

// TraceAllocations turns allocation tracing on or off and forgets what it
// had recorded. It slows every op, so only leak hunts use it (torchtest does
// when GRAFT_TRACE_LEAKS is set).
func TraceAllocations(on bool) {
	trace.mu.Lock()
	defer trace.mu.Unlock()
	trace.sites, trace.lost = nil, nil
	if on {
		trace.sites, trace.lost = map[uintptr]string{}, map[string]int{}
	}
	trace.on.Store(on)
}

// UnfreedSites reports, while tracing, where the tensors made and not
// explicitly freed since tracing began were made: one call stack each, with
// how many tensors it made, most first.
func UnfreedSites() []string {
	trace.mu.Lock()
	count := map[string]int{}
	for _, s := range trace.sites {
		count[s]++
	}
	for s, n := range trace.lost {
		count[s] += n
	}
	trace.mu.Unlock()
	stacks := make([]string, 0, len(count))
	for s := range count {
		stacks = append(stacks, s)
	}
	sort.Slice(stacks, func(i, j int) bool {
		if count[stacks[i]] != count[stacks[j]] {
			return count[stacks[i]] > count[stacks[j]]
		}
		return stacks[i] < stacks[j]
	})
	out := make([]string, len(stacks))
	for i, s := range stacks {
		out[i] = fmt.Sprintf("%d× at%s", count[s], s)
	}
	return out
}

func traceAdopt(t *Tensor) {
	pc := make([]uintptr, 12)
	n := runtime.Callers(3, pc)
	frames := runtime.CallersFrames(pc[:n])
	var b strings.Builder
	for {
		f, more := frames.Next()
		inTorch := strings.HasPrefix(f.Function, "github.com/graftml/graft/torch.") && !strings.HasSuffix(f.File, "_test.go")
		if !inTorch {
			fmt.Fprintf(&b, "\n\t%s (%s:%d)", f.Function, f.File, f.Line)
		}
		if !more {
			break
		}
	}
	trace.mu.Lock()
	if trace.sites != nil {
		trace.sites[uintptr(unsafe.Pointer(t))] = b.String()
	}
	trace.mu.Unlock()
}

func traceFree(t *Tensor, finalized bool) {
	trace.mu.Lock()
	k := uintptr(unsafe.Pointer(t))
	if s, ok := trace.sites[k]; ok {
		delete(trace.sites, k)
		if finalized {
			trace.lost[s]++
		}
	}
	trace.mu.Unlock()
}
