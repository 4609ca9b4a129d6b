package synth

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Generate writes each kind where it says, with its defaults, and refuses
// flags that do not apply to the kind.
func TestGenerate(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name  string
		r     Request
		want  Written
		files []string
		err   string
	}{
		{"data set", Request{Country: "de", Classes: "stop, ,yield", PerClass: 2, Seed: 1, Out: filepath.Join(dir, "set")},
			Written{Country: "de", Classes: 2, Images: 4, Size: 32}, []string{"classes.csv", "classmap.csv"}, ""},
		{"sheet", Request{Country: "se", Classes: "all", PerClass: 1, Size: 24, Out: filepath.Join(dir, "sheet"), Sheet: true},
			Written{Country: "se", Size: 24, Sheet: filepath.Join(dir, "sheet", "synth-se.png")}, []string{"synth-se.png"}, ""},
		{"scene sheet", Request{Country: "be", Classes: "all", Images: 2, SceneSize: "96x64", Out: filepath.Join(dir, "ss"), Sheet: true, Scenes: true},
			Written{Country: "be", Images: 2, SceneSize: "96x64", Sheet: filepath.Join(dir, "ss", "scenes-be.png")}, []string{"scenes-be.png"}, ""},
		{"unknown country", Request{Country: "xx", Out: dir}, Written{}, nil, "de"},
		{"sheet of some classes", Request{Country: "de", Classes: "stop", Sheet: true, Out: dir}, Written{}, nil, "does not apply to --sheet"},
		{"negative per class", Request{Country: "de", PerClass: -1, Out: dir}, Written{}, nil, "--per-class -1"},
		{"scenes with a size", Request{Country: "de", Scenes: true, Size: 32, SceneSize: "96x64", Out: dir}, Written{}, nil, "do not apply to --scenes"},
		{"bad scene size", Request{Country: "de", Scenes: true, SceneSize: "64x", Out: dir}, Written{}, nil, `--scene-size "64x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Generate(context.Background(), tt.r)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Country != tt.want.Country || got.Images != tt.want.Images || got.Size != tt.want.Size ||
				got.Sheet != tt.want.Sheet || got.SceneSize != tt.want.SceneSize || (tt.want.Classes != 0 && got.Classes != tt.want.Classes) {
				t.Errorf("wrote %+v, want %+v", got, tt.want)
			}
			for _, f := range tt.files {
				if _, err := os.Stat(filepath.Join(tt.r.Out, f)); err != nil {
					t.Errorf("missing %s", f)
				}
			}
		})
	}
}
