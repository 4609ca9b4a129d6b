package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/synth"
)

func TestSynthScenesWritesCOCOThatDataReads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scenes")
	code, out, errs := run(t, "synth", "--scenes", "--country", "de", "--classes", "stop,limit50,crossing", "--images", "4", "--scene-size", "128x96", "--out", dir, "--json")
	if code != 0 {
		t.Fatalf("synth --scenes exit %d: %s", code, errs)
	}
	var res synth.Written
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Images != 4 || res.Classes != 3 || res.Boxes < 4 || res.SceneSize != "128x96" {
		t.Errorf("result %+v, want 4 scenes of 3 classes with at least a sign each", res)
	}
	d, err := data.OpenCOCO(res.COCO, data.DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 4 || strings.Join(d.Classes(), ",") != "limit50,stop,crossing" {
		t.Errorf("read back %d images of %v", d.Len(), d.Classes())
	}

	code, out, errs = run(t, "synth", "--scenes", "--sheet", "--images", "2", "--scene-size", "128x96", "--out", dir)
	if code != 0 || !strings.Contains(out, "scenes-be.png") {
		t.Fatalf("synth --scenes --sheet exit %d: %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "scenes-be.png")); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--scene-size", "128"}, "WIDTHxHEIGHT"},
		{[]string{"--size", "32"}, "--scene-size"},
		{[]string{"--scene-size", "32x32"}, "64 to 4096"},
	} {
		args := append([]string{"synth", "--scenes", "--out", dir}, tc.args...)
		if code, _, errs := run(t, args...); code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, %q; want an error containing %q", tc.args, code, errs, tc.want)
		}
	}
}
