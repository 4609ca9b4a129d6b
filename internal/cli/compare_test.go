package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
)

// A 43-class set whose last class has 3 images, at 10 shots: the
// comparison runs, and says on the terminal and in results.json how many
// classes were short.
func TestCompareShortClasses(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train"), filepath.Join(dir, "test")
	writeSet(t, train, 43, 10)
	writeSet(t, test, 43, 1)
	for i := 3; i < 10; i++ {
		os.Remove(filepath.Join(train, "class42", fmt.Sprintf("%03d.png", i)))
	}
	base := trainBase(t, train, filepath.Join(dir, "base"), 1)
	out := filepath.Join(dir, "cmp")
	code, stdout, errs := run(t, "compare", "--base", base, "--train", train, "--test", test, "--strategies", "probe",
		"--shots", "10", "--seeds", "1", "--epochs", "2", "--lr-grid", "1e-2", "--out", out)
	if code != 0 {
		t.Fatalf("compare exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "10 shots: 1 classes have fewer images and give all they have (fewest 3): class42") {
		t.Errorf("the terminal does not name the short class:\n%s", errs)
	}
	if !strings.Contains(errs, "protocol refit") {
		t.Errorf("the terminal does not say which protocol ran:\n%s", errs)
	}
	res, err := experiment.ReadResults(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.ShortClasses) != 1 || res.ShortClasses[0].Count != 1 || res.Spec.Protocol != "refit" {
		t.Errorf("results.json: short classes %+v, protocol %q", res.ShortClasses, res.Spec.Protocol)
	}
	if !strings.Contains(stdout, "short") && !strings.Contains(stdout, "fewer images") {
		t.Errorf("the leaderboard does not mention the short class:\n%s", stdout)
	}
	code, _, errs = run(t, "compare", "--base", base, "--train", train, "--test", test, "--strategies", "probe",
		"--shots", "10", "--seeds", "1", "--epochs", "2", "--shots-strict", "--out", filepath.Join(dir, "strict"))
	if code == 0 || !strings.Contains(errs, "class42") || !strings.Contains(errs, "--shots-strict") {
		t.Errorf("--shots-strict: exit %d, %s", code, errs)
	}
}

// GTSRB-style TRACK_FRAME names: the terminal says the tracks group the
// images (the data package's tests show no track crosses a split).
func TestCompareSaysGrouping(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train"), filepath.Join(dir, "test")
	writeSet(t, train, 3, 12)
	writeSet(t, test, 3, 2)
	for c := 0; c < 3; c++ {
		for i := 0; i < 12; i++ {
			cd := filepath.Join(train, fmt.Sprintf("class%d", c))
			if err := os.Rename(filepath.Join(cd, fmt.Sprintf("%03d.png", i)), filepath.Join(cd, fmt.Sprintf("%05d_%05d.png", i/3, i%3))); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := trainBase(t, train, filepath.Join(dir, "base"), 1)
	code, _, errs := run(t, "compare", "--base", base, "--train", train, "--test", test, "--strategies", "probe",
		"--shots", "all", "--seeds", "1", "--epochs", "2", "--lr-grid", "1e-2", "--out", filepath.Join(dir, "cmp"))
	if code != 0 {
		t.Fatalf("compare exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "grouping: gtsrb-track") {
		t.Errorf("the terminal does not say the images were grouped by track:\n%s", errs)
	}
}

// graft transfer saves a model trained on every image: chosen on folds by
// default, or for exactly --epochs with --val-split 0.
func TestTransferTrainsOnEveryImage(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train")
	writeSet(t, train, 3, 10)
	base := trainBase(t, train, filepath.Join(dir, "base"), 1)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"refit", nil, "on all 30 images (chosen on"},
		{"no validation", []string{"--val-split", "0"}, "for 3 epochs on all 30 images (no validation)"},
		{"holdout", []string{"--protocol", "holdout"}, "best validation epoch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"transfer", "--base", base, "--strategy", "finetune", "--train", train, "--epochs", "3",
				"--out", filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")), "--quiet"}, c.args...)
			code, out, errs := run(t, args...)
			if code != 0 {
				t.Fatalf("transfer exit %d: %s", code, errs)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("transfer said %q, want %q", out, c.want)
			}
		})
	}
	if code, _, errs := run(t, "transfer", "--base", base, "--train", train, "--val-split", "0", "--lr-grid", "1e-3,1e-2", "--out", filepath.Join(dir, "x")); code == 0 || !strings.Contains(errs, "--lr-grid") {
		t.Errorf("--lr-grid without validation: exit %d, %s", code, errs)
	}
}

// Written to a file or a pipe, progress is a line per epoch (train) or per
// run (compare), with no progress-bar frames.
func TestProgressWithoutTerminalIsLines(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train")
	writeSet(t, train, 3, 8)
	code, _, errs := run(t, "train", "--train", train, "--size", "16", "--epochs", "3", "--batch", "8", "--refit", "never", "--out", filepath.Join(dir, "m"))
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	epochs := 0
	for _, l := range strings.Split(errs, "\n") {
		if strings.HasPrefix(l, "epoch ") {
			epochs++
		}
	}
	if strings.Contains(errs, "\r") || epochs != 3 {
		t.Errorf("train's progress off a terminal: want 3 epoch lines and no carriage return:\n%q", errs)
	}
	code, _, errs = run(t, "lr-find", "--base", filepath.Join(dir, "m"), "--train", train, "--steps", "5", "--batch", "8")
	if code != 0 {
		t.Fatalf("lr-find exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "\r") || strings.Count(errs, "\n") != 1 {
		t.Errorf("lr-find's progress off a terminal: want its one line and no carriage return:\n%q", errs)
	}
}

// Numbered class folders name their classes from classes.csv, so predict
// says "stop", and gaps in the numbering are said on the terminal.
func TestSynthNamesAndGaps(t *testing.T) {
	dir := t.TempDir()
	signs := filepath.Join(dir, "signs")
	if code, _, errs := run(t, "synth", "--country", "de", "--classes", "stop,yield,12", "--per-class", "4", "--size", "16", "--out", signs, "--quiet"); code != 0 {
		t.Fatalf("synth exit %d: %s", code, errs)
	}
	ck := filepath.Join(dir, "m")
	code, _, errs := run(t, "train", "--train", signs, "--size", "16", "--epochs", "1", "--val-split", "0", "--out", ck)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "note: --train's numbered class folders skip 00, 01") || !strings.Contains(errs, "10 of its 13 classes") {
		t.Errorf("train says nothing of the gaps in 08, 09, 12:\n%s", errs)
	}
	code, out, errs := run(t, "predict", ck, filepath.Join(signs, "08"), "--top", "13")
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, errs)
	}
	var preds []Prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatal(err)
	}
	names := map[int]string{}
	for _, c := range preds[0].Top {
		names[c.Index] = c.Class
	}
	if names[8] != "stop" || names[9] != "yield" || names[2] != "02" {
		t.Errorf("predicted classes are named %v; want 8 stop, 9 yield, 2 (a gap) 02", names)
	}
}
