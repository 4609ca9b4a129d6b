package data

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
)

// Groups tie samples that must stay on one side of a split: several photos of
// one physical sign (a GTSRB track) are near-duplicates, so a validation set
// holding frames whose siblings are in training measures memory, not
// generalisation. A grouping is a []string index-aligned with the data set;
// samples with the same non-empty key form one group, and "" makes a sample
// its own group.

// trackName is GTSRB's TRACK_FRAME file name, e.g. 00012_00029.ppm. The
// extension is left open so sets converted to PNG keep their tracks.
var trackName = regexp.MustCompile(`^(\d{5})_\d{5}\.[A-Za-z0-9]+$`)

// TrackGroups recognises GTSRB's TRACK_FRAME file names (e.g. 00012_00029.ppm:
// track 12, frame 29, in the class folder 00003/) in the base name of
// ds.Source(i) and returns one group key per sample, "00003/00012": the parent
// folder's name plus the track number, since track numbers restart in every
// class. Both OpenGTSRB's training set and OpenFolder on its Images folder
// give such sources; GTSRB's test set (00000.ppm, …) has no tracks.
//
// It returns nil when fewer than half of the samples have such names, so
// that a few look-alike names do not make an ungrouped set look grouped;
// samples without such a name get "" (their own group).
func TrackGroups(ds Dataset) []string {
	n := ds.Len()
	keys := make([]string, n)
	found := 0
	for i := range n {
		src := ds.Source(i)
		m := trackName.FindStringSubmatch(filepath.Base(src))
		if m == nil {
			continue
		}
		keys[i] = filepath.Base(filepath.Dir(src)) + "/" + m[1]
		found++
	}
	if n == 0 || 2*found < n {
		return nil
	}
	return keys
}

// PatternGroups applies a regular expression to every ds.Source(i); the
// first capture group (or the whole match if it has none) is the sample's
// group key, for groupings that file names encode in other ways (a patient
// ID, a video name). A capture group that matches nothing gives "", making
// that sample its own group. A source that does not match is an error naming
// the source and the pattern, since a silently ungrouped sample could leak
// into validation.
func PatternGroups(ds Dataset, pattern string) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("group pattern %q: %v; pass a Go regular expression (RE2 syntax) whose first (…) captures the group, e.g. %q", pattern, err, `([^/]+)_\d+\.png$`)
	}
	keys := make([]string, ds.Len())
	missed, first := 0, ""
	for i := range keys {
		src := ds.Source(i)
		m := re.FindStringSubmatch(src)
		if m == nil {
			if missed == 0 {
				first = src
			}
			missed++
			continue
		}
		keys[i] = m[0]
		if len(m) > 1 {
			keys[i] = m[1]
		}
	}
	if missed > 0 {
		others := ""
		if missed > 1 {
			others = fmt.Sprintf(" (nor do %d other samples)", missed-1)
		}
		return nil, fmt.Errorf("%s does not match the group pattern %q%s; change the pattern so every sample's source matches it, or group with \"none\"", first, pattern, others)
	}
	return keys, nil
}

// Grouping chooses a data set's groups from a --group flag value:
//   - "auto" or "": TrackGroups, named "gtsrb-track" when found, else nil and "";
//   - "none": nil and "", every sample its own group;
//   - anything else: PatternGroups with the value as the pattern, named by it.
//
// The name is for reports, so a result says how its validation was grouped.
func Grouping(ds Dataset, flag string) (groups []string, name string, err error) {
	switch flag {
	case "", "auto":
		if g := TrackGroups(ds); g != nil {
			return g, "gtsrb-track", nil
		}
		return nil, "", nil
	case "none":
		return nil, "", nil
	}
	g, err := PatternGroups(ds, flag)
	if err != nil {
		return nil, "", err
	}
	return g, flag, nil
}

// Fold is one train/validation partition of a data set.
type Fold struct{ Train, Val *Subset }

// classGroups sorts ds's samples into groups and the groups into classes:
// out[c] lists class c's groups, each a list of sample indices in ds. A
// group's class is its majority label (ties to the lower label), so a group
// with a mislabelled frame still moves as one. Groups within a class are in
// order of their first sample, which makes the result depend only on ds and
// groups; callers shuffle them by seed.
func classGroups(ds Dataset, groups []string) ([][][]int, error) {
	nc, n := len(ds.Classes()), ds.Len()
	if groups != nil && len(groups) != n {
		return nil, fmt.Errorf("%d group keys for %d samples; pass one key per sample in the data set's order (\"\" for a sample of its own), or nil for no groups", len(groups), n)
	}
	labels := make([]int, n)
	var members [][]int
	id := map[string]int{}
	for i := range n {
		l := ds.Label(i)
		if l < 0 || l >= nc {
			return nil, fmt.Errorf("%s: label %d is outside the %d classes", ds.Source(i), l, nc)
		}
		labels[i] = l
		key := ""
		if groups != nil {
			key = groups[i]
		}
		g, ok := id[key]
		if !ok || key == "" {
			g = len(members)
			members = append(members, nil)
			if key != "" {
				id[key] = g
			}
		}
		members[g] = append(members[g], i)
	}
	out := make([][][]int, nc)
	count := make([]int, nc)
	for _, m := range members {
		best := labels[m[0]]
		if len(m) > 1 {
			for _, i := range m {
				count[labels[i]]++
			}
			for _, i := range m {
				if l := labels[i]; count[l] > count[best] || count[l] == count[best] && l < best {
					best = l
				}
			}
			for _, i := range m {
				count[labels[i]] = 0
			}
		}
		out[best] = append(out[best], m)
	}
	return out, nil
}

