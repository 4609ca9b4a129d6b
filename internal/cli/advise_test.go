package cli

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdvise(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, filepath.Join(dir, "src"), 4, 16)
	writeSet(t, filepath.Join(dir, "train"), 3, 10)
	writeSet(t, filepath.Join(dir, "test"), 3, 4)
	ck := trainBase(t, filepath.Join(dir, "src"), filepath.Join(dir, "src-model"), 2)
	ck2 := trainBase(t, filepath.Join(dir, "src"), filepath.Join(dir, "src-model-1epoch"), 1)
	small := []string{"--strategies", "probe,finetune,scratch", "--epochs", "3", "--lr-grid", "1e-3", "--seeds", "2", "--threads", "1"}
	code, out, errs := run(t, append([]string{"advise", "--base", ck + "," + ck2, "--train", filepath.Join(dir, "train"), "--source-data", filepath.Join(dir, "src")}, small...)...)
	if code != 0 {
		t.Fatalf("advise exit %d: %s", code, errs)
	}
	for _, want := range []string{"candidate bases", "scores against the probe over bases", "four-case chart:", "recommended:", "the chart says", "ranking by measurement", "of the full comparison", "LogME", "Fréchet", "LEEP"} {
		if !strings.Contains(out, want) {
			t.Errorf("advise output lacks %q:\n%s", want, out)
		}
	}

	out1 := filepath.Join(dir, "validate")
	code, out, errs = run(t, append([]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--test", filepath.Join(dir, "test"),
		"--validate", "--out", out1, "--json", "--quiet"}, small...)...)
	if code != 0 {
		t.Fatalf("advise --validate exit %d: %s", code, errs)
	}
	var rep struct {
		Quadrant    string `json:"quadrant"`
		Story       string `json:"story"`
		Recommended struct {
			Strategy string  `json:"strategy"`
			LR       float64 `json:"lr"`
			Epochs   int     `json:"epochs"`
		} `json:"recommended"`
		Compute struct {
			Share float64 `json:"share"`
		} `json:"compute"`
		Ranking []struct {
			Strategy string  `json:"strategy"`
			Score    float64 `json:"score"`
		} `json:"ranking"`
		Measurements map[string]any `json:"measurements"`
		Validation   *struct {
			Tau             float64 `json:"kendall_tau"`
			ComputeFraction float64 `json:"compute_fraction"`
			Rows            []any   `json:"rows"`
		} `json:"validation"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("advise --json: %v\n%s", err, out)
	}
	if rep.Quadrant == "" || rep.Story == "" || rep.Recommended.Strategy == "" || rep.Recommended.LR != 1e-3 || rep.Recommended.Epochs < 1 ||
		len(rep.Ranking) != 3 || rep.Measurements["stages"] == nil || rep.Compute.Share <= 0 {
		t.Errorf("advice JSON incomplete: %+v", rep)
	}
	if rep.Validation == nil || len(rep.Validation.Rows) != 3 || rep.Validation.ComputeFraction <= 0 {
		t.Fatalf("validation missing or incomplete: %+v", rep.Validation)
	}
	for _, f := range []string{"advice.json", "race.json", "results.json", "report.html"} {
		if _, err := os.Stat(filepath.Join(out1, f)); err != nil {
			t.Errorf("--validate did not write %s", f)
		}
	}
	// Rerun against the comparison just made: the race resumes from
	// race.json without training, and the validation is the same.
	code, out2, errs := run(t, append([]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"),
		"--against", filepath.Join(out1, "results.json"), "--out", out1}, small...)...)
	if code != 0 || strings.Contains(errs, "budget:") || !strings.Contains(out2, "validation against graft compare") {
		t.Errorf("advise --against exit %d; stderr %s\n%s", code, errs, out2)
	}

	// Bad input: one line naming the problem.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--validate"}, "--test is required"},
		{[]string{"advise", "--base", filepath.Join(dir, "missing"), "--train", filepath.Join(dir, "train")}, "--base"},
		{[]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--strategies", "nope"}, "unknown strategy"},
		{[]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--budget", "2"}, "--budget 2"},
		{[]string{"advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--against", filepath.Join(dir, "none.json")}, "--against"},
	} {
		code, _, errs := run(t, tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tc.args[1:], code, errs, tc.want)
		}
	}
}

// Numbered class folders with a gap name a class with no image: advise
// --validate completes and writes advice.json (the imbalance over an empty
// class once made JSON refuse +Inf after the whole comparison had run).
func TestAdviseValidateWithClassGaps(t *testing.T) {
	dir := t.TempDir()
	for _, set := range []struct {
		name string
		per  int
	}{{"src", 16}, {"train", 10}, {"test", 4}} {
		d := filepath.Join(dir, set.name)
		writeSet(t, d, 3, set.per)
		// class0, class1, class2 → 0, 1, 3: label 2 has no folder.
		for i, num := range []string{"0", "1", "3"} {
			if err := os.Rename(filepath.Join(d, fmt.Sprintf("class%d", i)), filepath.Join(d, num)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ck := trainBase(t, filepath.Join(dir, "src"), filepath.Join(dir, "src-model"), 1)
	out := filepath.Join(dir, "validate")
	code, _, errs := run(t, "advise", "--base", ck, "--train", filepath.Join(dir, "train"), "--test", filepath.Join(dir, "test"),
		"--validate", "--out", out, "--strategies", "probe,finetune", "--seeds", "1", "--epochs", "2", "--lr-grid", "1e-3",
		"--threads", "1", "--quiet")
	if code != 0 {
		t.Fatalf("advise --validate on classes 0, 1, 3: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(out, "advice.json"))
	if err != nil {
		t.Fatal(err)
	}
	var adv map[string]any
	if err := json.Unmarshal(b, &adv); err != nil {
		t.Fatalf("advice.json: %v", err)
	}
}

// Degenerate targets — one class, images with no variance — end in advice
// or a clear error, never a panic, and no NaN or Inf reaches the JSON.
func TestAdviseDegenerateTargets(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, filepath.Join(dir, "src"), 3, 12)
	ck := trainBase(t, filepath.Join(dir, "src"), filepath.Join(dir, "src-model"), 1)
	one := filepath.Join(dir, "one")
	writeSet(t, one, 1, 10)
	flat := filepath.Join(dir, "flat")
	for c := 0; c < 2; c++ {
		cd := filepath.Join(flat, fmt.Sprintf("class%d", c))
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8; i++ {
			im := image.NewGray(image.Rect(0, 0, 16, 16)) // all black
			f, err := os.Create(filepath.Join(cd, fmt.Sprintf("%d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, im); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for _, train := range []string{one, flat} {
		out := filepath.Join(dir, "advice-"+filepath.Base(train))
		code, stdout, errs := run(t, "advise", "--base", ck, "--train", train, "--strategies", "probe,finetune", "--epochs", "2",
			"--lr-grid", "1e-3", "--seeds", "1", "--threads", "1", "--json", "--quiet", "--out", out)
		if strings.Contains(errs, "panic") || strings.Contains(errs, "unsupported value") {
			t.Fatalf("%s: exit %d: %s", filepath.Base(train), code, errs)
		}
		if code != 0 {
			t.Logf("%s: %s", filepath.Base(train), errs)
			// A clear error names what is wrong.
			if !strings.Contains(errs, "class") && !strings.Contains(errs, "fold") && !strings.Contains(errs, "validation") {
				t.Errorf("%s: exit %d with an unclear error: %s", filepath.Base(train), code, errs)
			}
			continue
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Errorf("%s: %v\n%s", filepath.Base(train), err, stdout)
		}
		if _, err := os.Stat(filepath.Join(out, "advice.json")); err != nil {
			t.Errorf("%s: no advice.json", filepath.Base(train))
		}
	}
}
