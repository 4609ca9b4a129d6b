package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const gtsrbHeader = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n"

// gtsrbTrain writes Final_Training/Images with two images in each class.
func gtsrbTrain(t *testing.T, root string, classes ...int) {
	for _, c := range classes {
		dir := filepath.Join(root, "Final_Training", "Images", fmt.Sprintf("%05d", c))
		csv := gtsrbHeader
		for i := range 2 {
			name := fmt.Sprintf("%05d_%05d.ppm", i, 0)
			writeImage(t, filepath.Join(dir, name), 10, 12)
			csv += fmt.Sprintf("%s;10;12;2;3;8;10;%d\n", name, c)
		}
		writeFile(t, filepath.Join(dir, fmt.Sprintf("GT-%05d.csv", c)), []byte(csv))
	}
}

// gtsrbTest writes a test folder whose CSV has the columns in another order.
func gtsrbTest(t *testing.T, dir string) {
	csv := "ClassId;Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n"
	for i, c := range []int{14, 42, 0} {
		name := fmt.Sprintf("%05d.ppm", i)
		writeImage(t, filepath.Join(dir, name), 10, 12)
		csv += fmt.Sprintf("%d;%s;1;1;9;11\n", c, name)
	}
	writeFile(t, filepath.Join(dir, gtsrbTestCSV), []byte(csv))
}

func TestOpenGTSRB(t *testing.T) {
	top := t.TempDir()
	gtsrbTrain(t, top, 0, 2)
	testDir := filepath.Join(t.TempDir(), "Final_Test", "Images")
	gtsrbTest(t, testDir)

	tests := []struct {
		name   string
		root   string
		crop   bool
		labels []int
		h, w   int
	}{
		{"training from top", top, false, []int{0, 0, 2, 2}, 12, 10},
		{"training from Images", filepath.Join(top, "Final_Training", "Images"), true, []int{0, 0, 2, 2}, 7, 6},
		{"training from Final_Training", filepath.Join(top, "Final_Training"), true, []int{0, 0, 2, 2}, 7, 6},
		{"test folder", testDir, true, []int{14, 42, 0}, 10, 8},
		{"test parent", filepath.Dir(filepath.Dir(testDir)), false, []int{14, 42, 0}, 12, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := OpenGTSRB(tt.root, tt.crop)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Classes()) != 43 || d.Classes()[14] != "Stop" {
				t.Errorf("classes: %d, [14] = %q", len(d.Classes()), d.Classes()[14])
			}
			if d.Len() != len(tt.labels) {
				t.Fatalf("len %d, want %d", d.Len(), len(tt.labels))
			}
			for i, l := range tt.labels {
				if d.Label(i) != l {
					t.Errorf("label %d = %d, want %d", i, d.Label(i), l)
				}
			}
			im, err := d.Image(d.Len() - 1)
			if err != nil {
				t.Fatal(err)
			}
			if im.H != tt.h || im.W != tt.w {
				t.Errorf("image %dx%d, want %dx%d", im.H, im.W, tt.h, tt.w)
			}
			if !strings.HasSuffix(d.Source(0), ".ppm") {
				t.Errorf("source %q", d.Source(0))
			}
		})
	}
}

func TestOpenGTSRBErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		wants []string
	}{
		{"missing", func(t *testing.T, root string) { os.Remove(root) }, []string{"no such directory"}},
		{"not gtsrb", func(t *testing.T, root string) { writeImage(t, filepath.Join(root, "a", "x.png"), 2, 2) },
			[]string{"is not a GTSRB tree", "OpenFolder"}},
		{"both sets", func(t *testing.T, root string) {
			gtsrbTrain(t, root, 1)
			gtsrbTest(t, filepath.Join(root, "Final_Test", "Images"))
		}, []string{"both the GTSRB training and test sets", "Final_Training", "Final_Test"}},
		{"unlabelled test", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, "GT-final_test.test.csv"), []byte("Filename;Width\n"))
		}, []string{"has no labels", "GTSRB_Final_Test_GT.zip"}},
		{"class folder without csv", func(t *testing.T, root string) {
			gtsrbTrain(t, root, 0)
			writeImage(t, filepath.Join(root, "Final_Training", "Images", "00001", "a.ppm"), 2, 2)
		}, []string{"00001", "has no GT-00001.csv"}},
		{"missing column", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, gtsrbTestCSV), []byte("Filename;ClassId\na.ppm;1\n"))
		}, []string{"no Roi.X1 column"}},
		{"bad number", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, gtsrbTestCSV), []byte(gtsrbHeader+"a.ppm;1;1;0;0;x;1;1\n"))
		}, []string{"line 2", "Roi.X2 is \"x\""}},
		{"empty roi", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, gtsrbTestCSV), []byte(gtsrbHeader+"a.ppm;9;9;5;1;5;8;1\n"))
		}, []string{"line 2", "empty region of interest"}},
		{"no rows", func(t *testing.T, root string) {
			writeFile(t, filepath.Join(root, gtsrbTestCSV), []byte(gtsrbHeader))
		}, []string{"lists no images"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "gtsrb")
			os.MkdirAll(root, 0o755)
			tt.setup(t, root)
			_, err := OpenGTSRB(root, true)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestGTSRBImageErrors(t *testing.T) {
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "small.ppm"), 4, 4)
	writeFile(t, filepath.Join(dir, "broken.ppm"), []byte("P6\n4 4\n255\n"))
	writeFile(t, filepath.Join(dir, gtsrbTestCSV), []byte(gtsrbHeader+
		"small.ppm;4;4;6;6;9;9;1\nbroken.ppm;4;4;0;0;3;3;1\n"))
	d, err := OpenGTSRB(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"region of interest", "truncated"} {
		_, err := d.Image(i)
		var es *ErrSample
		if !errors.As(err, &es) || es.Source != d.Source(i) || !strings.Contains(err.Error(), want) {
			t.Errorf("Image(%d) = %v, want *ErrSample about %q", i, err, want)
		}
	}
}
