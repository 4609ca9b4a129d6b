package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tree creates the files named (relative to a new root); names ending in an
// image extension get a small image, others some text.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f))
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if isImageName(filepath.Base(f)) {
			writeImage(t, p, 6, 4)
		} else {
			writeFile(t, p, []byte("not an image"))
		}
	}
	return root
}

func TestOpenFolder(t *testing.T) {
	tests := []struct {
		name    string
		files   []string
		classes []string
		labels  []int    // per sample, in Source order
		sources []string // relative to root
	}{
		{
			name:    "lexical names",
			files:   []string{"dog/b.png", "cat/a.jpg", "cat/b.PPM", "emu/x.bmp"},
			classes: []string{"cat", "dog", "emu"},
			labels:  []int{0, 0, 1, 2},
			sources: []string{"cat/a.jpg", "cat/b.PPM", "dog/b.png", "emu/x.bmp"},
		},
		{
			name:    "numeric names sort numerically",
			files:   []string{"10/a.png", "9/a.png", "2/a.png"},
			classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
			labels:  []int{2, 9, 10},
			sources: []string{"2/a.png", "9/a.png", "10/a.png"},
		},
		{
			name:    "numeric gap keeps labels",
			files:   []string{"0/a.png", "1/a.png", "3/a.png"},
			classes: []string{"0", "1", "2", "3"},
			labels:  []int{0, 1, 3},
		},
		{
			name:    "zero-padded like GTSRB",
			files:   []string{"00000/a.ppm", "00002/a.ppm", "00002/b.ppm"},
			classes: []string{"00000", "00001", "00002"},
			labels:  []int{0, 2, 2},
		},
		{
			name:    "mixed names are lexical",
			files:   []string{"1/a.png", "b/a.png", "10/a.png"},
			classes: []string{"1", "10", "b"},
			labels:  []int{0, 1, 2},
		},
		{
			name:    "duplicate numbers are lexical",
			files:   []string{"1/a.png", "01/a.png"},
			classes: []string{"01", "1"},
			labels:  []int{0, 1},
		},
		{
			name: "ignored files and hidden entries",
			files: []string{
				"a/1.png", "a/.hidden.png", "a/notes.txt", "a/labels.csv", "a/.DS_Store",
				"b/sub/2.pgm", "b/.cache/3.png", ".git/x.png", "readme.txt",
			},
			classes: []string{"a", "b"},
			labels:  []int{0, 1},
			sources: []string{"a/1.png", "b/sub/2.pgm"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files...)
			f, err := OpenFolder(root)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(f.Classes(), tt.classes) {
				t.Errorf("classes %q, want %q", f.Classes(), tt.classes)
			}
			var labels []int
			for i := 0; i < f.Len(); i++ {
				labels = append(labels, f.Label(i))
			}
			if !slices.Equal(labels, tt.labels) {
				t.Errorf("labels %v, want %v", labels, tt.labels)
			}
			if tt.sources != nil {
				var got []string
				for i := 0; i < f.Len(); i++ {
					rel, _ := filepath.Rel(root, f.Source(i))
					got = append(got, filepath.ToSlash(rel))
				}
				if !slices.Equal(got, tt.sources) {
					t.Errorf("sources %q, want %q", got, tt.sources)
				}
			}
			if err := Check(f, 2); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestOpenFolderSymlinkedClass(t *testing.T) {
	elsewhere := tree(t, "a.png")
	root := tree(t, "real/x.png")
	if err := os.Symlink(elsewhere, filepath.Join(root, "linked")); err != nil {
		t.Skip("symlinks unavailable:", err)
	}
	f, err := OpenFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Classes(), []string{"linked", "real"}) || f.Len() != 2 {
		t.Errorf("classes %q, %d samples; want linked and real, 2 samples", f.Classes(), f.Len())
	}
}

func TestOpenFolderErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file.png")
	writeImage(t, file, 2, 2)
	tests := []struct {
		name  string
		root  func(t *testing.T) string
		wants []string
	}{
		{"missing root", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope") },
			[]string{"nope", "no such directory", "one subfolder per class"}},
		{"root is a file", func(*testing.T) string { return file },
			[]string{"file.png", "not a directory"}},
		{"no class folders", func(t *testing.T) string { return tree(t, "x.txt") },
			[]string{"no class folders", "own subfolder"}},
		{"images directly in root", func(t *testing.T) string { return tree(t, "a.png", "b.png") },
			[]string{"no class folders", "holds 2 images directly"}},
		{"empty class", func(t *testing.T) string { return tree(t, "a/x.png", "b/readme.txt") },
			[]string{"class folder", filepath.FromSlash("/b"), "has no images (PNG, JPEG, PPM/PGM, BMP); remove it or add images"}},
		{"empty class dir", func(t *testing.T) string { return tree(t, "a/x.png", "b/") },
			[]string{"has no images"}},
		{"one class", func(t *testing.T) string { return tree(t, "only/x.png", "only/y.png") },
			[]string{"only one class", "needs at least 2 classes", "add another class folder"}},
		{"one level too high", func(t *testing.T) string { return tree(t, "Images/a/x.png", "Images/b/y.png") },
			[]string{"only one class (Images)", "if its subfolders are the classes, pass", filepath.FromSlash("/Images")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tt.root(t)
			_, err := OpenFolder(root)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

func TestFolderCorruptImage(t *testing.T) {
	root := tree(t, "a/good.png", "b/good.png", "b/zbad.png", "b/trunc.ppm")
	writeFile(t, filepath.Join(root, "b", "zbad.png"), []byte("\x89PNG\r\n\x1a\ngarbage"))
	writeFile(t, filepath.Join(root, "b", "trunc.ppm"), []byte("P6\n4 4\n255\n\x00\x01"))
	f, err := OpenFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < f.Len(); i++ {
		_, err := f.Image(i)
		bad := strings.Contains(f.Source(i), "bad") || strings.Contains(f.Source(i), "trunc")
		if !bad {
			if err != nil {
				t.Errorf("%s: %v", f.Source(i), err)
			}
			continue
		}
		var es *ErrSample
		if !errors.As(err, &es) || es.Source != f.Source(i) {
			t.Errorf("%s: err = %v, want *ErrSample naming the file", f.Source(i), err)
		}
		if strings.Count(err.Error(), f.Source(i)) != 1 {
			t.Errorf("error should name the file once: %q", err)
		}
	}
	// Check reports the first failure by index, whatever the workers.
	for _, workers := range []int{1, 2, 8} {
		err := Check(f, workers)
		var es *ErrSample
		if !errors.As(err, &es) || !strings.HasSuffix(es.Source, "trunc.ppm") {
			t.Errorf("workers=%d: Check = %v, want the error for trunc.ppm", workers, err)
		}
	}
}
