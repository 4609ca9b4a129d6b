package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
)

// TestTransferAndCompareDetectors runs the detection path of the commands
// that adapt: transfer trains a detector on a classifier's body from
// scratch and saves it, compare on COCO data is a comparison of detectors
// (found from the data, ranked by mAP@0.5), and strategies that cut are
// refused for detectors.
func TestTransferAndCompareDetectors(t *testing.T) {
	dir := t.TempDir()
	scenes := func(name, country, images, seed string) string {
		out := filepath.Join(dir, name)
		if code, _, errs := run(t, "synth", "--scenes", "--country", country, "--classes", "stop,yield", "--images", images,
			"--scene-size", "96x72", "--seed", seed, "--out", out, "--quiet"); code != 0 {
			t.Fatalf("synth %s: %s", name, errs)
		}
		return "coco:" + filepath.Join(out, "annotations.json")
	}
	src, train, test := scenes("be", "be", "16", "1"), scenes("de", "de", "16", "2"), scenes("de-test", "de", "6", "3")
	det := filepath.Join(dir, "det-be")
	saveDetector(t, det, []string{"stop", "yield"})
	adapted := filepath.Join(dir, "adapted")
	code, out, errs := run(t, "transfer", "--base", det, "--strategy", "finetune", "--train", src, "--test", test,
		"--epochs", "2", "--val-split", "0", "--lr", "1e-3", "--out", adapted)
	if code != 0 {
		t.Fatalf("transfer exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "test mAP@0.5") {
		t.Errorf("transfer's output names no mAP:\n%s", out)
	}
	if code, _, errs := run(t, "eval", adapted, "--data", test); code != 0 {
		t.Errorf("the transferred detector does not evaluate: %s", errs)
	}
	if code, _, errs := run(t, "compare", "--base", det, "--train", train, "--test", test, "--strategies", "truncate:2",
		"--shots", "2", "--out", filepath.Join(dir, "bad")); code == 0 || !strings.Contains(errs, "freeze:K") {
		t.Errorf("truncate accepted for a detector (exit %d): %s", code, errs)
	}
	for _, args := range [][]string{
		{"compare", "--base", det, "--train", train, "--test", test, "--precision", "bf16", "--shots", "2", "--out", filepath.Join(dir, "bad")},
		{"eval", adapted, "--data", test, "--precision", "bf16"},
	} {
		if code, _, errs := run(t, args...); code == 0 || !strings.Contains(errs, "--precision fp32") {
			t.Errorf("%s --precision bf16 accepted for a detector (exit %d): %s", args[0], code, errs)
		}
	}
	cmp := filepath.Join(dir, "cmp")
	code, _, errs = run(t, "compare", "--base", det, "--train", train, "--test", test, "--strategies", "probe,scratch",
		"--shots", "2", "--seeds", "1", "--epochs", "2", "--lr-grid", "1e-3", "--folds", "2", "--out", cmp, "--quiet")
	if code != 0 {
		t.Fatalf("compare exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(cmp, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res experiment.Results
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(filepath.Join(cmp, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mAP@0.5", "Precision–recall", "Example detections", "AP@0.5 per class"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html has no %q", want)
		}
	}
	if res.Spec.Task != "detect" || len(res.Runs) != 2 || res.Runs[0].APRecords == nil || len(res.Winners) != 1 {
		t.Errorf("task %q, %d runs, a verdict per shots %d", res.Spec.Task, len(res.Runs), len(res.Winners))
	}
}

// TestExportDetector writes a detector checkpoint as ONNX with its two raw
// outputs.
func TestExportDetector(t *testing.T) {
	dir := t.TempDir()
	det := filepath.Join(dir, "det")
	saveDetector(t, det, []string{"stop", "yield"})
	out := filepath.Join(dir, "det.onnx")
	code, stdout, errs := run(t, "export", det, "--onnx", out)
	if code != 0 {
		t.Fatalf("export exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "bbox_regression and cls_logits") {
		t.Errorf("export says %q", stdout)
	}
	if st, err := os.Stat(out); err != nil || st.Size() < 100_000 {
		t.Errorf("no ONNX file of the detector's weights: %v", err)
	}
}
