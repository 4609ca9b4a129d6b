package data

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzOpenGTSRB feeds a test-layout annotation file (GT-final_test.csv) to
// OpenGTSRB; the images it names are not there, and are not read.
func FuzzOpenGTSRB(f *testing.F) {
	f.Add([]byte("ClassId;Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2\n14;00000.ppm;1;1;9;11\n42;00001.ppm;1;1;9;11\n0;00002.ppm;1;1;9;11\n"))
	f.Add([]byte(gtsrbHeader + "00000_00000.ppm;10;12;2;3;8;10;2\n\n00001_00000.ppm;10;12;2;3;8;10;2\n"))
	f.Add([]byte("\ufeffFilename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\r\na.ppm;0;0;1;1;50\r\n"))
	// Regression: a class name was made for every ID up to a forged ClassId.
	f.Add([]byte("Filename;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\na.ppm;0;0;1;1;2000000\n"))
	f.Add([]byte("Filename;Roi.X1\n\"unterminated"))

	dir := f.TempDir()
	path := filepath.Join(dir, gtsrbTestCSV)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			d, err := OpenGTSRB(dir, true)
			fuzzcheck.ErrNames(t, err, dir)
			if err != nil {
				return
			}
			for i := range d.Len() {
				if l := d.Label(i); l < 0 || l >= len(d.Classes()) {
					t.Fatalf("label %d of %d classes", l, len(d.Classes()))
				}
				_ = d.Source(i)
			}
		})
	})
}
