package bench

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestGPUBenchScriptCPU runs scripts/gpu_bench.sh's CPU path end to end,
// as a GPU machine runs its CUDA path: a bundle of a graft built from this
// checkout, unpacked in a temporary folder; the shim built there against
// Debian's PyTorch; graft bench beside PyTorch; one JSON with both sides'
// figures.
func TestGPUBenchScriptCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("builds graft and the shim and runs both sides: most of a minute")
	}
	const python = "/usr/bin/python3"
	for _, need := range []string{"g++", "tar", "ldd", python, "/usr/lib/python3/dist-packages/torch"} {
		if _, err := os.Stat(need); err != nil {
			if _, err := exec.LookPath(need); err != nil {
				t.Skipf("needs %s", need)
			}
		}
	}
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		t.Skipf("no go command to build graft with: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	graft, bundle := filepath.Join(dir, "graft"), filepath.Join(dir, "graft-gpu-bench.tar.gz")
	run(goTool, "build", "-o", graft, "./cmd/graft")
	run("bash", "scripts/gpu_bench.sh", "--make-bundle", bundle, graft)
	run("tar", "-C", dir, "-xzf", bundle)
	out := filepath.Join(dir, "gpu-bench.json")
	run("bash", filepath.Join(dir, "graft-gpu-bench", "gpu_bench.sh"), "--cpu", "--python", python, "--out", out)

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Device    string            `json:"device"`
		Precision map[string]string `json:"precision"`
		Runs      []struct {
			Name   string  `json:"name"`
			Error  string  `json:"error"`
			Report *Report `json:"report"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	if doc.Device != "cpu" || doc.Precision["bf16"] != "not run on the CPU path" || len(doc.Runs) != 2 {
		t.Fatalf("device %q, precision %v, %d runs: %s", doc.Device, doc.Precision, len(doc.Runs), b)
	}
	models := map[string]int{}
	for _, r := range doc.Runs {
		if r.Error != "" || r.Report == nil {
			t.Fatalf("run %s: error %q", r.Name, r.Error)
		}
		if r.Report.SgemmGFLOPS == nil || !(*r.Report.SgemmGFLOPS > 0) || r.Report.Device != "cpu" {
			t.Errorf("run %s: sgemm %v on %q", r.Name, r.Report.SgemmGFLOPS, r.Report.Device)
		}
		for _, row := range r.Report.Results {
			models[row.Model]++
			if !(row.GraftImgS > 0) || row.TorchImgS == nil || !(*row.TorchImgS > 0) {
				t.Errorf("%s %s: graft %v img/s, PyTorch %v", row.Model, row.Mode, row.GraftImgS, row.TorchImgS)
			}
			if classifier := row.Model == "smallcnn"; classifier != (row.GraftGFLOPS != nil && row.TorchGFLOPS != nil) {
				t.Errorf("%s %s: GFLOP/s graft %v, PyTorch %v", row.Model, row.Mode, row.GraftGFLOPS, row.TorchGFLOPS)
			}
		}
	}
	if models["smallcnn"] != 2 || models["ssd_smallcnn"] != 2 {
		t.Errorf("rows per model %v, want train and infer of smallcnn and ssd_smallcnn", models)
	}
}
