package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/synth"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
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

// trainEasy writes an easy 3-class set (24 training and 6 test images a
// class) into dir, trains a small CNN on it into ck with the extra flags,
// and checks the --json result's test accuracy, which it returns.
func trainEasy(t *testing.T, dir, ck string, extra ...string) map[string]any {
	t.Helper()
	writeSet(t, filepath.Join(dir, "train"), 3, 24)
	writeSet(t, filepath.Join(dir, "test"), 3, 6)
	args := append([]string{"train", "--train", filepath.Join(dir, "train"), "--test", filepath.Join(dir, "test"),
		"--size", "16", "--epochs", "4", "--batch", "16", "--lr", "3e-3", "--out", ck, "--quiet", "--json"}, extra...)
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("train %v exit %d: %s", extra, code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("train --json: %v\n%s", err, out)
	}
	if acc := res["test_accuracy"].(float64); acc < 0.9 {
		t.Errorf("train %v: test accuracy %.2f on an easy set", extra, acc)
	}
	return res
}

// evalJSON runs graft eval --json on ck with data and the extra flags.
func evalJSON(t *testing.T, ck, data string, extra ...string) EvalReport {
	t.Helper()
	code, out, errs := run(t, append([]string{"eval", ck, "--data", data, "--json"}, extra...)...)
	if code != 0 {
		t.Fatalf("eval %v exit %d: %s", extra, code, errs)
	}
	var rep EvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestTrainEvalPredict(t *testing.T) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	ck := filepath.Join(dir, "out", "model")
	res := trainEasy(t, dir, ck)
	for _, f := range []string{ck + ".safetensors", ck + ".json"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if m, _ := filepath.Glob(ck + ".resume*"); len(m) != 0 {
		t.Errorf("resume files left after a finished run: %v", m)
	}
	rep := evalJSON(t, ck, filepath.Join(dir, "test"))
	if rep.Samples != 18 || len(rep.Confusion) != 3 || rep.Accuracy != res["test_accuracy"].(float64) {
		t.Errorf("eval report %+v disagrees with train's test accuracy %v", rep, res["test_accuracy"])
	}
	code, out, errs := run(t, "predict", ck, filepath.Join(dir, "test", "class1"), "--top", "2")
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
		{"unknown precision", []string{"train", "--train", good, "--precision", "int8", "--out", filepath.Join(dir, "o11"), "--quiet"}, "choose fp32, bf16 or fp16"},
		{"fp16 on the CPU", []string{"eval", ck, "--data", good, "--precision", "fp16"}, "CUDA"},
		{"fp16 predict on the CPU", []string{"predict", ck, good, "--precision", "half"}, "--precision bf16"},
		{"unknown rate choice", []string{"compare", "--base", ck, "--train", good, "--test", good, "--rate-choice", "median", "--out", filepath.Join(dir, "o12"), "--quiet"}, "choose best, smoothed or pooled"},
		{"smoothed rates under holdout", []string{"compare", "--base", ck, "--train", good, "--test", good, "--rate-choice", "smoothed", "--protocol", "holdout", "--out", filepath.Join(dir, "o13"), "--quiet"}, "--protocol refit"},
		{"unknown bench layout", []string{"bench", "--layout", "nhcw", "--no-peer"}, "auto, nchw or nhwc"},
		{"bench layouts that contradict", []string{"bench", "--layout", "nchw", "--channels-last", "--no-peer"}, "contradict"},
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
	for _, o := range []string{"o1", "o2", "o3", "o4", "o5", "o6", "o7", "o9", "o10", "o11", "o12", "o13"} {
		if m, _ := filepath.Glob(filepath.Join(dir, o+"*")); len(m) != 0 {
			t.Errorf("failed run left %v", m)
		}
	}
}

// TestTrainBF16: --precision bf16 trains to the same place as fp32 on an
// easy set, writes a float32 checkpoint that fp32 eval reads, and says so
// in --json; eval and predict in bf16 agree with fp32 on it.
func TestTrainBF16(t *testing.T) {
	if !torch.CPUHasBF16() {
		t.Skip("this CPU has no AVX512-BF16")
	}
	dir := t.TempDir()
	ck := filepath.Join(dir, "model")
	trainEasy(t, dir, ck, "--precision", "bf16")
	meta, err := checkpoint.ReadMeta(ck)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(strings.Fields(string(meta.Training)), ""), `"precision":"bf16"`) {
		t.Errorf("checkpoint's training settings do not record bf16: %s", meta.Training)
	}
	accs := map[string]float64{}
	for _, p := range []string{"fp32", "bf16"} {
		accs[p] = evalJSON(t, ck, filepath.Join(dir, "test"), "--precision", p).Accuracy
	}
	if math.Abs(accs["fp32"]-accs["bf16"]) > 1.0/18+1e-9 {
		t.Errorf("eval of one checkpoint: fp32 %.3f, bf16 %.3f: more than one image apart", accs["fp32"], accs["bf16"])
	}
	// A comparison records its precision, and a rerun in another
	// precision is another comparison, not a resume.
	cmp := filepath.Join(dir, "cmp")
	args := []string{"compare", "--base", ck, "--train", filepath.Join(dir, "train"), "--test", filepath.Join(dir, "test"),
		"--strategies", "probe", "--shots", "4", "--seeds", "1", "--epochs", "2", "--lr-grid", "1e-3", "--folds", "2", "--out", cmp, "--quiet"}
	if code, _, errs := run(t, append(args, "--precision", "bf16")...); code != 0 {
		t.Fatalf("compare --precision bf16 exit %d: %s", code, errs)
	}
	var got struct {
		Spec experiment.Spec `json:"spec"`
	}
	b, err := os.ReadFile(filepath.Join(cmp, "results.json"))
	if err == nil {
		err = json.Unmarshal(b, &got)
	}
	if err != nil || got.Spec.Precision != "bf16" {
		t.Errorf("results.json spec precision %q (%v), want bf16", got.Spec.Precision, err)
	}
	if code, _, errs := run(t, args...); code == 0 || !strings.Contains(errs, "other settings") {
		t.Errorf("an fp32 rerun resumed a bf16 comparison (exit %d): %s", code, errs)
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
	var res synth.Written
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
	ds, err := data.Open(dir, data.TrainPart)
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

// trainRecord is the part of a checkpoint's training record the refit
// tests read.
type trainRecord struct {
	Config struct {
		Epochs int `json:"epochs"`
	} `json:"config"`
	Result fit.Result            `json:"result"`
	Refit  experiment.TrainRefit `json:"refit"`
}

func readTrainRecord(t *testing.T, ck string) trainRecord {
	t.Helper()
	meta, err := checkpoint.ReadMeta(ck)
	if err != nil {
		t.Fatal(err)
	}
	var rec trainRecord
	if err := json.Unmarshal(meta.Training, &rec); err != nil {
		t.Fatalf("training record: %v", err)
	}
	return rec
}

// cancelWriter collects output and cancels a context once it sees a text.
type cancelWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	when   string
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.when != "" && strings.Contains(w.buf.String(), w.when) {
		w.cancel()
	}
	return len(p), nil
}

// TestTrainRefitsSmallSet: on a small set without --val, the saved model
// is a fresh one trained on every image for the epoch count validation
// chose; an interruption between the stages resumes into the refit and
// ends with the same weights.
func TestTrainRefitsSmallSet(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train")
	writeSet(t, train, 3, 24)
	args := func(out string) []string {
		return []string{"train", "--train", train, "--size", "16", "--epochs", "6", "--batch", "16", "--lr", "3e-3", "--seed", "2", "--out", out}
	}
	ck := filepath.Join(dir, "m")
	code, _, errs := run(t, args(ck)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rec := readTrainRecord(t, ck)
	r, sel := rec.Refit, rec.Refit.Selection
	if !r.Refit || r.Mode != "auto" || sel == nil {
		t.Fatalf("72 images with --refit auto were not refitted: %+v", r)
	}
	if r.Images != 72 || sel.TrainImages+sel.ValImages != 72 || sel.ValImages == 0 {
		t.Errorf("refit on %d images after selecting on %d+%d, want all 72 after a split of them", r.Images, sel.TrainImages, sel.ValImages)
	}
	want, _ := experiment.ChooseEpochs(sel.History, experiment.RefitSmoothing, sel.ValImages)
	if sel.Epochs != want || r.Epochs != want || rec.Result.Epochs != want || rec.Config.Epochs != want || len(rec.Result.History) != want {
		t.Errorf("chosen %d epochs (selection %d, record %d, config %d, history %d); the saved model must train exactly the chosen count",
			want, sel.Epochs, rec.Result.Epochs, rec.Config.Epochs, len(rec.Result.History))
	}
	for _, e := range rec.Result.History {
		if e.HasVal {
			t.Errorf("refit epoch %d validated: it should have trained on every image with nothing held out", e.Epoch)
		}
	}
	if line := fmt.Sprintf("refit: %s chosen on validation, retraining on all 72 images", experiment.Plural(want, "epoch")); !strings.Contains(errs, line) {
		t.Errorf("terminal lacks %q:\n%s", line, errs)
	}
	if m, _ := filepath.Glob(ck + ".resume*"); len(m) != 0 {
		t.Errorf("resume files left after a finished run: %v", m)
	}

	// Interrupted as the refit starts, then resumed.
	ck2 := filepath.Join(dir, "m2")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	ew := &cancelWriter{when: "chosen on validation", cancel: cancel}
	root := newRoot(&out, ew)
	root.SetArgs(args(ck2))
	if err := root.ExecuteContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(ck2 + ".resume-selection.json"); err != nil {
		t.Fatalf("no selection state after an interruption in the refit: %v", err)
	}
	code, _, errs = run(t, append(args(ck2), "--resume")...)
	if code != 0 {
		t.Fatalf("resume exit %d: %s", code, errs)
	}
	if strings.Contains(errs, "choosing the epoch count") || !strings.Contains(errs, "chosen on validation") {
		t.Errorf("resume should go straight to the refit:\n%s", errs)
	}
	// Equal to float rounding: once in a full CI run the two differed in
	// the last bits (libtorch's two-thread kernels may sum in another
	// order), where a wrong refit — other epochs, other start — differs by
	// far more than 1e-5.
	if d := maxWeightDiff(t, ck, ck2); d > 1e-5 {
		t.Errorf("resumed refit's weights differ from the uninterrupted run's by up to %g", d)
	}
	if rec2 := readTrainRecord(t, ck2); rec2.Refit.Epochs != want || rec2.Refit.Images != 72 {
		t.Errorf("resumed record %+v", rec2.Refit)
	}
	if m, _ := filepath.Glob(ck2 + ".resume*"); len(m) != 0 {
		t.Errorf("resume files left after a resumed run: %v", m)
	}
}

// TestTrainRefitNever keeps the best validation epoch's weights, trained
// on the split only.
func TestTrainRefitNever(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train")
	writeSet(t, train, 3, 24)
	ck := filepath.Join(dir, "m")
	code, _, errs := run(t, "train", "--train", train, "--size", "16", "--epochs", "3", "--batch", "16", "--refit", "never", "--out", ck, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	rec := readTrainRecord(t, ck)
	if rec.Refit.Refit || rec.Refit.Selection != nil || rec.Refit.Images >= 72 || rec.Refit.Mode != "never" {
		t.Errorf("--refit never refitted or trained on every image: %+v", rec.Refit)
	}
	if rec.Result.BestEpoch < 1 || len(rec.Result.History) != 3 || !rec.Result.History[0].HasVal {
		t.Errorf("--refit never should validate every epoch and keep the best: %+v", rec.Result)
	}
}

func TestTrainRefitFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeSet(t, good, 2, 8)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--refit", "sometimes"}, "choose auto, always or never"},
		{[]string{"--refit", "always", "--val", good}, "drop --val"},
		{[]string{"--refit", "always", "--val-split", "0"}, "--val-split is 0"},
	} {
		args := append([]string{"train", "--train", good, "--size", "16", "--epochs", "1", "--out", filepath.Join(dir, "o"), "--quiet"}, c.args...)
		if code, _, errs := run(t, args...); code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 1 naming %q", c.args, code, errs, c.want)
		}
	}
}

