package cli

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/doctor"
)

// writeNoisySet writes per 16×16 images of each class: bright in the
// class's quadrant, with noise drawn from seed, so that no two images,
// within a set or across sets with other seeds, look alike.
func writeNoisySet(t *testing.T, dir string, classes, per int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	for c := range classes {
		cd := filepath.Join(dir, fmt.Sprintf("class%d", c))
		if err := os.MkdirAll(cd, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range per {
			im := image.NewRGBA(image.Rect(0, 0, 16, 16))
			for y := range 16 {
				for x := range 16 {
					v := uint8(rng.IntN(80))
					if (x/8)+(y/8)*2 == c {
						v += 150
					}
					im.Set(x, y, color.RGBA{v, v, v, 255})
				}
			}
			f, err := os.Create(filepath.Join(cd, fmt.Sprintf("%03d.png", i)))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, im); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
}

// TestDoctor: a base trained on the target and a test set of new images
// pass every check; the training set given again as the test set is a
// duplicates finding, in text and in JSON; bad input is a one-line error.
func TestDoctor(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train"), filepath.Join(dir, "test")
	writeNoisySet(t, train, 3, 20, 1)
	writeNoisySet(t, test, 3, 5, 2)
	// Small batches give BatchNorm enough updates for its running
	// statistics to settle, as a pretrained base's have.
	ck := filepath.Join(dir, "base")
	if code, _, errs := run(t, "train", "--train", train, "--size", "16", "--epochs", "3", "--batch", "4", "--out", ck, "--quiet"); code != 0 {
		t.Fatalf("train: %s", errs)
	}
	doctorRun := func(t *testing.T, args ...string) (string, *doctor.Report) {
		t.Helper()
		args = append([]string{"doctor", "--base", ck, "--train", train, "--quiet"}, args...)
		code, text, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("doctor exit %d: %s", code, errs)
		}
		code, out, errs := run(t, append(args, "--json")...)
		if code != 0 {
			t.Fatalf("doctor --json exit %d: %s", code, errs)
		}
		var rep doctor.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("doctor --json: %v\n%s", err, out)
		}
		return text, &rep
	}

	t.Run("clean", func(t *testing.T) {
		text, rep := doctorRun(t, "--test", test)
		if len(rep.Findings) != 0 || strings.Contains(text, "✗") {
			t.Fatalf("findings on a clean set-up:\n%s", text)
		}
		if !slices.Contains(rep.Checks, "duplicates") || len(rep.Checks) != 6 {
			t.Errorf("checks %v, want all but batchnorm (finetune freezes nothing)", rep.Checks)
		}
		if !strings.Contains(text, "no problem found by 6 checks: labels, imbalance, duplicates") {
			t.Errorf("text output %q should say which checks found nothing", text)
		}
	})
	t.Run("duplicates", func(t *testing.T) {
		text, rep := doctorRun(t, "--test", train)
		if len(rep.Findings) != 1 || rep.Findings[0].Check != "duplicates" {
			t.Fatalf("findings %+v, want one of duplicates", rep.Findings)
		}
		for _, want := range []string{"✗ 60 of 60 test images are also in the training set", "evidence: ", "fix: "} {
			if !strings.Contains(text, want) {
				t.Errorf("text output lacks %q:\n%s", want, text)
			}
		}
	})
	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"doctor", "--train", train}, "--base"},
			{[]string{"doctor", "--base", filepath.Join(dir, "nobase"), "--train", train}, "nobase"},
			{[]string{"doctor", "--base", ck, "--train", filepath.Join(dir, "nodata")}, "nodata"},
			{[]string{"doctor", "--base", ck, "--train", train, "--bn", "sometimes"}, "--bn"},
			{[]string{"doctor", "--base", ck, "--train", train, "--strategy", "freeze"}, "freeze:K"},
			{[]string{"doctor", "--base", ck, "--train", train, "--norm", "sepia"}, "sepia"},
		} {
			code, _, errs := run(t, c.args...)
			if code != 1 || !strings.HasPrefix(errs, "graft: ") || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
				t.Errorf("%v: exit %d, %q; want exit 1 and one line naming %s", c.args[1:], code, errs, c.want)
			}
		}
	})
}
