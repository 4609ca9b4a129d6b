package onnx

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/torch"
)

// A detector exports to ONNX whose two outputs, read back by graft's own
// ONNX runtime (Session), are the detector's box regression and class
// logits; onnx.checker accepts the file where Debian's python3-onnx is
// installed. ssdlite320 covers MobileNetV3's blocks (hardswish,
// squeeze-excitation), ssd300 the L2 norm on a feature map.
func TestExportDetector(t *testing.T) {
	checker := exec.Command(python, "-c", "import onnx").Run() == nil
	for _, tc := range []struct {
		name  string
		size  int // 0: export without a fixed size
		run   int // the input side it runs at
		batch int64
		long  bool
	}{
		{"ssd_smallcnn", 128, 128, 2, false},
		{"ssd_smallcnn", 0, 96, 2, false},
		{"ssdlite320_mobilenet_v3_large", 320, 320, 1, false},
		{"ssd300_vgg16", 300, 300, 1, true},
	} {
		label := fmt.Sprintf("%s/size=%d", tc.name, tc.size)
		if tc.size == 0 {
			label = tc.name + "/free-size"
		}
		t.Run(label, func(t *testing.T) {
			if tc.long && testing.Short() {
				t.Skip("a 35M-weight model")
			}
			start := time.Now()
			torch.ManualSeed(3)
			m, err := detect.New(tc.name, detect.Config{NumClasses: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Free()
			randomizeBN(t, m.Model)
			om, err := ExportDetector(m, ExportOptions{Height: tc.size, Width: tc.size, Classes: []string{"a", "b", "c"}})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), tc.name+".onnx")
			if err := WriteFile(path, om); err != nil {
				t.Fatal(err)
			}
			s, err := NewSession(path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.Outputs(); !reflect.DeepEqual(got, []string{OutputBoxes, OutputLogits}) {
				t.Fatalf("outputs %v", got)
			}
			x := torch.Randn(tc.batch, 3, int64(tc.run), int64(tc.run))
			defer x.Free()
			var reg, logits *torch.Tensor
			torch.NoGrad(func() { reg, logits = m.Forward(x, false) })
			defer reg.Free()
			defer logits.Free()
			out, err := s.Run(map[string]*torch.Tensor{"input": x})
			if err != nil {
				t.Fatal(err)
			}
			for _, y := range out {
				defer y.Free()
			}
			if d := relDiff(t, out[OutputBoxes], reg); d > 1e-5 {
				t.Errorf("box regression differs by %.3g", d)
			}
			if d := relDiff(t, out[OutputLogits], logits); d > 1e-5 {
				t.Errorf("class logits differ by %.3g", d)
			}
			// The declared shape is the default boxes' count when the size
			// is fixed; the metadata describes those boxes.
			defaults, err := m.Defaults(tc.run, tc.run)
			if err != nil {
				t.Fatal(err)
			}
			want := int64(len(defaults))
			if tc.size == 0 {
				want = -1
			}
			for _, o := range om.Graph.Outputs {
				if o.Dims[1] != want {
					t.Errorf("%s declared %v, want %d default boxes", o.Name, o.Dims, want)
				}
			}
			var dec struct {
				AspectRatios [][]int   `json:"aspect_ratios"`
				Scales       []float64 `json:"scales"`
				Variances    []float64 `json:"variances"`
			}
			if err := json.Unmarshal([]byte(om.Metadata[metaDetector]), &dec); err != nil {
				t.Fatalf("metadata %s: %v", metaDetector, err)
			}
			if !reflect.DeepEqual(dec.AspectRatios, m.Boxes.AspectRatios) || !reflect.DeepEqual(dec.Scales, m.Boxes.Scales) ||
				!reflect.DeepEqual(dec.Variances, []float64{0.1, 0.1, 0.2, 0.2}) {
				t.Errorf("metadata %s: %s", metaDetector, om.Metadata[metaDetector])
			}
			if checker {
				cmd := exec.Command(python, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("onnx checker rejects the export: %v\n%s", err, lastLines(string(b), 5))
				}
			}
			t.Logf("%s: %d default boxes, %.1fs", tc.name, len(defaults), time.Since(start).Seconds())
		})
	}
}
