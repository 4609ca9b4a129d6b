package synth

import (
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestGoldenPixels pins the exact bytes of a few samples per country, so a
// change to rendering (which silently relabels every saved data set and
// result) has to be made on purpose with -update. Other architectures may
// fuse multiply-adds or lack the rasteriser's SIMD path and round
// differently, so the pins hold on amd64 only.
func TestGoldenPixels(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("golden pixels are recorded on amd64, not %s", runtime.GOARCH)
	}
	var b strings.Builder
	for _, code := range CountryCodes() {
		for _, class := range []string{"limit30", "pedestrians", "40"} {
			for _, tc := range []struct {
				shift, difficulty float64
			}{{1, 0}, {0.5, 0.6}, {1, 1}} {
				img, err := Render(Sample{Country: code, Class: class, Index: 3, Seed: 42, Size: 32, Shift: tc.shift, Difficulty: tc.difficulty})
				if err != nil {
					if class == "40" && strings.Contains(err.Error(), "unknown class") {
						continue // the base country has no class of its own
					}
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s %s shift=%g difficulty=%g %x\n", code, class, tc.shift, tc.difficulty, sha256.Sum256(img.Pix))
			}
		}
	}
	path := filepath.Join("testdata", "render.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenPixels -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Errorf("rendering changed:\n got %s\nwant %s", gl[i], wl[i])
			}
		}
		t.Error("rendered pixels changed; if that is intended, run go test ./synth -run TestGoldenPixels -update and say so in the commit message")
	}
}
