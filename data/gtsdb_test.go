package data

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// gtsdbDir writes 00000.ppm and 00001.png (16x12; 00001 has no signs),
// a crop folder GTSDB ships beside them, and gt.txt with the lines given
// after two good ones on 00000.ppm.
func gtsdbDir(t *testing.T, lines ...string) string {
	t.Helper()
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "00000.ppm"), 16, 12)
	writeImage(t, filepath.Join(dir, "00001.png"), 16, 12)
	writeImage(t, filepath.Join(dir, "00", "00000.ppm"), 4, 4)
	gt := "00000.ppm;0;0;15;11;14\n\n00000.ppm;2;3;4;5;1;9;extra fields\n" + strings.Join(lines, "\n")
	writeFile(t, filepath.Join(dir, GTSDBAnnotations), []byte(gt))
	return dir
}

func TestOpenGTSDB(t *testing.T) {
	dir := gtsdbDir(t)
	d, err := OpenGTSDB(dir, DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Classes()) != 43 || d.Classes()[14] != "Stop" {
		t.Errorf("classes %d, want GTSRB's 43", len(d.Classes()))
	}
	want := []Box{{X1: 0, Y1: 0, X2: 16, Y2: 12, Class: 14}, {X1: 2, Y1: 3, X2: 5, Y2: 6, Class: 1}}
	if d.Len() != 2 || fmt.Sprint(d.Boxes(0)) != fmt.Sprint(want) {
		t.Fatalf("%d images, boxes %v; want 2 images (the crop folder is not read), boxes %v", d.Len(), d.Boxes(0), want)
	}
	if len(d.Boxes(1)) != 0 || filepath.Base(d.Source(1)) != "00001.png" {
		t.Errorf("image 1 is %s with %v; an image gt.txt does not name has no boxes", d.Source(1), d.Boxes(1))
	}
	if _, err := d.Image(0); err != nil {
		t.Error(err)
	}

	d, err = OpenGTSDB(gtsdbDir(t, "00001.png;1;1;3;3;60"), DetectionOptions{})
	if err != nil || len(d.Classes()) != 61 || d.Classes()[60] != "60" {
		t.Errorf("class 60: %v; want the class list extended to 61 names", err)
	}
	if _, err := OpenGTSDB(filepath.Join(dir, "none"), DetectionOptions{}); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("missing folder: %v", err)
	}
	if _, err := OpenGTSDB(filepath.Join(dir, "00"), DetectionOptions{}); err == nil || !strings.Contains(err.Error(), "no gt.txt") {
		t.Errorf("folder without gt.txt: %v", err)
	}
}

func TestOpenGTSDBBad(t *testing.T) {
	for _, tc := range []struct {
		badCase
		line string
		opt  DetectionOptions
	}{
		{badCase{"box outside", BoxOutside, []string{"line 4", "outside the 16x12 image"}, 2, 2}, "00001.png;10;2;17;5;3", DetectionOptions{}},
		{badCase{"box left of the image", BoxOutside, []string{"line 4", "outside"}, 2, 2}, "00001.png;-5;2;3;5;3", DetectionOptions{}},
		{badCase{"zero size", EmptyBox, []string{"line 4", "zero or negative size"}, 2, 2}, "00001.png;5;2;3;5;3", DetectionOptions{}},
		{badCase{"negative size", EmptyBox, []string{"line 4", "zero or negative size"}, 2, 2}, "00001.png;5;9;8;2;3", DetectionOptions{}},
		{badCase{"unknown class", UnknownClass, []string{"line 4", "class -7", "outside the 43 classes"}, 2, 2}, "00001.png;1;1;3;3;-7", DetectionOptions{}},
		{badCase{"class outside given names", UnknownClass, []string{"line 4", "class 2 is outside the 2 classes"}, 1, 2}, "00001.png;1;1;3;3;2", DetectionOptions{Classes: []string{"a", "b"}}},
		{badCase{"missing image", MissingImage, []string{"line 4", "00002.ppm"}, 2, 2}, "00002.ppm;1;1;3;3;1", DetectionOptions{}},
		{badCase{"image in a subfolder", MissingImage, []string{"line 4", "not directly in"}, 2, 2}, "00/00000.ppm;1;1;3;3;1", DetectionOptions{}},
		{badCase{"repeated line", DuplicateID, []string{"line 4", "repeats line 1"}, 2, 2}, "00000.ppm;0;0;15;11;14", DetectionOptions{}},
		{badCase{"too few fields", Malformed, []string{"line 4", "has 5 fields"}, 2, 2}, "00001.png;1;1;3;3", DetectionOptions{}},
		{badCase{"coordinate not a number", Malformed, []string{"line 4", `y2 is "x"`}, 2, 2}, "00001.png;1;1;3;x;1", DetectionOptions{}},
		{badCase{"class not a number", Malformed, []string{"line 4", `class is "stop"`}, 2, 2}, "00001.png;1;1;3;3;stop", DetectionOptions{}},
		{badCase{"empty file name", Malformed, []string{"line 4", "file name is empty"}, 2, 2}, " ;1;1;3;3;1", DetectionOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := gtsdbDir(t, tc.line)
			tc.want = append(tc.want, filepath.Join(dir, GTSDBAnnotations))
			if tc.opt.Classes != nil {
				// With two names the good line of class 14 is bad as well;
				// test only the strict error.
				_, err := OpenGTSDB(dir, tc.opt)
				if err == nil || !strings.Contains(err.Error(), "line 1") || !strings.Contains(err.Error(), "class 14") {
					t.Errorf("strict: %v, want line 1's class 14 reported first", err)
				}
				return
			}
			checkBad(t, tc.badCase, func(o DetectionOptions) (*Detection, error) { return OpenGTSDB(dir, o) })
		})
	}
}

func TestOpenGTSDBUnreadableImage(t *testing.T) {
	dir := gtsdbDir(t)
	writeFile(t, filepath.Join(dir, "00002.jpg"), []byte("not a jpeg"))
	checkBad(t, badCase{"unreadable image", MissingImage, []string{"00002.jpg", "header"}, 2, 2},
		func(o DetectionOptions) (*Detection, error) { return OpenGTSDB(dir, o) })
}
