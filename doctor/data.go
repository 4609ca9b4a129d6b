package doctor

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/strategy"
)

// ImbalanceRatio is the largest-to-smallest class ratio above which
// doctor reports imbalance. Past 10:1 a classifier that never predicts
// the rare class loses little accuracy for it, so accuracy alone stops
// showing the problem, and plain cross-entropy training visibly starts
// to neglect the rare class; milder ratios are the norm in real data
// and not worth a warning.
const ImbalanceRatio = 10.0

// NearDuplicateDiff is the largest mean absolute difference (on the [0,1]
// pixel scale) between the 32×32 grey thumbnails of two images that still
// counts them as one: JPEG re-encoding, resizing or a format change moves
// a thumbnail by less, while two different photographs of similar things
// (two trousers in Fashion-MNIST, two signs of one class) differ by 0.02
// and more. Candidates are first found by their 8×8 mean hash.
const NearDuplicateDiff = 0.01

// nearCandidates caps the training images a test image is compared with
// in full, the closest by 8×8 thumbnail first.
const nearCandidates = 5

// valFraction is the validation share graft compare and transfer carve
// from the training images.
const valFraction = 0.2

func checkLabels(_ context.Context, s *session) ([]Finding, error) {
	return Labels(s.plan.Train, s.plan.Test), nil
}

// Labels reports labels outside the class list, classes with no training
// image, and a test set whose class list disagrees with the training
// set's. test may be nil.
func Labels(train, test data.Dataset) []Finding {
	var out []Finding
	for _, set := range []struct {
		name string
		ds   data.Dataset
	}{{"training", train}, {"test", test}} {
		if set.ds == nil {
			continue
		}
		nc := len(set.ds.Classes())
		n := 0
		var examples []string
		for i := range set.ds.Len() {
			if l := set.ds.Label(i); l < 0 || l >= nc {
				n++
				if len(examples) < 3 {
					examples = append(examples, fmt.Sprintf("%s has label %d", set.ds.Source(i), l))
				}
			}
		}
		if n > 0 {
			out = append(out, Finding{Check: "labels",
				What:     fmt.Sprintf("%d of %d %s images %s a label outside the %d classes", n, set.ds.Len(), set.name, have(n), nc),
				Evidence: fmt.Sprintf("labels must be 0..%d; %s", nc-1, strings.Join(examples, ", ")),
				Fix:      "correct those labels, or add the missing classes to the class list; training would fail on them or leave them out",
			})
		}
	}
	counts := data.ClassCounts(train)
	var empty []string
	for c, n := range counts {
		if n == 0 {
			empty = append(empty, fmt.Sprintf("%q", train.Classes()[c]))
		}
	}
	if len(empty) > 0 {
		out = append(out, Finding{Check: "labels",
			What:     fmt.Sprintf("%d of the %d classes %s no training image", len(empty), len(counts), have(len(empty))),
			Evidence: "empty: " + strings.Join(limit(empty, 5), ", "),
			Fix:      "add images of these classes or remove them from the class list: the head gets outputs that nothing teaches, and per-class scores for them are undefined",
		})
	}
	if test != nil {
		if what, ok := sameClasses(train.Classes(), test.Classes()); !ok {
			out = append(out, Finding{Check: "labels",
				What:     "the test set's classes disagree with the training set's",
				Evidence: what,
				Fix:      "give both sets the same classes in the same order: labels are positions in the class list, so a mismatch scores predictions against the wrong class",
			})
		}
	}
	return out
}

// sameClasses compares class lists as graft eval does: a numeric name
// equal to its position matches any name there (IDX and CIFAR sets number
// their classes).
func sameClasses(train, test []string) (string, bool) {
	if len(train) != len(test) {
		return fmt.Sprintf("the training set has %d classes (%s), the test set %d (%s)", len(train), strings.Join(limit(train, 5), ", "),
			len(test), strings.Join(limit(test, 5), ", ")), false
	}
	for i := range train {
		if train[i] != test[i] && train[i] != fmt.Sprint(i) && test[i] != fmt.Sprint(i) {
			return fmt.Sprintf("class %d is %q in the training set, %q in the test set", i, train[i], test[i]), false
		}
	}
	return "", true
}

func have(n int) string {
	if n == 1 {
		return "has"
	}
	return "have"
}

func limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), fmt.Sprintf("… (%d more)", len(s)-n))
}

func checkImbalance(_ context.Context, s *session) ([]Finding, error) {
	return Imbalance(s.plan.Train, s.plan.Shots), nil
}

