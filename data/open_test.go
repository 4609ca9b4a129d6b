package data

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	imgs, labels := idxPair(t, dir, "x", false)
	folder := tree(t, "cat/a.png", "cat/b.png", "dog/a.png", "emu/a.png")
	tests := []struct {
		spec    string
		classes []string // nil: an error is expected
		n       int
		err     string
	}{
		{spec: folder, classes: []string{"cat", "dog", "emu"}, n: 4},
		{spec: folder + "/", classes: []string{"cat", "dog", "emu"}, n: 4},
		{spec: folder + "?classes=2,0", classes: []string{"emu", "cat"}, n: 3},
		{spec: folder + "?classes=0", err: "keep at least 2 classes"},
		{spec: folder + "?classes=x", err: "is not a class number"},
		{spec: "idx:" + imgs + "," + labels, n: 3},
		{spec: "idx:" + imgs, err: "expected idx:IMAGES,LABELS"},
		{spec: filepath.Join(dir, "nothing"), err: "not found: give a folder of class folders"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.spec, dir), func(t *testing.T) {
			ds, err := Open(tt.spec, TrainPart)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tt.n || (tt.classes != nil && !slices.Equal(ds.Classes(), tt.classes)) {
				t.Errorf("%d images of %q, want %d of %q", ds.Len(), ds.Classes(), tt.n, tt.classes)
			}
		})
	}
}

func TestOpenTraining(t *testing.T) {
	good := tree(t, "a/1.png", "b/1.png")
	if ds, err := OpenTraining(good, 1); err != nil || ds.Len() != 2 {
		t.Fatalf("a good folder: %v", err)
	}
	bad := tree(t, "a/1.png", "b/1.png")
	writeFile(t, filepath.Join(bad, "b", "2.png"), []byte("\x89PNG\r\n\x1a\nnot a png"))
	if _, err := OpenTraining(bad, 1); err == nil || !strings.Contains(err.Error(), filepath.Join("b", "2.png")) {
		t.Errorf("a corrupt image: error %v, want one naming the file", err)
	}
}

// classes.csv names numbered class folders; gaps in the numbering keep
// their numbers and are listed by Gaps.
func TestOpenFolderClassNames(t *testing.T) {
	synthCSV := "id,name,shape,meaning\n0,stop,octagon,stop\n1,yield,triangle,give way\n8,limit50,circle,speed limit 50\n"
	tests := []struct {
		name    string
		folders []string
		csv     string // "" writes no classes.csv
		classes []string
		gaps    []string
		err     string
	}{
		{name: "no csv", folders: []string{"00", "01", "02"}, classes: []string{"00", "01", "02"}},
		{name: "synth's csv", folders: []string{"00", "01", "08"}, csv: synthCSV,
			classes: []string{"stop", "yield", "02", "03", "04", "05", "06", "07", "limit50"},
			gaps:    []string{"02", "03", "04", "05", "06", "07"}},
		{name: "csv of a larger set", folders: []string{"00", "01"}, csv: synthCSV, classes: []string{"stop", "yield"}},
		{name: "gaps without csv", folders: []string{"0", "1", "3"}, classes: []string{"0", "1", "2", "3"}, gaps: []string{"2"}},
		{name: "named folders ignore the csv", folders: []string{"cat", "dog"}, csv: "not,a,header\n", classes: []string{"cat", "dog"}},
		{name: "empty name keeps the number", folders: []string{"00", "01"}, csv: "id,name\n0,\n1,b\n", classes: []string{"00", "b"}},
		{name: "no id column", folders: []string{"00", "01"}, csv: "class,name\n0,a\n", err: "must name an id and a name column"},
		{name: "bad id", folders: []string{"00", "01"}, csv: "id,name\nx,a\n", err: "line 2: id \"x\" is not a class number"},
		{name: "short row", folders: []string{"00", "01"}, csv: "id,name\n0\n", err: "line 2: expected 2 columns"},
		{name: "duplicate name", folders: []string{"00", "01"}, csv: "id,name\n0,a\n1,a\n", err: "classes 0 and 1 are both named \"a\""},
		{name: "name of another folder", folders: []string{"00", "01"}, csv: "id,name\n0,01\n", err: "class 0 is named \"01\", which is class 1's folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []string
			for _, f := range tt.folders {
				files = append(files, f+"/a.png")
			}
			root := tree(t, files...)
			if tt.csv != "" {
				writeFile(t, filepath.Join(root, "classes.csv"), []byte(tt.csv))
			}
			ds, err := Open(root, TrainPart)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "classes.csv") {
					t.Fatalf("error %v, want one naming classes.csv and containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ds.Classes(), tt.classes) {
				t.Errorf("classes %q, want %q", ds.Classes(), tt.classes)
			}
			if !slices.Equal(Gaps(ds), tt.gaps) {
				t.Errorf("gaps %q, want %q", Gaps(ds), tt.gaps)
			}
		})
	}
}

// Views report their base's gaps among the classes they keep.
func TestGapsThroughViews(t *testing.T) {
	root := tree(t, "0/a.png", "0/b.png", "1/a.png", "1/b.png", "3/a.png", "3/b.png")
	ds, err := Open(root, TrainPart)
	if err != nil {
		t.Fatal(err)
	}
	tr, _, err := StratifiedSplit(ds, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if g := Gaps(tr); !slices.Equal(g, []string{"2"}) {
		t.Errorf("a split's gaps %q, want [2]", g)
	}
	for _, tt := range []struct {
		spec string
		gaps []string
	}{{root + "?classes=0,2", []string{"2"}}, {root + "?classes=0,3", nil}} {
		sub, err := Open(tt.spec, TrainPart)
		if err != nil {
			t.Fatal(err)
		}
		if g := Gaps(sub); !slices.Equal(g, tt.gaps) {
			t.Errorf("%s: gaps %q, want %q", tt.spec, g, tt.gaps)
		}
	}
}
