package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// lr-find runs end to end for both strategies, on a set whose classes
// differ from the checkpoint's (the classifier is replaced; for probe, by
// the standardised head graft's probe trains), and rejects bad input with
// one line.
func TestLRFind(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, filepath.Join(dir, "src"), 4, 16)
	writeSet(t, filepath.Join(dir, "train"), 3, 16)
	ck := trainBase(t, filepath.Join(dir, "src"), filepath.Join(dir, "src-model"), 1)
	for _, s := range []string{"probe", "finetune"} {
		code, out, errs := run(t, "lr-find", "--base", ck, "--train", filepath.Join(dir, "train"), "--strategy", s,
			"--steps", "12", "--batch", "8", "--threads", "1", "--json", "--quiet")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", s, code, errs)
		}
		var rep struct {
			Strategy  string    `json:"strategy"`
			LRs       []float64 `json:"lrs"`
			Losses    []float64 `json:"losses"`
			Suggested float64   `json:"suggested"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: %v\n%s", s, err, out)
		}
		if rep.Strategy != s || len(rep.LRs) == 0 || len(rep.LRs) != len(rep.Losses) || rep.Suggested <= 0 {
			t.Errorf("%s: report %+v", s, rep)
		}
	}
	code, _, errs := run(t, "lr-find", "--base", ck, "--train", filepath.Join(dir, "train"), "--strategy", "nope")
	if code == 0 || !strings.Contains(errs, "--strategy") || strings.Contains(errs, "panic") {
		t.Errorf("bad --strategy: exit %d, stderr %q", code, errs)
	}
}