// Imbalance reports a largest class more than ImbalanceRatio times the
// smallest (classes with no image are the labels check's), counting at
// most shots per class when shots > 0.
func Imbalance(train data.Dataset, shots int) []Finding {
	counts := data.ClassCounts(train)
	names := train.Classes()
	lo, hi := -1, -1
	for c, n := range counts {
		if shots > 0 {
			n = min(n, shots)
			counts[c] = n
		}
		if n == 0 {
			continue
		}
		if lo < 0 || n < counts[lo] {
			lo = c
		}
		if hi < 0 || n > counts[hi] {
			hi = c
		}
	}
	if lo < 0 || lo == hi {
		return nil
	}
	ratio := float64(counts[hi]) / float64(counts[lo])
	if ratio <= ImbalanceRatio {
		return nil
	}
	return []Finding{{Check: "imbalance",
		What: fmt.Sprintf("the classes are imbalanced: the largest has %.0f× the images of the smallest", ratio),
		Evidence: fmt.Sprintf("largest %q %d images, smallest %q %d, median %d (reported above %g:1)",
			names[hi], counts[hi], names[lo], counts[lo], median(nonZero(counts)), ImbalanceRatio),
		Fix: fmt.Sprintf("sample the same number per class with --shots %d, or collect more images of the rare classes; otherwise the model favours the large classes and accuracy hides it (read macro-F1 and per-class accuracy)", counts[lo]),
	}}
}

func nonZero(v []int) []int {
	var out []int
	for _, x := range v {
		if x > 0 {
			out = append(out, x)
		}
	}
	return out
}

func median(v []int) int {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

func checkDuplicates(ctx context.Context, s *session) ([]Finding, error) {
	return Duplicates(ctx, s.plan.Train, s.plan.Test)
}

// fprint is what duplicates compares first: an exact hash of the decoded
// pixels, and the 8×8 grey thumbnail with its mean hash.
type fprint struct {
	exact uint64
	mean  uint64
	thumb [64]float32
}

// Duplicates reports test images identical to a training image (the same
// decoded pixels) or nearly so: a mean hash within one bit, then 8×8 and
// 32×32 grey thumbnails within NearDuplicateDiff. Test accuracy would
// count them as seen.
func Duplicates(ctx context.Context, train, test data.Dataset) ([]Finding, error) {
	tr, err := prints(ctx, train)
	if err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	te, err := prints(ctx, test)
	if err != nil {
		return nil, fmt.Errorf("test set: %w", err)
	}
	exact := map[uint64]int{}
	byMean := map[uint64][]int{}
	for i, p := range tr {
		if _, ok := exact[p.exact]; !ok {
			exact[p.exact] = i
		}
		byMean[p.mean] = append(byMean[p.mean], i)
	}
	var nExact, nNear int
	var examples []string
	for i, p := range te {
		sign := "="
		j, ok := exact[p.exact]
		if ok {
			nExact++
		} else {
			if j, ok, err = near(test, i, p, train, tr, byMean); err != nil {
				return nil, err
			}
			if ok {
				sign = "≈"
				nNear++
			}
		}
		if ok && len(examples) < 3 {
			examples = append(examples, fmt.Sprintf("%s %s %s", test.Source(i), sign, train.Source(j)))
		}
	}
	if nExact+nNear == 0 {
		return nil, nil
	}
	return []Finding{{Check: "duplicates",
		What: fmt.Sprintf("%d of %d test images are also in the training set (%d identical, %d nearly so)", nExact+nNear, len(te), nExact, nNear),
		Evidence: fmt.Sprintf("the same decoded pixels, or grey thumbnails within %g of each other: %s",
			NearDuplicateDiff, strings.Join(examples, "; ")),
		Fix: "remove them from the test set (or from training): the test score counts them as seen and overstates accuracy on new images",
	}}, nil
}

// near looks for a training image nearly identical to test image i (print
// p): among those whose mean hash is within one bit, the closest few by
// 8×8 thumbnail are decoded again and compared at 32×32.
func near(test data.Dataset, i int, p fprint, train data.Dataset, tr []fprint, byMean map[uint64][]int) (int, bool, error) {
	type cand struct {
		j int
		d float64
	}
	var cands []cand
	for bit := -1; bit < 64; bit++ {
		key := p.mean
		if bit >= 0 {
			key ^= 1 << bit
		}
		for _, j := range byMean[key] {
			// Averaging never widens a difference, so a pair within the
			// threshold at 32×32 is within it at 8×8.
			if d := thumbDiff(p.thumb[:], tr[j].thumb[:]); d <= NearDuplicateDiff {
				cands = append(cands, cand{j, d})
			}
		}
	}
	if len(cands) == 0 {
		return 0, false, nil
	}
	slices.SortFunc(cands, func(a, b cand) int { return cmp.Compare(a.d, b.d) })
	a, err := test.Image(i)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", test.Source(i), err)
	}
	ta := thumbnail(a, 32)
	for _, c := range cands[:min(len(cands), nearCandidates)] {
		b, err := train.Image(c.j)
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", train.Source(c.j), err)
		}
		if thumbDiff(ta, thumbnail(b, 32)) <= NearDuplicateDiff {
			return c.j, true, nil
		}
	}
	return 0, false, nil
}

