package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// namedSet writes writeSet's images under the given class names.
func namedSet(t *testing.T, dir string, names []string, per int) {
	t.Helper()
	writeSet(t, dir, len(names), per)
	for i, n := range names {
		if err := os.Rename(filepath.Join(dir, fmt.Sprintf("class%d", i)), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
}

// An ONNX classifier whose file names no classes imports with
// class0…classN-1, which eval takes as the data's names when the counts
// agree and refuses, saying why, when they don't. The note that ImageNet's
// normalisation was assumed appears only when nothing else was given.
func TestImportUnnamedClasses(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join("..", "..", "onnx", "testdata", "tiny", "model13.onnx") // 5 classes, 16×16 RGB, no metadata
	ck := filepath.Join(dir, "m")
	code, out, errs := run(t, "import", model, "--out", ck, "--threads", "1")
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	for _, want := range []string{"class0…class4", "--labels", "assuming ImageNet mean/std"} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	for _, flags := range [][]string{{"--mean", "0.5,0.5,0.5", "--std", "0.25,0.25,0.25"}, {"--norm", "unit"}} {
		code, out, errs = run(t, append([]string{"import", model, "--out", filepath.Join(dir, "n"), "--threads", "1"}, flags...)...)
		if code != 0 {
			t.Fatalf("import %v: exit %d: %s", flags, code, errs)
		}
		if strings.Contains(out, "assuming") {
			t.Errorf("import %v notes an assumed normalisation:\n%s", flags, out)
		}
	}

	five := filepath.Join(dir, "five")
	names := []string{"ant", "bee", "cat", "dog", "eel"}
	namedSet(t, five, names, 2)
	code, out, errs = run(t, "eval", ck, "--data", five, "--threads", "1")
	if code != 0 {
		t.Fatalf("eval on 5 classes: exit %d: %s", code, errs)
	}
	for _, n := range names {
		if !strings.Contains(out, n) {
			t.Errorf("eval output lacks the data's class %q:\n%s", n, out)
		}
	}

	three := filepath.Join(dir, "three")
	namedSet(t, three, names[:3], 2)
	code, _, errs = run(t, "eval", ck, "--data", three, "--threads", "1")
	if code == 0 || !strings.Contains(errs, "5 classes without names") || !strings.Contains(errs, "has 3 classes") || !strings.Contains(errs, "--labels") {
		t.Errorf("eval of a 5-class unnamed model on 3 classes: exit %d: %s", code, errs)
	}

	// Named classes still have to match.
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("v\nw\nx\ny\nz\n"), 0o644)
	named := filepath.Join(dir, "named")
	if code, _, errs := run(t, "import", model, "--out", named, "--labels", labels, "--threads", "1", "--quiet"); code != 0 {
		t.Fatalf("import --labels: exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, "eval", named, "--data", five, "--threads", "1"); code == 0 || !strings.Contains(errs, "class folders must match") {
		t.Errorf("eval of named classes on other names: exit %d: %s", code, errs)
	}
}
