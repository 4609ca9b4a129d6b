package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// ClassCounts is the number of samples per class, indexed by label. Labels
// outside the class list are not counted.
func ClassCounts(ds Dataset) []int {
	counts := make([]int, len(ds.Classes()))
	for i := 0; i < ds.Len(); i++ {
		if l := ds.Label(i); l >= 0 && l < len(counts) {
			counts[l]++
		}
	}
	return counts
}

// byClass groups sample indices by label, checking every label.
func byClass(ds Dataset) ([][]int, error) {
	groups := make([][]int, len(ds.Classes()))
	for i := 0; i < ds.Len(); i++ {
		l := ds.Label(i)
		if l < 0 || l >= len(groups) {
			return nil, fmt.Errorf("%s: label %d is outside the %d classes", ds.Source(i), l, len(groups))
		}
		groups[l] = append(groups[l], i)
	}
	return groups, nil
}

// classOrder permutes one class's indices with a generator seeded by (seed,
// class) alone, so a class's order does not depend on the others and a
// smaller sample is a prefix of a larger one with the same seed.
func classOrder(idx []int, seed uint64, class int) []int {
	out := slices.Clone(idx)
	r := rand.New(rand.NewPCG(seed, uint64(class)))
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// subsetOf builds a Subset of ds; a Subset of a Subset points at the
// original data set so views never chain.
func subsetOf(ds Dataset, idx []int) *Subset {
	slices.Sort(idx)
	if s, ok := ds.(*Subset); ok {
		base := make([]int, len(idx))
		for i, j := range idx {
			base[i] = s.Indices[j]
		}
		return &Subset{Base: s.Base, Indices: base}
	}
	return &Subset{Base: ds, Indices: idx}
}

// SampleOption adjusts KShot.
type SampleOption func(*sampleConfig)

type sampleConfig struct{ allowFewer bool }

// AllowFewer lets KShot take every sample of a class that has fewer than k
// instead of failing.
func AllowFewer() SampleOption { return func(c *sampleConfig) { c.allowFewer = true } }

// KShot picks k random samples of every class that has any. The choice
// depends only on seed, and with the same seed the 5-shot set is contained
// in the 10-shot set, so learning curves over k compare like with like. A
// class with fewer than k samples is an error unless AllowFewer is given;
// classes with no samples at all are skipped.
func KShot(ds Dataset, k int, seed uint64, opts ...SampleOption) (*Subset, error) {
	var cfg sampleConfig
	for _, o := range opts {
		o(&cfg)
	}
	if k < 1 {
		return nil, fmt.Errorf("k-shot: k is %d; want at least 1 sample per class", k)
	}
	groups, err := byClass(ds)
	if err != nil {
		return nil, fmt.Errorf("k-shot: %w", err)
	}
	var idx []int
	for c, g := range groups {
		if len(g) == 0 {
			continue
		}
		if len(g) < k && !cfg.allowFewer {
			return nil, fmt.Errorf("k-shot: class %q has only %d of the %d samples asked for; lower k or allow fewer", ds.Classes()[c], len(g), k)
		}
		perm := classOrder(g, seed, c)
		idx = append(idx, perm[:min(k, len(perm))]...)
	}
	return subsetOf(ds, idx), nil
}

// StratifiedSplit holds out about valFraction of every class for validation.
// Each class with at least 2 samples keeps at least one on each side; a class
// with a single sample goes to training. The split depends only on seed.
// StratifiedSplitGroups keeps groups of related samples on one side.
func StratifiedSplit(ds Dataset, valFraction float64, seed uint64) (train, val *Subset, err error) {
	return StratifiedSplitGroups(ds, valFraction, seed, nil)
}

// stratifiedSplit is StratifiedSplit's rule, sample by sample; the caller
// has checked valFraction.
func stratifiedSplit(ds Dataset, valFraction float64, seed uint64) (train, val *Subset, err error) {
	groups, err := byClass(ds)
	if err != nil {
		return nil, nil, fmt.Errorf("split: %w", err)
	}
	var tr, va []int
	for c, g := range groups {
		n := len(g)
		if n == 0 {
			continue
		}
		nv := 0
		if n >= 2 {
			nv = min(max(int(math.Round(float64(n)*valFraction)), 1), n-1)
		}
		// Seeding by class differently from KShot (^ a constant) keeps the
		// two independent when both are used with one seed.
		perm := classOrder(g, seed^0x5bd1e995, c)
		va = append(va, perm[:nv]...)
		tr = append(tr, perm[nv:]...)
	}
	if len(va) == 0 {
		return nil, nil, fmt.Errorf("split: no class has 2 samples, so nothing can be held out for validation; add data or skip validation")
	}
	return subsetOf(ds, tr), subsetOf(ds, va), nil
}
