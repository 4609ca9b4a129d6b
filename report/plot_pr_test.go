package report

import (
	"bytes"
	"math"
	"testing"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/metrics"
)

// records are AP records of one class with a ground truth in each of
// four images and one detection per image, ranked in image order; tp
// says which of them are true positives ("1101").
func records(tp string) *metrics.APRecords {
	c := metrics.APClassRecords{Class: 0, GroundTruths: []int32{0, 1, 2, 3}, TP: []byte{0}}
	for i, b := range tp {
		c.Detections = append(c.Detections, int32(i))
		if b == '1' {
			c.TP[0] |= 1 << i
		}
	}
	return &metrics.APRecords{Images: 4, Classes: []metrics.APClassRecords{c}}
}

// detectionFixture is the report fixture with AP records on the ok runs
// of every strategy but scratch at 10 shots: finetune finds everything,
// freeze:3 three of four objects with a false positive first.
func detectionFixture() *experiment.Results {
	r := fixture()
	for i := range r.Runs {
		run := &r.Runs[i]
		if !isOK(*run) || run.Shots != 10 {
			continue
		}
		switch run.Strategy {
		case "finetune":
			run.APRecords = records("1111")
		case "freeze:3":
			run.APRecords = records("0111")
		}
	}
	return r
}

func TestPRCurvesPlot(t *testing.T) {
	f, err := PRCurvesPlot(detectionFixture(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		t.Fatal("no figure for runs with AP records")
	}
	if f.Name != "pr-curves-10-shot" || f.Title == "" || f.Caption == "" {
		t.Errorf("name %q, title %q, caption %q", f.Name, f.Title, f.Caption)
	}
	if !bytes.Contains(f.SVG, []byte("</svg>")) || !bytes.HasPrefix(f.PNG, []byte("\x89PNG\r\n\x1a\n")) {
		t.Error("not a complete SVG and PNG")
	}
	// The legend: a line per strategy with records, with its mean mAP@0.5.
	// finetune's curve is 1 − 2⁻⁵² everywhere; freeze:3's 0.75 up to
	// recall 0.75 and 0 beyond (76 of 101 levels): 0.564.
	for _, want := range []string{"finetune (1.000)", "freeze:3 (0.564)"} {
		if !bytes.Contains(f.SVG, []byte(want)) {
			t.Errorf("SVG lacks the legend entry %q", want)
		}
	}
	if bytes.Contains(f.SVG, []byte("scratch")) {
		t.Error("scratch has no AP records but is in the legend")
	}

	for _, tc := range []struct {
		name  string
		r     *experiment.Results
		shots int
	}{
		{"classifier results", fixture(), 10},
		{"shots without records", detectionFixture(), 0},
		{"shots not in the results", detectionFixture(), 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if f, err := PRCurvesPlot(tc.r, tc.shots); f != nil || err != nil {
				t.Errorf("figure %v, error %v; want neither", f != nil, err)
			}
		})
	}
}

func TestMeanPRCurve(t *testing.T) {
	ok := []experiment.Run{
		{Status: "ok", APRecords: records("1111")},
		{Status: "ok", APRecords: records("0011")},
		{Status: "ok"}, // no records: left out
		{Status: "ok", APRecords: &metrics.APRecords{Images: 1}},                                                                // no ground truth
		{Status: "ok", APRecords: &metrics.APRecords{Images: 1, Classes: []metrics.APClassRecords{{GroundTruths: []int32{3}}}}}, // inconsistent
	}
	c, got := meanPRCurve(&entry{OK: ok})
	if !got || c.Runs != 2 {
		t.Fatalf("curve over %d runs (ok %v), want 2", c.Runs, got)
	}
	// "1111": precision 1 at every level. "0011": 1/3 at recall .25 and
	// 2/4 at .5, so 0.5 up to recall .5 (made non-increasing), 0 beyond.
	var wantAP float64
	for i, rec := range c.Recall {
		want := 0.5
		if rec <= 0.5 {
			want = (1 + 0.5) / 2
		}
		if math.Abs(c.Precision[i]-want) > 1e-12 {
			t.Fatalf("precision at recall %.2f = %v, want %v", rec, c.Precision[i], want)
		}
		wantAP += want
	}
	wantAP /= float64(len(c.Recall))
	ap := (ok[0].APRecords.MeanAP(nil) + ok[1].APRecords.MeanAP(nil)) / 2
	if math.Abs(c.mean()-ap) > 1e-12 || math.Abs(c.mean()-wantAP) > 1e-12 {
		t.Errorf("curve mean %v, runs' mean mAP@0.5 %v, worked out %v", c.mean(), ap, wantAP)
	}
	if _, got := meanPRCurve(&entry{OK: ok[2:]}); got {
		t.Error("a curve from runs without usable records")
	}
}
