package clitest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/internal/cli"
	"github.com/graftml/graft/onnx"
)

// graft import and graft export, through the command line. (The cli
// package's own tests are another team's file; these live here.)
func graft(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := cli.Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestImportExportCommands(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join("..", "testdata", "tiny", "model13.onnx")
	ck := filepath.Join(dir, "ck", "tiny")
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("cat\ndog\nbird\n"), 0o644)

	code, out, errs := graft(t, "import", src, "--out", ck, "--labels", labels, "--stages", "/Concat", "--json")
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	var rep struct {
		Checkpoint string   `json:"checkpoint"`
		Cuts       []string `json:"cuts"`
		Stages     []struct{ Name string }
		Preprocess struct {
			Size int    `json:"size"`
			Norm string `json:"norm"`
		} `json:"preprocess"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("import --json: %v\n%s", err, out)
	}
	if len(rep.Stages) != 3 || rep.Preprocess.Size != 16 || rep.Preprocess.Norm != "imagenet" {
		t.Errorf("import report %+v", rep)
	}
	ckp, err := onnx.Checkpoints.Load(ck)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(ckp.Meta.Classes, ",") != "cat,dog,bird" || ckp.Model.NumClasses != 3 {
		t.Errorf("checkpoint classes %v, %d", ckp.Meta.Classes, ckp.Model.NumClasses)
	}
	ckp.Model.Free()

	exp := filepath.Join(dir, "tiny-out.onnx")
	if code, _, errs := graft(t, "export", ck, "--onnx", exp, "--quiet"); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	// The export carries preprocessing and class names back in.
	code, out, errs = graft(t, "import", exp, "--out", filepath.Join(dir, "again"), "--norm", "unit")
	if code != 0 {
		t.Fatalf("re-import: exit %d: %s", code, errs)
	}
	again, err := onnx.Checkpoints.Load(filepath.Join(dir, "again"))
	if err != nil {
		t.Fatal(err)
	}
	defer again.Model.Free()
	if strings.Join(again.Meta.Classes, ",") != "cat,dog,bird" || again.Meta.Preprocess.Norm != "unit" {
		t.Errorf("re-imported meta %+v", again.Meta)
	}
	if !strings.Contains(out, "stage cuts (for --stages)") {
		t.Errorf("import summary:\n%s", out)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"import", src}, "--out is required"},
		{"arch with onnx", []string{"import", src, "--out", filepath.Join(dir, "x"), "--arch", "resnet18"}, "for weights files"},
		{"weights without arch", []string{"import", filepath.Join("..", "testdata", "small.pth"), "--out", filepath.Join(dir, "x")}, "--arch"},
		{"bad stage", []string{"import", src, "--out", filepath.Join(dir, "x"), "--stages", "nosuch"}, "nosuch"},
		{"one class", []string{"import", src, "--out", filepath.Join(dir, "x"), "--classes", "1"}, "at least 2"},
		{"norm and mean", []string{"import", src, "--out", filepath.Join(dir, "x"), "--norm", "unit", "--mean", "0.5"}, "use one"},
		{"export without onnx", []string{"export", ck}, "--onnx is required"},
		{"export missing", []string{"export", filepath.Join(dir, "none"), "--onnx", exp}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := graft(t, tc.args...)
			if code == 0 || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want an error mentioning %q", code, errs, tc.want)
			}
		})
	}
}
