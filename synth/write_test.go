package synth

import (
	"context"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteTree(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	s := mustNew(t, Config{Country: "de", Classes: []string{"zone30", "limit30"}, PerClass: 3, Offset: 5, Size: 16, Seed: 3, Shift: 1, Difficulty: 0.4})
	calls := 0
	if err := WriteTree(context.Background(), s, dir, func(done, total int) { calls++ }); err != nil {
		t.Fatal(err)
	}
	if calls != 6 {
		t.Errorf("progress called %d times, want 6", calls)
	}
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"01/000005.png", "01/000006.png", "01/000007.png",
		"40/000005.png", "40/000006.png", "40/000007.png",
		"classes.csv", "classmap.csv",
	}
	if !slices.Equal(files, want) {
		t.Errorf("files:\n%v\nwant:\n%v", files, want)
	}

	f, err := os.Open(filepath.Join(dir, "40", "000006.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	want4, _ := s.NRGBA(3) // zone30 is label 1; sample index 6 is the second
	for y := range 16 {
		for x := range 16 {
			r, g, b, _ := img.At(x, y).RGBA()
			w := want4.NRGBAAt(x, y)
			if uint8(r>>8) != w.R || uint8(g>>8) != w.G || uint8(b>>8) != w.B {
				t.Fatalf("pixel (%d,%d) of the PNG differs from Set.NRGBA", x, y)
			}
		}
	}

	classes, _ := os.ReadFile(filepath.Join(dir, "classes.csv"))
	wantCSV := "id,name,shape,meaning\n1,limit30,circle,speed limit 30 km/h\n40,zone30,rectangle,30 km/h zone\n"
	if string(classes) != wantCSV {
		t.Errorf("classes.csv:\n%s\nwant:\n%s", classes, wantCSV)
	}
	cm, _ := os.ReadFile(filepath.Join(dir, "classmap.csv"))
	lines := strings.Split(strings.TrimSpace(string(cm)), "\n")
	if lines[0] != "meaning,be,at,de,it,es,se" {
		t.Errorf("classmap.csv header %q", lines[0])
	}
	if !slices.Contains(lines, "30 km/h zone,,,40,,,") || !slices.Contains(lines, "stop and give way,8,8,8,8,8,8") {
		t.Errorf("classmap.csv lacks expected rows:\n%s", cm)
	}
}

func TestWriteTreeErrors(t *testing.T) {
	s := mustNew(t, Config{Classes: []string{"stop"}, PerClass: 2, Size: 8})
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(blocker, "out")
	err := WriteTree(context.Background(), s, out, nil)
	if err == nil || !strings.Contains(err.Error(), out) {
		t.Errorf("error %v does not name the folder %q", err, out)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := WriteTree(ctx, s, dir, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled write returned %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "08"))
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
