package data

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// trackSizes gives, per class folder 00000, 00001, …, the frame count of
// each track.
var trackSizes = [][]int{
	{5, 5, 5, 5, 5, 5},    // 6 tracks: validates in every fold
	{3, 4, 2, 3},          // 4 tracks: fewer than k=5
	{4},                   // one track: always trains
	{1, 2, 3, 4, 5, 6, 7}, // uneven tracks
}

// gtsrbFolder writes a class-folder tree with GTSRB's TRACK_FRAME names
// (00003/00012_00029.ppm) and opens it with OpenFolder.
func gtsrbFolder(t *testing.T, sizes [][]int) *Folder {
	t.Helper()
	var files []string
	for c, tracks := range sizes {
		for tr, n := range tracks {
			for f := range n {
				files = append(files, fmt.Sprintf("%05d/%05d_%05d.ppm", c, tr, f))
			}
		}
	}
	ds, err := OpenFolder(tree(t, files...))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// groupOf maps a sample index to its group key, "" becoming a key of its own.
func groupOf(groups []string) func(i int) string {
	return func(i int) string {
		if groups[i] == "" {
			return fmt.Sprintf("#%d", i)
		}
		return groups[i]
	}
}

// checkPartition fails unless train and val partition 0..n-1 and no group
// has samples on both sides.
func checkPartition(t *testing.T, n int, train, val *Subset, groups []string) {
	t.Helper()
	all := append(slices.Clone(train.Indices), val.Indices...)
	slices.Sort(all)
	if len(all) != n {
		t.Fatalf("train %d + val %d samples, want %d", train.Len(), val.Len(), n)
	}
	for i, j := range all {
		if i != j {
			t.Fatalf("train and val are not a partition: index %d at %d", j, i)
		}
	}
	if groups == nil {
		return
	}
	key := groupOf(groups)
	inVal := map[string]bool{}
	for _, i := range val.Indices {
		inVal[key(i)] = true
	}
	for _, i := range train.Indices {
		if inVal[key(i)] {
			t.Fatalf("group %q is on both sides (sample %d trains)", key(i), i)
		}
	}
}

func TestTrackGroups(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"tracks restart per class",
			[]string{"00000/00000_00000.ppm", "00000/00000_00001.ppm", "00000/00001_00000.ppm", "00003/00000_00000.ppm", "00003/00012_00029.png"},
			[]string{"00000/00000", "00000/00000", "00000/00001", "00003/00000", "00003/00012"}},
		{"half named, rest own group",
			[]string{"00000/00000_00000.ppm", "00000/x.ppm", "00001/00000_00001.ppm", "00001/y.ppm"},
			[]string{"00000/00000", "", "00001/00000", ""}},
		{"fewer than half named",
			[]string{"00000/00000_00000.ppm", "00000/x.ppm", "00001/y.ppm"}, nil},
		{"plain names", []string{"cat/1.png", "cat/2.png", "dog/3.png"}, nil},
		{"test-set names", []string{"00000/00000.ppm", "00001/00001.ppm"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := OpenFolder(tree(t, tt.files...))
			if err != nil {
				t.Fatal(err)
			}
			got := TrackGroups(ds)
			if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) {
				t.Errorf("groups %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("OpenGTSRB", func(t *testing.T) {
		root := t.TempDir()
		gtsrbTrain(t, root, 3, 5)
		ds, err := OpenGTSRB(root, false)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"00003/00000", "00003/00001", "00005/00000", "00005/00001"}
		if got := TrackGroups(ds); !slices.Equal(got, want) {
			t.Errorf("groups %q, want %q", got, want)
		}
	})
}