// groupOrder shuffles one class's groups by (seed, class) alone, as
// classOrder does samples, so a class's split never depends on the others.
func groupOrder(gs [][]int, seed uint64, class int) [][]int {
	pos := make([]int, len(gs))
	for i := range pos {
		pos[i] = i
	}
	out := make([][]int, len(gs))
	for i, p := range classOrder(pos, seed, class) {
		out[i] = gs[p]
	}
	return out
}

// StratifiedFolds partitions every class into k parts and returns k folds for
// cross-validation, fold i validating on part i of every class and training
// on the rest, so every sample is validated at most once.
//
// Groups (nil: every sample its own group; "" entries also their own group)
// are never split: a group goes wholly into one part, counted in its majority
// label's class. Each class's groups, in an order drawn from (seed, class)
// like classOrder and then largest first, go one by one to the part with the
// fewest images so far, balancing image counts. A class with a single sample
// or a single group is always in training. A class with fewer groups than k
// has that many parts and validates only in the first folds, so when every
// class has fewer than k groups the last folds' Val is empty. The folds
// depend only on seed.
func StratifiedFolds(ds Dataset, k int, seed uint64, groups []string) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("folds: k is %d; want at least 2 folds, e.g. 5", k)
	}
	byGroup, err := classGroups(ds, groups)
	if err != nil {
		return nil, fmt.Errorf("folds: %w", err)
	}
	part := make([][]int, k) // sample indices validated in fold i
	var always []int         // samples of classes too small to validate
	for c, gs := range byGroup {
		if len(gs) < 2 {
			for _, g := range gs {
				always = append(always, g...)
			}
			continue
		}
		size := make([]int, min(k, len(gs)))
		// A different constant from StratifiedSplit's keeps folds and the
		// holdout split independent under one seed.
		order := groupOrder(gs, seed^0x2545f491, c)
		// Largest groups first (the drawn order breaking ties) leaves the
		// small ones to even out the parts.
		slices.SortStableFunc(order, func(a, b []int) int { return len(b) - len(a) })
		for _, g := range order {
			p := 0
			for q := range size {
				if size[q] < size[p] {
					p = q
				}
			}
			size[p] += len(g)
			part[p] = append(part[p], g...)
		}
	}
	if len(part[0]) == 0 {
		return nil, fmt.Errorf("folds: no class has 2 samples (or 2 groups), so nothing can be validated; add data or skip validation")
	}
	folds := make([]Fold, k)
	for i := range folds {
		train := slices.Clone(always)
		for j, p := range part {
			if j != i {
				train = append(train, p...)
			}
		}
		folds[i] = Fold{Train: subsetOf(ds, train), Val: subsetOf(ds, slices.Clone(part[i]))}
	}
	return folds, nil
}

// StratifiedSplitGroups is StratifiedSplit with groups kept whole: about
// valFraction of each class's images go to validation, chosen a group at a
// time, with at least one group on each side when the class has two or more
// groups; a class with one group trains. A group counts in its majority
// label's class. nil groups give exactly StratifiedSplit's result, and so do
// all-"" groups.
func StratifiedSplitGroups(ds Dataset, valFraction float64, seed uint64, groups []string) (train, val *Subset, err error) {
	if !(valFraction > 0 && valFraction < 1) {
		return nil, nil, fmt.Errorf("split: validation fraction %g outside (0,1); use e.g. 0.2", valFraction)
	}
	if groups == nil {
		return stratifiedSplit(ds, valFraction, seed)
	}
	byGroup, err := classGroups(ds, groups)
	if err != nil {
		return nil, nil, fmt.Errorf("split: %w", err)
	}
	var tr, va []int
	for c, gs := range byGroup {
		images := 0
		for _, g := range gs {
			images += len(g)
		}
		if len(gs) < 2 {
			for _, g := range gs {
				tr = append(tr, g...)
			}
			continue
		}
		target := int(math.Round(float64(images) * valFraction))
		// The same seed as StratifiedSplit, so one-sample groups reproduce it.
		order := groupOrder(gs, seed^0x5bd1e995, c)
		take := make([]bool, len(order))
		nv, taken := 0, 0
		for i, g := range order {
			// Take a group while it brings the count nearer the target,
			// never the last one; skipping a group that overshoots lets a
			// smaller one later fill the gap.
			if taken < len(order)-1 && 2*nv+len(g) < 2*target {
				take[i] = true
				nv += len(g)
				taken++
			}
		}
		if taken == 0 {
			// Every group overshoots (or the target is 0): hold out the
			// smallest, the first of them in the drawn order.
			s := 0
			for i, g := range order {
				if len(g) < len(order[s]) {
					s = i
				}
			}
			take[s] = true
		}
		for i, g := range order {
			if take[i] {
				va = append(va, g...)
			} else {
				tr = append(tr, g...)
			}
		}
	}
	if len(va) == 0 {
		return nil, nil, fmt.Errorf("split: no class has 2 samples (or 2 groups), so nothing can be held out for validation; add data or skip validation")
	}
	return subsetOf(ds, tr), subsetOf(ds, va), nil
}
