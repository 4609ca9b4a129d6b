package report

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/experiment"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report/ -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; diff it with go test ./report/ -update && git diff %s\n--- got ---\n%s", name, path, got)
	}
}

// placeholderFigures are the real figures with their SVG replaced, since
// the plotting library's exact bytes may change between its versions.
func placeholderFigures(t *testing.T, r *experiment.Results) []Figure {
	t.Helper()
	figs, err := Plots(r)
	if err != nil {
		t.Fatal(err)
	}
	for i := range figs {
		figs[i].SVG = []byte(`<?xml version="1.0"?>` + "\n" + `<svg width="100pt" height="50pt" viewBox="0 0 100 50"><!-- ` + figs[i].Name + ` --></svg>`)
		figs[i].PNG = nil
	}
	return figs
}

// TestGolden renders the schema-2 fixture into testdata/ and its
// schema-1 twin into testdata/schema1/: files written before schema 2
// must keep rendering as they did.
func TestGolden(t *testing.T) {
	for _, fx := range []struct {
		dir     string
		results func() *experiment.Results
	}{{"", fixture}, {"schema1/", fixtureV1}} {
		r := fx.results()
		figs := placeholderFigures(t, r)
		tests := []struct {
			file  string
			write func(io.Writer, *experiment.Results) error
		}{
			{"leaderboard.txt", Leaderboard},
			{"leaderboard.md", Markdown},
			{"results.csv", WriteCSV},
			{"report.html", func(w io.Writer, r *experiment.Results) error { return HTML(w, r, figs) }},
		}
		for _, tt := range tests {
			t.Run(fx.dir+tt.file, func(t *testing.T) {
				var b bytes.Buffer
				if err := tt.write(&b, r); err != nil {
					t.Fatal(err)
				}
				golden(t, fx.dir+tt.file, b.Bytes())
			})
		}
	}
}
