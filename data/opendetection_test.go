package data

import (
	"strings"
	"testing"
)

func TestOpenDetectionSpecs(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"coco:", "give the path"},
		{"voc:x?set=train&bogus=1", "unknown option"},
		{"gtsdb:x?set=train", "chooses a VOC image set"},
		{"coco:/nonexistent/annotations.json", "annotations.json"},
		{"coco:/nonexistent/a.json?%zz", "options after ?"},
	} {
		_, err := OpenDetection(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one that says %q", c.spec, err, c.want)
		}
	}
	if _, err := Open("coco:a.json", TrainPart); err == nil || !strings.Contains(err.Error(), "detection data set") {
		t.Errorf("a classification command opened a COCO set: %v", err)
	}
}
