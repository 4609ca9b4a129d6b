package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes graft with args and returns exit code, stdout and stderr.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// writeSet writes a tiny image-folder data set: class c's images are
// bright in quadrant c, so a small CNN learns it in an epoch or two.
func writeSet(t *testing.T, dir string, classes, per int) {
	t.Helper()
	for c := 0; c < classes; c++ {
		cd := filepath.Join(dir, fmt.Sprintf("class%d", c))
		os.MkdirAll(cd, 0o755)
		for i := 0; i < per; i++ {
			im := image.NewRGBA(image.Rect(0, 0, 16, 16))
			for y := 0; y < 16; y++ {
				for x := 0; x < 16; x++ {
					v := uint8((x*7 + y*3 + i*11) % 40)
					if (x/8)+(y/8)*2 == c {
						v += 200
					}
					im.Set(x, y, color.RGBA{v, v, v, 255})
				}
			}
			f, _ := os.Create(filepath.Join(cd, fmt.Sprintf("%03d.png", i)))
			png.Encode(f, im)
			f.Close()
		}
	}
}

// trainBase trains a small CNN on the image folder src for the given
// epochs and returns its checkpoint path: a base to transfer from.
func trainBase(t *testing.T, src, out string, epochs int) string {
	t.Helper()
	if code, _, errs := run(t, "train", "--train", src, "--size", "16", "--epochs", fmt.Sprint(epochs), "--batch", "16",
		"--out", out, "--quiet"); code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	return out
}

func TestTrainEvalPredict(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, filepath.Join(dir, "train"), 3, 24)
	writeSet(t, filepath.Join(dir, "test"), 3, 6)
	ck := filepath.Join(dir, "out", "model")
	code, out, errs := run(t, "train", "--train", filepath.Join(dir, "train"), "--test", filepath.Join(dir, "test"),
		"--size", "16", "--epochs", "4", "--batch", "16", "--lr", "3e-3", "--out", ck, "--quiet", "--json")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("train --json: %v\n%s", err, out)
	}
	if acc := res["test_accuracy"].(float64); acc < 0.9 {
		t.Errorf("test accuracy %.2f on an easy set", acc)
	}
	for _, f := range []string{ck + ".safetensors", ck + ".json"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if m, _ := filepath.Glob(ck + ".resume*"); len(m) != 0 {
		t.Errorf("resume files left after a finished run: %v", m)
	}
	code, out, errs = run(t, "eval", ck, "--data", filepath.Join(dir, "test"), "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errs)
	}
	var rep EvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Samples != 18 || len(rep.Confusion) != 3 || rep.Accuracy != res["test_accuracy"].(float64) {
		t.Errorf("eval report %+v disagrees with train's test accuracy %v", rep, res["test_accuracy"])
	}
	code, out, errs = run(t, "predict", ck, filepath.Join(dir, "test", "class1"), "--top", "2")
	if code != 0 {
		t.Fatalf("predict exit %d: %s", code, errs)
	}
	var preds []Prediction
	if err := json.Unmarshal([]byte(out), &preds); err != nil {
		t.Fatal(err)
	}
	if len(preds) != 6 || len(preds[0].Top) != 2 || preds[0].Top[0].Prob < preds[0].Top[1].Prob {
		t.Errorf("predictions %+v", preds)
	}
}

