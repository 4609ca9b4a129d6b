package data

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Check decodes every sample of ds on workers goroutines (≤0 means
// GOMAXPROCS) and checks each label, returning the error of the lowest
// failing index, so the answer does not depend on scheduling. The CLI runs
// it up front on small sets so a corrupt file fails before training starts
// rather than hours in.
func Check(ds Dataset, workers int) error {
	nc := len(ds.Classes())
	return forEach(ds.Len(), workers, func(i int) error {
		if l := ds.Label(i); l < 0 || l >= nc {
			return &ErrSample{Source: ds.Source(i), Err: fmt.Errorf("label %d is outside the %d classes", l, nc)}
		}
		_, err := ds.Image(i)
		if err != nil {
			var es *ErrSample
			if !errors.As(err, &es) {
				err = &ErrSample{Source: ds.Source(i), Err: err}
			}
		}
		return err
	})
}

// forEach runs fn(0..n-1) on workers goroutines and returns the error with
// the lowest index. Indices are handed out in increasing order and none is
// started beyond a known failure, so every index below the failing one has
// run and the result is deterministic.
func forEach(n, workers int, fn func(i int) error) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	var (
		next    atomic.Int64
		mu      sync.Mutex
		errIdx  = n
		firstEr error
		wg      sync.WaitGroup
	)
	failedBelow := func(i int) bool {
		mu.Lock()
		defer mu.Unlock()
		return errIdx < i
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failedBelow(i) {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if i < errIdx {
						errIdx, firstEr = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstEr
}
