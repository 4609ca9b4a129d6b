package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
	"github.com/graftml/graft/torch/torchtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the current output")

// golden compares got with testdata/name, rewriting it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s:\n%s\nwant\n%s", path, got, want)
	}
}

// saveDetector saves a fresh small SSD for classes with the scenes'
// preprocessing.
func saveDetector(t *testing.T, path string, classes []string) {
	t.Helper()
	torch.ManualSeed(1)
	m, err := detect.New("ssd_smallcnn", detect.Config{NumClasses: len(classes) + 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if err := detect.Save(onnx.Checkpoints, path, m, checkpoint.Meta{Classes: classes, Preprocess: data.Preprocess{Size: 128, Channels: 3}}); err != nil {
		t.Fatal(err)
	}
}

// TestDetectAndEvalDetector runs a saved detector through graft detect
// (JSON, drawn pictures) and graft eval on synthetic street scenes. The
// detector is untrained: the test holds the commands' structure (boxes in
// the original pixels, above the threshold, best first, pictures drawn)
// and not the boxes' quality.
func TestDetectAndEvalDetector(t *testing.T) {
	torchtest.NoLeaks(t)
	dir := t.TempDir()
	scenes := filepath.Join(dir, "scenes")
	code, out, errs := run(t, "synth", "--scenes", "--country", "de", "--classes", "stop,limit50,crossing", "--images", "3", "--scene-size", "160x120", "--out", scenes, "--json")
	if code != 0 {
		t.Fatalf("synth --scenes exit %d: %s", code, errs)
	}
	var res synth.Written
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	ds, err := data.OpenCOCO(res.COCO, data.DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(dir, "det")
	saveDetector(t, ck, ds.Classes())

	drawn := filepath.Join(dir, "drawn")
	images := filepath.Join(scenes, "images")
	code, out, errs = run(t, "detect", ck, images, "--threshold", "0.25", "--json", "--draw", drawn, "--batch", "2")
	if code != 0 {
		t.Fatalf("detect exit %d: %s", code, errs)
	}
	var found []DetectedImage
	if err := json.Unmarshal([]byte(out), &found); err != nil {
		t.Fatalf("detect --json: %v\n%s", err, out)
	}
	if len(found) != 3 {
		t.Fatalf("%d images in the output, want 3", len(found))
	}
	boxes := 0
	for _, im := range found {
		if im.Width != 160 || im.Height != 120 {
			t.Errorf("%s: size %dx%d, want the original 160x120", im.File, im.Width, im.Height)
		}
		for k, b := range im.Boxes {
			if !(0 <= b.X1 && b.X1 <= b.X2 && b.X2 <= 160 && 0 <= b.Y1 && b.Y1 <= b.Y2 && b.Y2 <= 120) {
				t.Errorf("%s: box %+v is not inside the original image", im.File, b)
			}
			if b.Score <= 0.25 || (k > 0 && b.Score > im.Boxes[k-1].Score) || !slices.Contains(ds.Classes(), b.Class) || ds.Classes()[b.Index] != b.Class {
				t.Errorf("%s: box %d %+v: want a score above the threshold, best first, a class of the data's", im.File, k, b)
			}
		}
		boxes += len(im.Boxes)
		src, err := data.LoadImage(im.File)
		if err != nil {
			t.Fatal(err)
		}
		pic, err := data.LoadImage(im.Drawn)
		if err != nil {
			t.Fatalf("--draw wrote no picture for %s: %v", im.File, err)
		}
		if pic.W != src.W || pic.H != src.H || slices.Equal(pic.Pix, src.Pix) != (len(im.Boxes) == 0) {
			t.Errorf("%s drawn as %s: %dx%d, differs from the input: %v, with %d boxes", im.File, im.Drawn, pic.W, pic.H, !slices.Equal(pic.Pix, src.Pix), len(im.Boxes))
		}
	}
	if boxes == 0 {
		t.Error("no box above 0.25 on any image: the test checks nothing about boxes")
	}

	code, out, errs = run(t, "detect", ck, images, "--threshold", "0.99")
	if code != 0 || !strings.HasPrefix(out, "file") || !strings.Contains(out, "0 boxes scoring above 0.99 in 3 images") {
		t.Errorf("detect table: exit %d, %q, %s", code, out, errs)
	}

	code, out, errs = run(t, "eval", ck, "--data", "coco:"+res.COCO, "--json", "--batch", "2")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, errs)
	}
	var rep DetectionEvalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, out)
	}
	okScore := func(v float64) bool { return v == -1 || (v >= 0 && v <= 1) }
	if rep.Images != 3 || rep.Objects != res.Boxes || !slices.Equal(rep.Classes, ds.Classes()) || len(rep.PerClass) == 0 ||
		!okScore(rep.MAP) || !okScore(rep.MAP50) || !okScore(rep.MAP75) || !okScore(rep.VOCMAP) || !okScore(rep.VOCMAP07) || !(rep.Loss > 0) || math.IsInf(rep.Loss, 0) {
		t.Errorf("eval report %+v; want 3 images, %d objects, classes %v, scores in [0,1], a positive loss", rep, res.Boxes, ds.Classes())
	}
	code, out, errs = run(t, "eval", ck, "--data", "coco:"+res.COCO)
	if code != 0 || !strings.Contains(out, "mAP@[.5:.95]") || !strings.Contains(out, "AP50") {
		t.Errorf("eval text: exit %d, %q, %s", code, out, errs)
	}
}