func TestPatternGroups(t *testing.T) {
	ds, err := OpenFolder(tree(t, "a/p1_01.png", "a/p1_02.png", "b/p2_01.png"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, pattern string
		want          []string
		err           []string
	}{
		{"capture group", `(p\d)_\d+\.png$`, []string{"p1", "p1", "p2"}, nil},
		{"whole match", `p\d_`, []string{"p1_", "p1_", "p2_"}, nil},
		{"folder", `([^/\\]+)[/\\][^/\\]+$`, []string{"a", "a", "b"}, nil},
		{"no match", `q\d`, nil, []string{filepath.Join("a", "p1_01.png"), `"q\\d"`, "nor do 2 other samples", "change the pattern"}},
		{"one misses", `p1`, nil, []string{filepath.Join("b", "p2_01.png"), `"p1"`}},
		{"bad pattern", `(p`, nil, []string{`"(p"`, "regular expression"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PatternGroups(ds, tt.pattern)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("no error; groups %q", got)
				}
				for _, s := range tt.err {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q lacks %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("groups %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGrouping(t *testing.T) {
	tracks := gtsrbFolder(t, [][]int{{2, 1}, {1}})
	plain, err := OpenFolder(tree(t, "a/1.png", "b/2.png"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		ds       Dataset
		flag     string
		want     []string
		wantName string
		err      string
	}{
		{"auto finds tracks", tracks, "auto", []string{"00000/00000", "00000/00000", "00000/00001", "00001/00000"}, "gtsrb-track", ""},
		{"empty is auto", tracks, "", []string{"00000/00000", "00000/00000", "00000/00001", "00001/00000"}, "gtsrb-track", ""},
		{"auto without tracks", plain, "auto", nil, "", ""},
		{"none", tracks, "none", nil, "", ""},
		{"pattern", tracks, `_(\d+)\.ppm$`, []string{"00000", "00001", "00000", "00000"}, `_(\d+)\.ppm$`, ""},
		{"bad pattern", plain, `x`, nil, "", "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, name, err := Grouping(tt.ds, tt.flag)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || !slices.Equal(got, tt.want) || name != tt.wantName {
				t.Errorf("groups %q name %q, want %q %q", got, name, tt.want, tt.wantName)
			}
		})
	}
}

func TestStratifiedFoldsTracks(t *testing.T) {
	ds := gtsrbFolder(t, trackSizes)
	groups := TrackGroups(ds)
	if groups == nil {
		t.Fatal("no tracks found")
	}
	for _, k := range []int{5, 3} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("k=%d seed=%d", k, seed), func(t *testing.T) {
				folds, err := StratifiedFolds(ds, k, seed, groups)
				if err != nil {
					t.Fatal(err)
				}
				if len(folds) != k {
					t.Fatalf("%d folds, want %d", len(folds), k)
				}
				validated := make([]int, ds.Len())
				lo, hi := ds.Len(), 0 // class 3's (uneven tracks) val counts
				for i, f := range folds {
					checkPartition(t, ds.Len(), f.Train, f.Val, groups)
					for _, j := range f.Val.Indices {
						validated[j]++
					}
					vc := ClassCounts(f.Val)
					for c, tracks := range trackSizes {
						wantVal := len(tracks) >= 2 && i < len(tracks)
						if (vc[c] > 0) != wantVal {
							t.Errorf("fold %d: class %d (%d tracks) validates %d samples", i, c, len(tracks), vc[c])
						}
					}
					lo, hi = min(lo, vc[3]), max(hi, vc[3])
				}
				// Tracks of 1…7 frames in k parts: largest first balances
				// them to within 2 images.
				if hi-lo > 2 {
					t.Errorf("class 3's folds validate %d to %d samples; want them balanced", lo, hi)
				}
				for j, n := range validated {
					wantOnce := len(trackSizes[ds.Label(j)]) >= 2
					if n > 1 || (n == 1) != wantOnce {
						t.Errorf("%s validated %d times", ds.Source(j), n)
					}
				}
				again, _ := StratifiedFolds(ds, k, seed, groups)
				for i := range folds {
					if !slices.Equal(folds[i].Val.Indices, again[i].Val.Indices) {
						t.Fatal("not deterministic")
					}
				}
			})
		}
	}
	t.Run("seed matters", func(t *testing.T) {
		a, _ := StratifiedFolds(ds, 3, 1, groups)
		b, _ := StratifiedFolds(ds, 3, 2, groups)
		if slices.Equal(a[0].Val.Indices, b[0].Val.Indices) {
			t.Error("seed has no effect")
		}
	})
}

func TestStratifiedFolds(t *testing.T) {
	counts := []int{10, 20, 5, 3, 1, 0}
	ds := labelled(t, len(counts), repeatLabels(slices.Clone(counts)...)...)
	const k = 5
	folds, err := StratifiedFolds(ds, k, 11, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen := make([]int, ds.Len())
	for i, f := range folds {
		checkPartition(t, ds.Len(), f.Train, f.Val, nil)
		vc := ClassCounts(f.Val)
		for c, n := range counts {
			lo, hi := n/k, (n+k-1)/k
			if n < k { // validates one sample in each of the first n folds
				lo, hi = 0, 0
				if n >= 2 && i < n {
					lo, hi = 1, 1
				}
			}
			if vc[c] < lo || vc[c] > hi {
				t.Errorf("fold %d: class %d (%d samples) validates %d, want %d..%d", i, c, n, vc[c], lo, hi)
			}
		}
		for _, j := range f.Val.Indices {
			seen[j]++
		}
	}
	for j, n := range seen {
		if want := min(counts[ds.Label(j)]-1, 1); n != want {
			t.Errorf("sample %d (class %d) validated %d times, want %d", j, ds.Label(j), n, want)
		}
	}

	t.Run("errors", func(t *testing.T) {
		tests := []struct {
			name   string
			counts []int
			k      int
			groups []string
			err    string
		}{
			{"k=1", []int{4, 4}, 1, nil, "at least 2 folds"},
			{"nothing to validate", []int{1, 1}, 3, nil, "no class has 2 samples (or 2 groups)"},
			{"one group per class", []int{2, 2}, 3, []string{"x", "y", "x", "y"}, "add data or skip validation"},
			{"wrong-length groups", []int{2, 2}, 3, []string{"x", "y"}, "2 group keys for 4 samples"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ds := labelled(t, len(tt.counts), repeatLabels(slices.Clone(tt.counts)...)...)
				_, err := StratifiedFolds(ds, tt.k, 1, tt.groups)
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			})
		}
	})

	t.Run("majority label", func(t *testing.T) {
		// Samples 0, 1 (class a) and 2 (class b) are one group of class a.
		ds := labelled(t, 2, 0, 0, 1, 0, 1, 1, 0, 1)
		groups := []string{"g", "g", "g", "", "", "", "", ""}
		for seed := range uint64(8) {
			folds, err := StratifiedFolds(ds, 2, seed, groups)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range folds {
				checkPartition(t, ds.Len(), f.Train, f.Val, groups)
			}
		}
	})

	t.Run("subset of subset flattens", func(t *testing.T) {
		sub, err := KShot(ds, 3, 1, AllowFewer())
		if err != nil {
			t.Fatal(err)
		}
		folds, err := StratifiedFolds(sub, 3, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range folds {
			if f.Train.Base != Dataset(ds) || f.Val.Base != Dataset(ds) {
				t.Fatal("base is not the original data set")
			}
			if f.Train.Len()+f.Val.Len() != sub.Len() {
				t.Fatalf("fold covers %d samples, subset has %d", f.Train.Len()+f.Val.Len(), sub.Len())
			}
			for _, i := range append(slices.Clone(f.Train.Indices), f.Val.Indices...) {
				if !slices.Contains(sub.Indices, i) {
					t.Fatalf("index %d not in the subset", i)
				}
			}
		}
	})
}

func TestStratifiedSplitGroups(t *testing.T) {
	ds := gtsrbFolder(t, trackSizes)
	groups := TrackGroups(ds)
	for _, frac := range []float64{0.2, 0.5, 0.9} {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("tracks %g seed=%d", frac, seed), func(t *testing.T) {
				train, val, err := StratifiedSplitGroups(ds, frac, seed, groups)
				if err != nil {
					t.Fatal(err)
				}
				checkPartition(t, ds.Len(), train, val, groups)
				tc, vc := ClassCounts(train), ClassCounts(val)
				for c, tracks := range trackSizes {
					if len(tracks) < 2 {
						if vc[c] != 0 {
							t.Errorf("class %d has one track but validates %d samples", c, vc[c])
						}
						continue
					}
					if tc[c] == 0 || vc[c] == 0 {
						t.Errorf("class %d: %d train, %d val; want both sides", c, tc[c], vc[c])
					}
				}
				// Class 0 has six tracks of 5: the nearest whole-track share.
				if want := min(max(int(frac*6+0.5), 1), 5) * 5; vc[0] != want {
					t.Errorf("class 0 validates %d, want %d", vc[0], want)
				}
			})
		}
	}

	t.Run("big first group does not swamp validation", func(t *testing.T) {
		// One track of 30 and five of 2: 20% is the small tracks, whatever
		// the order.
		ds := gtsrbFolder(t, [][]int{{30, 2, 2, 2, 2, 2}, {2, 2}})
		groups := TrackGroups(ds)
		for seed := range uint64(50) {
			_, val, err := StratifiedSplitGroups(ds, 0.2, seed, groups)
			if err != nil {
				t.Fatal(err)
			}
			if vc := ClassCounts(val)[0]; vc < 6 || vc > 10 {
				t.Errorf("seed %d: class 0 validates %d of 40, want 6..10", seed, vc)
			}
		}
	})

	t.Run("same as StratifiedSplit without groups", func(t *testing.T) {
		for _, counts := range [][]int{{10, 20, 5}, {2, 3, 1, 0}, {4, 4}, {7, 1, 13}} {
			ds := labelled(t, len(counts), repeatLabels(slices.Clone(counts)...)...)
			for _, frac := range []float64{0.01, 0.2, 0.5, 0.9} {
				for seed := range uint64(4) {
					tr, va, err := StratifiedSplit(ds, frac, seed)
					if err != nil {
						t.Fatal(err)
					}
					for _, groups := range [][]string{nil, make([]string, ds.Len())} {
						tr2, va2, err := StratifiedSplitGroups(ds, frac, seed, groups)
						if err != nil {
							t.Fatal(err)
						}
						if !slices.Equal(tr.Indices, tr2.Indices) || !slices.Equal(va.Indices, va2.Indices) {
							t.Fatalf("counts %v frac %g seed %d groups nil=%v: val %v, StratifiedSplit's %v",
								counts, frac, seed, groups == nil, va2.Indices, va.Indices)
						}
					}
				}
			}
		}
	})

	t.Run("errors", func(t *testing.T) {
		ds := labelled(t, 2, 0, 1, 0, 1)
		tests := []struct {
			name   string
			frac   float64
			groups []string
			err    string
		}{
			{"wrong-length groups", 0.5, []string{"x"}, "1 group keys for 4 samples"},
			{"one group per class", 0.5, []string{"x", "y", "x", "y"}, "no class has 2 samples (or 2 groups)"},
			{"bad fraction", 0, []string{"x", "y", "z", "w"}, "outside (0,1)"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, _, err := StratifiedSplitGroups(ds, tt.frac, 1, tt.groups)
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
			})
		}
	})
}
