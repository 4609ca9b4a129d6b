package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageFiles(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
	for _, f := range []string{"a/1.png", "a/b/2.JPG", "a/notes.txt", "loose.dat"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	join := func(f Files) string {
		var s []string
		for _, p := range f {
			rel, _ := filepath.Rel(dir, p)
			s = append(s, filepath.ToSlash(rel))
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct {
		name   string
		inputs []string
		want   string // the files, or part of the error
		ok     bool
	}{
		{"folder walks by extension", []string{"a"}, "a/1.png,a/b/2.JPG", true},
		{"a file is itself", []string{"loose.dat", "a/b"}, "loose.dat,a/b/2.JPG", true},
		{"missing", []string{"none"}, "image " + filepath.Join(dir, "none") + ": no such file", false},
		{"no images", []string{"empty"}, "no images found in", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var in []string
			for _, p := range tt.inputs {
				in = append(in, filepath.Join(dir, p))
			}
			got, err := ImageFiles(in)
			switch {
			case tt.ok && err != nil:
				t.Fatal(err)
			case tt.ok && join(got) != tt.want:
				t.Errorf("got %s, want %s", join(got), tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
	f := Files{filepath.Join(dir, "a", "1.png")}
	if f.Len() != 1 || f.Label(0) != 0 || len(f.Classes()) != 1 || f.Source(0) != f[0] {
		t.Errorf("Files: %d images, label %d, classes %v", f.Len(), f.Label(0), f.Classes())
	}
	if _, err := f.Image(0); err == nil || !strings.Contains(err.Error(), "1.png") {
		t.Errorf("a file that is no image: %v", err)
	}
}
