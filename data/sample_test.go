package data

import (
	"slices"
	"strings"
	"testing"
)

// labelled is an InMemory set of 1×1 images with the given labels.
func labelled(t testing.TB, nclasses int, labels ...int) *InMemory {
	t.Helper()
	images := make([]*Image, len(labels))
	for i := range images {
		images[i] = &Image{C: 1, H: 1, W: 1, Pix: []float32{float32(i)}}
	}
	var classes []string
	for c := range nclasses {
		classes = append(classes, string(rune('a'+c)))
	}
	ds, err := NewInMemory(images, labels, classes)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// repeatLabels gives counts[c] samples of class c, interleaved.
func repeatLabels(counts ...int) []int {
	var out []int
	for more := true; more; {
		more = false
		for c := range counts {
			if counts[c] > 0 {
				out = append(out, c)
				counts[c]--
				more = true
			}
		}
	}
	return out
}

func labelsOf(ds Dataset) []int {
	var out []int
	for i := 0; i < ds.Len(); i++ {
		out = append(out, ds.Label(i))
	}
	return out
}

func TestClassCounts(t *testing.T) {
	ds := labelled(t, 4, repeatLabels(3, 0, 5, 1)...)
	if got := ClassCounts(ds); !slices.Equal(got, []int{3, 0, 5, 1}) {
		t.Errorf("counts %v", got)
	}
}

func TestKShot(t *testing.T) {
	ds := labelled(t, 4, repeatLabels(10, 0, 7, 3)...)
	tests := []struct {
		name   string
		k      int
		opts   []SampleOption
		counts []int
		err    string
	}{
		{"k=1", 1, nil, []int{1, 0, 1, 1}, ""},
		{"k=3", 3, nil, []int{3, 0, 3, 3}, ""},
		{"k=5 too many", 5, nil, nil, `class "d" has only 3 of the 5 samples asked for; lower k or allow fewer`},
		{"k=5 allow fewer", 5, []SampleOption{AllowFewer()}, []int{5, 0, 5, 3}, ""},
		{"k=0", 0, nil, nil, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := KShot(ds, tt.k, 7, tt.opts...)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ClassCounts(s); !slices.Equal(got, tt.counts) {
				t.Errorf("counts %v, want %v", got, tt.counts)
			}
			again, _ := KShot(ds, tt.k, 7, tt.opts...)
			if !slices.Equal(s.Indices, again.Indices) {
				t.Error("not deterministic")
			}
			if !slices.IsSorted(s.Indices) {
				t.Error("indices not sorted")
			}
		})
	}
	t.Run("nested across k", func(t *testing.T) {
		small, _ := KShot(ds, 2, 99)
		big, _ := KShot(ds, 3, 99)
		for _, i := range small.Indices {
			if !slices.Contains(big.Indices, i) {
				t.Fatalf("2-shot index %d missing from 3-shot set", i)
			}
		}
		other, _ := KShot(ds, 3, 100)
		if slices.Equal(big.Indices, other.Indices) {
			t.Error("seed has no effect")
		}
	})
	t.Run("subset of subset flattens", func(t *testing.T) {
		first, _ := KShot(ds, 3, 1)
		second, _ := KShot(first, 1, 2)
		if second.Base != Dataset(ds) {
			t.Fatal("base is not the original data set")
		}
		for _, i := range second.Indices {
			if !slices.Contains(first.Indices, i) {
				t.Fatalf("index %d not in the first subset", i)
			}
		}
	})
}

func TestStratifiedSplit(t *testing.T) {
	tests := []struct {
		name      string
		counts    []int
		frac      float64
		valCounts []int
		err       string
	}{
		{"proportional", []int{10, 20, 5}, 0.2, []int{2, 4, 1}, ""},
		{"at least one each side", []int{2, 3, 1, 0}, 0.9, []int{1, 2, 0, 0}, ""},
		{"tiny fraction still holds one out", []int{4, 4}, 0.01, []int{1, 1}, ""},
		{"bad fraction", []int{4, 4}, 1, nil, "outside (0,1)"},
		{"nothing to hold out", []int{1, 1}, 0.5, nil, "no class has 2 samples"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := labelled(t, len(tt.counts), repeatLabels(slices.Clone(tt.counts)...)...)
			train, val, err := StratifiedSplit(ds, tt.frac, 3)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ClassCounts(val); !slices.Equal(got, tt.valCounts) {
				t.Errorf("val counts %v, want %v", got, tt.valCounts)
			}
			all := append(slices.Clone(train.Indices), val.Indices...)
			slices.Sort(all)
			for i, j := range all {
				if i != j {
					t.Fatalf("train and val are not a partition: %v", all)
				}
			}
			_, val2, _ := StratifiedSplit(ds, tt.frac, 3)
			if !slices.Equal(val.Indices, val2.Indices) {
				t.Error("not deterministic")
			}
		})
	}
}

func TestInMemory(t *testing.T) {
	im := patterned(1, 2, 2)
	tests := []struct {
		name    string
		images  []*Image
		labels  []int
		classes []string
		err     string
	}{
		{"ok", []*Image{im}, []int{1}, []string{"a", "b"}, ""},
		{"count mismatch", []*Image{im}, []int{0, 1}, []string{"a"}, "1 images but 2 labels"},
		{"no classes", []*Image{im}, []int{0}, nil, "no class names"},
		{"label range", []*Image{im}, []int{2}, []string{"a", "b"}, "label 2 of image 0"},
		{"bad image", []*Image{{C: 1, H: 2, W: 2}}, []int{0}, []string{"a"}, "image 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := NewInMemory(tt.images, tt.labels, tt.classes)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := ds.Image(0)
			got.Pix[0] = 42
			if im.Pix[0] == 42 {
				t.Error("Image shares memory with the stored image")
			}
			if ds.Source(0) != "memory#0" {
				t.Errorf("source %q", ds.Source(0))
			}
			ds.Name = "synth"
			if ds.Source(0) != "synth#0" {
				t.Errorf("source %q", ds.Source(0))
			}
		})
	}
}

func TestMaterialize(t *testing.T) {
	root := tree(t, "a/1.png", "a/2.ppm", "b/3.bmp")
	f, err := OpenFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Materialize(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 3 || !slices.Equal(labelsOf(m), labelsOf(f)) || m.Source(2) != f.Source(2) {
		t.Fatalf("len %d, labels %v, source %q", m.Len(), labelsOf(m), m.Source(2))
	}
	a, _ := m.Image(1)
	b, _ := f.Image(1)
	if !slices.Equal(a.Pix, b.Pix) {
		t.Error("pixels differ")
	}
	writeFile(t, f.Source(1), []byte("junk"))
	if _, err := Materialize(f, 2); err == nil || !strings.Contains(err.Error(), "2.ppm") {
		t.Errorf("corrupt file: err = %v", err)
	}
}
