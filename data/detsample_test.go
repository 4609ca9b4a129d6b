package data

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// boxSet is a DetectionDataset of boxes only, for sampling tests.
type boxSet struct {
	classes []string
	boxes   [][]Box
}

func (s *boxSet) Len() int                    { return len(s.boxes) }
func (s *boxSet) Classes() []string           { return s.classes }
func (s *boxSet) Boxes(i int) []Box           { return s.boxes[i] }
func (s *boxSet) Image(i int) (*Image, error) { return NewImage(3, 4, 4), nil }
func (s *boxSet) Source(i int) string         { return fmt.Sprintf("boxes#%d", i) }

// showing builds a set whose image i has one box of each class in spec[i]
// ("ab" is an image with a box of class 0 and one of class 1).
func showing(spec ...string) *boxSet {
	s := &boxSet{classes: []string{"a", "b", "c", "d"}}
	for _, sp := range spec {
		var bs []Box
		for _, r := range sp {
			bs = append(bs, Box{X2: 1, Y2: 1, Class: int(r - 'a')})
		}
		s.boxes = append(s.boxes, bs)
	}
	return s
}

func TestKShotDetection(t *testing.T) {
	ds := showing("ab", "a", "a", "", "c", "ac", "a", "bc", "c", "a", "", "b")
	for _, tc := range []struct {
		name string
		ds   DetectionDataset
		k    int
		want string // indices, or "" to check properties only
	}{
		// b and d are the rarest (one image each); b takes its image 2, d
		// its image 0, which shows a as well: a needs no image of its own.
		{"a shared image serves every class", showing("ad", "a", "b", "a"), 1, "[0 2]"},
		{"k=1", ds, 1, ""},
		{"k=2", ds, 2, ""},
		{"k=3", ds, 3, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub, err := KShotDetection(tc.ds, tc.k, 7)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && fmt.Sprint(sub.Indices) != tc.want {
				t.Errorf("picked %v, want %s", sub.Indices, tc.want)
			}
			images, _ := DetectionClassCounts(sub)
			all, _ := DetectionClassCounts(tc.ds)
			for c, n := range images {
				if all[c] > 0 && n < tc.k {
					t.Errorf("class %s in %d picked images, want at least %d", tc.ds.Classes()[c], n, tc.k)
				}
			}
			for i := range sub.Len() {
				if len(sub.Boxes(i)) == 0 {
					t.Errorf("picked %s, which has no boxes", sub.Source(i))
				}
			}
			if sub.Len() > tc.k*len(tc.ds.Classes()) {
				t.Errorf("%d images for k=%d: more than k per class", sub.Len(), tc.k)
			}
			again, _ := KShotDetection(tc.ds, tc.k, 7)
			if !slices.Equal(again.Indices, sub.Indices) {
				t.Errorf("same seed picked %v, then %v", sub.Indices, again.Indices)
			}
		})
	}
}

func TestKShotDetectionNested(t *testing.T) {
	ds := showing("ab", "a", "a", "", "c", "ac", "a", "bc", "c", "a", "", "b", "ab", "c", "bc")
	differ := false
	for seed := range uint64(20) {
		prev := []int{}
		for k := 1; k <= 3; k++ {
			sub, err := KShotDetection(ds, k, seed)
			if err != nil {
				t.Fatal(err)
			}
			for _, i := range prev {
				if !slices.Contains(sub.Indices, i) {
					t.Fatalf("seed %d: %d-shot %v does not contain the %d-shot %v", seed, k, sub.Indices, k-1, prev)
				}
			}
			prev = sub.Indices
		}
		first, _ := KShotDetection(ds, 2, 0)
		differ = differ || !slices.Equal(prev, first.Indices)
	}
	if !differ {
		t.Error("every seed picked the same images")
	}
}

func TestKShotDetectionTooFew(t *testing.T) {
	ds := showing("ab", "a", "a", "b")
	_, err := KShotDetection(ds, 3, 1)
	if err == nil || !strings.Contains(err.Error(), `class "b" is in only 2`) {
		t.Errorf("k above a class's images: %v", err)
	}
	sub, err := KShotDetection(ds, 3, 1, AllowFewer())
	if err != nil || sub.Len() != 4 {
		t.Errorf("AllowFewer: %v, %v; want all 4 images", sub, err)
	}
	if _, err := KShotDetection(ds, 0, 1); err == nil {
		t.Error("k=0 accepted")
	}
	bad := &boxSet{classes: []string{"a"}, boxes: [][]Box{{{Class: 3}}}}
	if _, err := KShotDetection(bad, 1, 1); err == nil || !strings.Contains(err.Error(), "boxes#0") {
		t.Errorf("box class outside the classes: %v", err)
	}
}

func TestDetectionSubsetFlattens(t *testing.T) {
	ds := showing("a", "b", "c", "ab")
	sub, err := KShotDetection(ds, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	subsub, err := KShotDetection(sub, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if subsub.Base != DetectionDataset(ds) {
		t.Errorf("a subset of a subset chains views")
	}
}
