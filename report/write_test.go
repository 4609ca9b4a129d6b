package report

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/graftml/graft/experiment"
)

func TestWriteAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "report") // WriteAll creates it
	r := fixture()
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	figs, err := Plots(r)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{CSVFile, HTMLFile, MarkdownFile}
	for _, f := range figs {
		want = append(want, f.Name+".svg", f.Name+".png")
	}
	slices.Sort(want)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
		if info, err := e.Info(); err != nil || info.Size() == 0 {
			t.Errorf("%s is empty or unreadable (%v)", e.Name(), err)
		}
	}
	// Exactly these files: a leftover temporary file would show up here.
	if !slices.Equal(got, want) {
		t.Errorf("files in %s:\n got %q\nwant %q", dir, got, want)
	}
	// A second run replaces the files in place, again without leftovers.
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadDir(dir); len(again) != len(want) {
		t.Errorf("second run left %d files, want %d", len(again), len(want))
	}
}

func TestWriteAllBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(filepath.Join(file, "sub"), fixture()); err == nil {
		t.Error("WriteAll under a regular file succeeded")
	}
}

// TestWriteSample renders a report where GRAFT_REPORT_SAMPLE says, to look
// at it in a browser: GRAFT_REPORT_SAMPLE=/tmp/report-sample go test
// ./report/ -run Sample. It renders the test fixture, or the results.json
// that GRAFT_REPORT_FROM names.
func TestWriteSample(t *testing.T) {
	dir := os.Getenv("GRAFT_REPORT_SAMPLE")
	if dir == "" {
		t.Skip("GRAFT_REPORT_SAMPLE not set")
	}
	r := fixture()
	if from := os.Getenv("GRAFT_REPORT_FROM"); from != "" {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		r = &experiment.Results{}
		if err := json.Unmarshal(b, r); err != nil {
			t.Fatalf("%s: %v", from, err)
		}
	}
	if err := WriteAll(dir, r); err != nil {
		t.Fatal(err)
	}
}
