package checkpoint

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/data"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzReadMeta feeds checkpoint sidecars (m.json) to ReadMeta.
func FuzzReadMeta(f *testing.F) {
	cut := 2
	for _, m := range []Meta{
		{Format: Format, Arch: "smallcnn", NumClasses: 2, InChannels: 3, Classes: []string{"a", "b"},
			Stages:     []StageInfo{{Name: "stem", Channels: 16, Reduction: 2}},
			Preprocess: data.Preprocess{Size: 32, Norm: "unit"}, Weights: "m.safetensors", SHA256: "00",
			Training: json.RawMessage(`{"strategy":"probe"}`)},
		{Format: Format, Arch: "resnet18", NumClasses: 3, CutAfter: &cut},
		{Format: "graft-checkpoint/0"},
	} {
		b, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"format":"graft-checkpoint/1","num_classes":1,"classes":["a","b"]}`))

	dir := f.TempDir()
	path := filepath.Join(dir, "m.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			m, err := ReadMeta(path)
			fuzzcheck.ErrNames(t, err, path)
			if err == nil && (m.Format != Format || len(m.Classes) != 0 && len(m.Classes) != m.NumClasses) {
				t.Fatalf("accepted format %q with %d names for %d classes", m.Format, len(m.Classes), m.NumClasses)
			}
		})
	})
}
