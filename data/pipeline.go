package data

import (
	"context"
	"math/rand/v2"
	"sync"
)

// runEpoch is a loader's epoch as a pipeline: batches 0..nb-1 are built by
// build on up to workers goroutines, each with its own state from newState,
// at most prefetch batches ahead of the consumer, and handed to yield in
// order. Which goroutine builds a batch never shows in the result, because
// build depends only on the batch number. Stopping early (yield returning
// false), a build error or cancelling ctx stops the workers, and batches
// built but never yielded go to release (which must accept the zero B).
//
// Loader.Epoch and DetectionLoader.Epoch both run on it.
func runEpoch[B, S any](ctx context.Context, nb, workers, prefetch int,
	newState func() S, build func(context.Context, S, int) (B, error), release func(B),
	yield func(B, error) bool) {
	if nb == 0 {
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		b   B
		err error
	}
	done := make([]chan result, nb)
	for i := range done {
		done[i] = make(chan result, 1)
	}
	jobs := make(chan int)
	tokens := make(chan struct{}, prefetch)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for b := 0; b < nb; b++ {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range min(workers, nb) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newState()
			for b := range jobs {
				bt, err := build(ctx, s, b)
				done[b] <- result{bt, err}
			}
		}()
	}
	consumed := 0
	defer func() {
		cancel()
		wg.Wait()
		for ; consumed < nb; consumed++ {
			select {
			case r := <-done[consumed]:
				release(r.b)
			default:
			}
		}
	}()
	for b := 0; b < nb; b++ {
		var r result
		select {
		case r = <-done[b]:
		case <-ctx.Done():
			var zero B
			yield(zero, ctx.Err())
			return
		}
		consumed = b + 1
		<-tokens
		if r.err != nil {
			var zero B
			yield(zero, r.err)
			return
		}
		if !yield(r.b, nil) {
			return
		}
	}
}

// The schedule both loaders share: how many batches an epoch has, the
// order of its samples, and each sample's generator stream.

// batchCount is the number of batches of n samples in batches of bs,
// the last partial one dropped when dropLast.
func batchCount(n, bs int, dropLast bool) int {
	if dropLast {
		return n / bs
	}
	return (n + bs - 1) / bs
}

// epochOrder is the sample order of an epoch: a permutation that depends
// only on seed and epoch when shuffling, else 0..n-1.
func epochOrder(n int, shuffle bool, seed uint64, epoch int) []int {
	if !shuffle {
		order := make([]int, n)
		for i := range order {
			order[i] = i
		}
		return order
	}
	return rand.New(rand.NewPCG(seed, splitmix64(uint64(epoch)))).Perm(n)
}

// sampleSeed gives each (seed, epoch, index) its own generator stream, so a
// sample is augmented identically whichever worker handles it.
func sampleSeed(seed uint64, epoch, index int) (uint64, uint64) {
	return splitmix64(seed ^ splitmix64(uint64(epoch))), splitmix64(uint64(index) + 0x632be59bd9b4e019)
}
