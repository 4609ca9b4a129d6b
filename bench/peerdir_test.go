package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// The peer script sits alone in its folder, so nothing beside it in the
// temporary folder can shadow a module it imports.
func TestPeerScriptAlone(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	if err := os.Mkdir(filepath.Join(os.TempDir(), "av"), 0o755); err != nil {
		t.Fatal(err)
	}
	path, err := writePeer()
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(path))
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "peer.py" {
		t.Fatalf("the peer script's folder holds %v", entries)
	}
}
