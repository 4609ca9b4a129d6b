package torch

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
)

//go:embed shim/graft_shim.h
var shimHeader []byte

// TestShimABI: the loaded shim speaks this binary's ABI, and the header
// has not changed since GS_ABI was last raised (testdata/shim_abi.golden
// holds the version and the header's hash): a changed declaration must
// raise GS_ABI, or binaries and shims of two versions would call each
// other with arguments read differently.
func TestShimABI(t *testing.T) {
	if err := CheckShim(); err != nil {
		t.Fatal(err)
	}
	golden, err := os.ReadFile("testdata/shim_abi.golden")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(shimHeader)
	got := fmt.Sprintf("%d %s", abiVersion(), hex.EncodeToString(sum[:]))
	if want := strings.TrimSpace(string(golden)); got != want {
		t.Fatalf("graft_shim.h or GS_ABI changed: testdata/shim_abi.golden says %q, now %q. If a declaration changed, raise GS_ABI in graft_shim.h; then write the new version and hash into the golden file", want, got)
	}
}