func TestTrainAugmentPresets(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeSet(t, good, 2, 8)
	for _, name := range []string{"none", "default", "affine"} {
		args := []string{"train", "--train", good, "--size", "16", "--epochs", "1", "--refit", "never", "--augment", name, "--out", filepath.Join(dir, name), "--quiet"}
		if code, _, errs := run(t, args...); code != 0 {
			t.Errorf("--augment %s: exit %d: %s", name, code, errs)
		}
	}
	code, _, errs := run(t, "train", "--train", good, "--augment", "strong", "--out", filepath.Join(dir, "o"), "--quiet")
	if code != 1 || !strings.Contains(errs, "none, default, affine") {
		t.Errorf("--augment strong: exit %d, %q; want the presets listed", code, errs)
	}
}

// maxWeightDiff is the largest absolute difference between two
// checkpoints' weights, which must have the same names and shapes.
func maxWeightDiff(t *testing.T, a, b string) float64 {
	t.Helper()
	sa, err := checkpoint.ReadSafetensors(a + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	sb, err := checkpoint.ReadSafetensors(b + ".safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Names()) == 0 || len(sa.Names()) != len(sb.Names()) {
		t.Fatalf("%s has %d tensors, %s %d", a, len(sa.Names()), b, len(sb.Names()))
	}
	var d float64
	for _, n := range sa.Names() {
		ta, err := sa.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		tb, err := sb.Tensor(n)
		if err != nil {
			t.Fatal(err)
		}
		fa, erra := ta.Float32s()
		fb, errb := tb.Float32s()
		ta.Free()
		tb.Free()
		if erra != nil || errb != nil || len(fa) != len(fb) {
			t.Fatalf("%s: %v %v, %d vs %d values", n, erra, errb, len(fa), len(fb))
		}
		for i := range fa {
			d = max(d, math.Abs(float64(fa[i])-float64(fb[i])))
		}
	}
	return d
}