// TestDetectorCommandErrors: the wrong kind of checkpoint, images that
// are not there or not images, data of other classes: no panic, a message
// that names the problem and the fix.
func TestDetectorCommandErrors(t *testing.T) {
	dir := t.TempDir()
	classes := []string{"limit50", "stop"}
	ck := filepath.Join(dir, "det")
	saveDetector(t, ck, classes)
	other := filepath.Join(dir, "other")
	saveDetector(t, other, []string{"stop", "limit50"})
	cls, err := arch.New("smallcnn", arch.Config{NumClasses: 2, InChannels: 3})
	if err != nil {
		t.Fatal(err)
	}
	clsCk := filepath.Join(dir, "cls")
	if err := checkpoint.Save(clsCk, cls, checkpoint.Meta{Classes: classes, Preprocess: data.Preprocess{Size: 32}}, nil); err != nil {
		t.Fatal(err)
	}
	cls.Free()
	scenes := filepath.Join(dir, "scenes")
	if code, _, errs := run(t, "synth", "--scenes", "--country", "de", "--classes", "stop,limit50", "--images", "2", "--scene-size", "128x96", "--out", scenes); code != 0 {
		t.Fatalf("synth --scenes exit %d: %s", code, errs)
	}
	coco := "coco:" + filepath.Join(scenes, "annotations.json")
	good := filepath.Join(scenes, "images", "000000.png")
	garbage := filepath.Join(dir, "garbage.png")
	if err := os.WriteFile(garbage, []byte("not a picture"), 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "folder")
	writeSet(t, folder, 2, 2)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"detect with a classifier", []string{"detect", clsCk, good}, "graft predict"},
		{"predict with a detector", []string{"predict", ck, good}, "graft detect"},
		{"missing image", []string{"detect", ck, filepath.Join(dir, "nope.png")}, "nope.png"},
		{"undecodable image", []string{"detect", ck, good, garbage}, "garbage.png"},
		{"missing checkpoint", []string{"detect", filepath.Join(dir, "none"), good}, "not found"},
		{"threshold", []string{"detect", ck, good, "--threshold", "1.5"}, "--threshold 1.5"},
		{"eval on classification data", []string{"eval", ck, "--data", folder}, "detection data"},
		{"eval on other classes' order", []string{"eval", other, "--data", coco}, "same order"},
		{"eval on other classes", []string{"eval", ck, "--data", "coco:" + res3(t, dir)}, "detects 2 classes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := run(t, c.args...)
			if code == 0 || !strings.Contains(errs, c.want) || strings.Contains(errs, "panic") {
				t.Errorf("exit %d, %q; want an error containing %q", code, errs, c.want)
			}
		})
	}
}

// res3 writes scenes of three classes and returns their annotations.
func res3(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "scenes3")
	if code, _, errs := run(t, "synth", "--scenes", "--country", "de", "--classes", "stop,limit50,crossing", "--images", "1", "--scene-size", "128x96", "--out", out); code != 0 {
		t.Fatalf("synth --scenes exit %d: %s", code, errs)
	}
	return filepath.Join(out, "annotations.json")
}

// TestDetectorTextGolden holds the text reports of graft detect and
// graft eval (on a detector) to testdata.
func TestDetectorTextGolden(t *testing.T) {
	var buf bytes.Buffer
	err := writeDetections(&buf, []DetectedImage{
		{File: "street/a.png", Width: 320, Height: 240, Boxes: []DetectedBox{
			{X1: 12.04, Y1: 30.5, X2: 80.25, Y2: 99, Class: "stop", Index: 1, Score: 0.9123},
			{X1: 200, Y1: 10.1, X2: 240.66, Y2: 52, Class: "limit50", Index: 0, Score: 0.55}}},
		{File: "street/b.png", Width: 320, Height: 240, Boxes: []DetectedBox{}},
	}, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "detect_table.golden", buf.Bytes())
	buf.Reset()
	err = writeDetectionEval(&buf, DetectionEvalReport{Checkpoint: "det", Data: "coco:scenes/annotations.json", Images: 20, Objects: 41,
		MAP: 0.2345, MAP50: 0.51234, MAP75: 0.1, VOCMAP: 0.5302, VOCMAP07: 0.5118, Loss: 3.21, Classes: []string{"limit50", "stop", "crossing"},
		PerClass: []DetectionClassScore{
			{Class: "limit50", Objects: 20, Detections: 180, AP: 0.3, AP50: 0.6, AP75: 0.2, AR100: 0.5},
			{Class: "stop", Objects: 21, Detections: 150, AP: 0.17, AP50: 0.42, AP75: 0, AR100: 0.4},
			{Class: "crossing", Objects: 0, Detections: 12, AP: -1, AP50: -1, AP75: -1, AR100: -1}}})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "eval_detector.golden", buf.Bytes())
}
