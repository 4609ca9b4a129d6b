package experiment

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzReadClassMap feeds class-map CSV files to ReadClassMap.
func FuzzReadClassMap(f *testing.F) {
	for _, s := range []string{
		"target,source\ncat,a\ndog,d\n",
		"# comment\n0,1\n2,3\n",
		"bird, c \n",
		"cat\n",
		"cat,zebra\n",
		"\"cat,a\n",
		"1,-1\n99,0\n",
	} {
		f.Add([]byte(s))
	}
	target, source := []string{"cat", "dog", "bird"}, []string{"a", "b", "c", "d"}
	path := filepath.Join(f.TempDir(), "classmap.csv")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			m, err := ReadClassMap(path, target, source)
			fuzzcheck.ErrNames(t, err, path)
			if err != nil {
				return
			}
			if len(m) != len(target) {
				t.Fatalf("%d rows for %d target classes", len(m), len(target))
			}
			for i, s := range m {
				if s < -1 || s >= len(source) {
					t.Fatalf("target %d maps to source %d of %d", i, s, len(source))
				}
			}
		})
	})
}