// prints fingerprints every image of ds, in parallel.
func prints(ctx context.Context, ds data.Dataset) ([]fprint, error) {
	n := ds.Len()
	out := make([]fprint, n)
	var next atomic.Int64
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				im, err := ds.Image(i)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", ds.Source(i), err)
					}
					mu.Unlock()
					return
				}
				out[i] = fingerprint(im)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, ctx.Err()
}

func fingerprint(im *data.Image) fprint {
	var p fprint
	h := fnv.New64a()
	var b [4]byte
	for _, v := range []int{im.C, im.H, im.W} {
		binary.LittleEndian.PutUint32(b[:], uint32(v))
		h.Write(b[:])
	}
	for _, v := range im.Pix {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	p.exact = h.Sum64()
	copy(p.thumb[:], thumbnail(im, 8))
	var mean float32
	for _, v := range p.thumb {
		mean += v / 64
	}
	for k, v := range p.thumb {
		if v > mean {
			p.mean |= 1 << k
		}
	}
	return p
}

// thumbnail averages the grey image over each of n×n cells (a cell of an
// image smaller than n pixels is the pixel under it).
func thumbnail(im *data.Image, n int) []float32 {
	t := make([]float32, n*n)
	for cy := range n {
		y0 := cy * im.H / n
		y1 := max((cy+1)*im.H/n, y0+1)
		for cx := range n {
			x0 := cx * im.W / n
			x1 := max((cx+1)*im.W/n, x0+1)
			var sum float32
			for c := range im.C {
				for y := y0; y < y1; y++ {
					for _, v := range im.Pix[(c*im.H+y)*im.W+x0 : (c*im.H+y)*im.W+x1] {
						sum += v
					}
				}
			}
			t[cy*n+cx] = sum / float32(im.C*(y1-y0)*(x1-x0))
		}
	}
	return t
}

func thumbDiff(a, b []float32) float64 {
	var s float64
	for k := range a {
		s += math.Abs(float64(a[k] - b[k]))
	}
	return s / float64(len(a))
}

// trainShare is how many of n images of a class graft trains on after the
// validation split (data.StratifiedSplit's rule).
func trainShare(n int) int {
	if n < 2 {
		return n
	}
	return n - min(max(int(math.Round(float64(n)*valFraction)), 1), n-1)
}

// TooFew is the too-small caution for strategy st trained on perClass
// images per class, "" when there are enough. graft advise repeats it
// beside a recommendation it applies to.
func TooFew(perClass int, st strategy.Strategy) string {
	need := st.MinPerClass()
	if perClass >= need {
		return ""
	}
	return fmt.Sprintf("%d training images per class are few for %s, which usually needs about %d", perClass, st.Name, need)
}

func checkTooSmall(_ context.Context, s *session) ([]Finding, error) {
	counts := nonZero(data.ClassCounts(s.train))
	per := make([]int, len(counts))
	total := 0
	for i, n := range counts {
		per[i] = trainShare(n)
		total += per[i]
	}
	need := s.strat.MinPerClass()
	med := median(per)
	if med >= need {
		return nil, nil
	}
	params, err := s.trainableParams()
	if err != nil {
		return nil, err
	}
	collect := need
	for trainShare(collect) < need {
		collect++
	}
	// The fix names no other strategy: which one wins on these images is
	// a measurement (graft advise, graft compare), and advise repeats this
	// caution beside its recommendation (TooFew), so the two never
	// disagree.
	fix := fmt.Sprintf("measure before trusting it: graft advise races %s against the strategies that move fewer weights on these images (graft compare gives the full verdict); or collect at least %d images per class", s.strat.Name, collect)
	if s.strat.Def().HeadOnly {
		fix = fmt.Sprintf("collect at least %d images per class, which leaves one to validate on", collect)
	}
	return []Finding{{Check: "too-small",
		What: TooFew(med, s.strat),
		Evidence: fmt.Sprintf("after the %.0f%% validation split: %d images per class (median; smallest class %d), %d in all, for %s trainable parameters; %s needs about %d per class",
			100*valFraction, med, slices.Min(per), total, Count(params), s.strat.Base, need),
		Fix: fix,
	}}, nil
}

// Count writes a parameter count the way people read them.
func Count(n int64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.0fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