// TestBadInput: every mistake a user can make gets one line naming the
// file or flag, a non-zero exit, no panic and no half-written output.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeSet(t, good, 2, 8)
	ck := filepath.Join(dir, "ck", "m")
	if code, _, errs := run(t, "train", "--train", good, "--size", "16", "--epochs", "1", "--out", ck, "--quiet"); code != 0 {
		t.Fatalf("setup: %s", errs)
	}

	corrupt := filepath.Join(dir, "corrupt")
	writeSet(t, corrupt, 2, 4)
	os.WriteFile(filepath.Join(corrupt, "class0", "bad.png"), []byte("\x89PNG\r\n\x1a\nthis is not a png"), 0o644)

	truncated := filepath.Join(dir, "truncated")
	writeSet(t, truncated, 2, 4)
	b, _ := os.ReadFile(filepath.Join(truncated, "class1", "000.png"))
	os.WriteFile(filepath.Join(truncated, "class1", "000.png"), b[:len(b)/2], 0o644)

	emptyClass := filepath.Join(dir, "emptyclass")
	writeSet(t, emptyClass, 2, 4)
	os.MkdirAll(filepath.Join(emptyClass, "class9"), 0o755)

	single := filepath.Join(dir, "single")
	writeSet(t, single, 1, 4)

	three := filepath.Join(dir, "three")
	writeSet(t, three, 3, 4)

	file := filepath.Join(dir, "plainfile")
	os.WriteFile(file, []byte("x"), 0o644)

	cases := []struct {
		name string
		args []string
		want string // must appear in the message
	}{
		{"corrupt image", []string{"train", "--train", corrupt, "--out", filepath.Join(dir, "o1"), "--quiet"}, "bad.png"},
		{"truncated image", []string{"train", "--train", truncated, "--out", filepath.Join(dir, "o2"), "--quiet"}, "000.png"},
		{"empty class folder", []string{"train", "--train", emptyClass, "--out", filepath.Join(dir, "o3"), "--quiet"}, "class9"},
		{"single class", []string{"train", "--train", single, "--out", filepath.Join(dir, "o4"), "--quiet"}, "at least 2"},
		{"missing path", []string{"train", "--train", filepath.Join(dir, "nope"), "--out", filepath.Join(dir, "o5"), "--quiet"}, "nope"},
		{"missing checkpoint", []string{"eval", filepath.Join(dir, "nockpt"), "--data", good}, "nockpt"},
		{"other class count", []string{"eval", ck, "--data", three}, "3 classes"},
		{"other architecture", []string{"train", "--train", good, "--from", ck, "--arch", "resnet18", "--out", filepath.Join(dir, "o6"), "--quiet"}, "--arch resnet18 conflicts"},
		{"preprocessing unlike the base", []string{"train", "--train", good, "--from", ck, "--norm", "caffe", "--out", filepath.Join(dir, "o10"), "--quiet"}, "--norm caffe disagrees"},
		{"image size too small", []string{"train", "--train", good, "--size", "4", "--out", filepath.Join(dir, "o7"), "--quiet"}, "--size 8"},
		{"unwritable output", []string{"train", "--train", good, "--out", filepath.Join(file, "sub", "m"), "--quiet"}, "plainfile"},
		{"nan loss", []string{"train", "--train", good, "--size", "16", "--epochs", "2", "--lr", "1e12", "--optimizer", "sgd", "--schedule", "constant", "--out", filepath.Join(dir, "o8"), "--quiet"}, "lower the learning rate"},
		{"unknown architecture", []string{"train", "--train", good, "--arch", "resnet19", "--out", filepath.Join(dir, "o9"), "--quiet"}, "resnet18"},
		{"missing --out", []string{"train", "--train", good}, "--out"},
		{"predict missing image", []string{"predict", ck, filepath.Join(dir, "ghost.png")}, "ghost.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := run(t, c.args...)
			if code == 0 {
				t.Fatalf("exit 0, want failure")
			}
			if code == 3 || strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
				t.Fatalf("panic or internal error: %s", errs)
			}
			if !strings.HasPrefix(errs, "graft: ") || !strings.Contains(errs, c.want) {
				t.Errorf("message %q should start with graft: and contain %q", errs, c.want)
			}
			if n := strings.Count(strings.TrimSpace(errs), "\n"); n > 1 {
				t.Errorf("message has %d lines, want one: %q", n+1, errs)
			}
		})
	}
	// Nothing half-written: failed runs leave no checkpoint behind.
	for _, o := range []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o9", "o10"} {
		if m, _ := filepath.Glob(filepath.Join(dir, o+"*")); len(m) != 0 {
			t.Errorf("failed run left %v", m)
		}
	}
}

// TestTrainWithoutValidation: no validation split means no best epoch,
// and the resumable state must still serialise.
func TestTrainWithoutValidation(t *testing.T) {
	dir := t.TempDir()
	writeSet(t, filepath.Join(dir, "train"), 2, 8)
	code, _, errs := run(t, "train", "--train", filepath.Join(dir, "train"), "--val-split", "0", "--size", "16",
		"--epochs", "2", "--out", filepath.Join(dir, "m"), "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
}

func TestSynthWritesAFolderSetGraftReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "signs")
	code, out, errs := run(t, "synth", "--country", "de", "--classes", "stop,yield,12", "--per-class", "3", "--size", "16", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("synth exit %d: %s", code, errs)
	}
	var res synthResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Classes != 3 || res.Images != 9 {
		t.Errorf("result %+v, want 3 classes and 9 images", res)
	}
	for _, f := range []string{"classes.csv", "classmap.csv", "08/000000.png", "09/000002.png", "12/000001.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	ds, err := openDataset(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Len() != 9 || ds.Label(0) != 8 {
		t.Errorf("read back %d images, first label %d; want 9 and 8 (folder ids are labels)", ds.Len(), ds.Label(0))
	}
	if code, _, errs := run(t, "synth", "--country", "xx", "--out", dir); code == 0 || !strings.Contains(errs, "de") {
		t.Errorf("unknown country: exit %d, %q should list the countries", code, errs)
	}
}
