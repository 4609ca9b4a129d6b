package data

import (
	"path/filepath"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// checkDetection asserts what every opened detection set promises: boxes
// of positive size inside their image, with a class the set has.
func checkDetection(t *testing.T, d *Detection) {
	t.Helper()
	for i := range d.Len() {
		w, h := d.Size(i)
		for _, b := range d.Boxes(i) {
			if !(b.X2 > b.X1 && b.Y2 > b.Y1) || b.X1 < 0 || b.Y1 < 0 || b.X2 > float64(w) || b.Y2 > float64(h) {
				t.Fatalf("%s: box %+v in a %dx%d image", d.Source(i), b, w, h)
			}
			if b.Class < 0 || b.Class >= len(d.Classes()) {
				t.Fatalf("%s: class %d of %d", d.Source(i), b.Class, len(d.Classes()))
			}
		}
	}
	_ = d.Skipped().String()
}

// fuzzOpen runs open strictly and with Skip on the same input.
func fuzzOpen(t *testing.T, n int, name string, open func(DetectionOptions) (*Detection, error)) {
	fuzzcheck.Alloc(t, n, func() {
		for _, skip := range []bool{false, true} {
			d, err := open(DetectionOptions{Skip: skip})
			fuzzcheck.ErrNames(t, err, name)
			if err == nil {
				checkDetection(t, d)
			}
		}
	})
}

// FuzzOpenCOCO feeds an annotation file to OpenCOCO beside one real 16x12
// image, img/a.png.
func FuzzOpenCOCO(f *testing.F) {
	f.Add([]byte(cocoJSON("", "", "")))
	f.Add([]byte(cocoJSON(`, {"id": 3, "file_name": "nope.png"}`, `, {"id": 10, "image_id": 1, "category_id": 9, "bbox": [1e308, -1e308, 1e308, 2]}`, `, {"id": 3, "name": "x"}`)))
	f.Add([]byte(`{"images": [{"id": 1, "file_name": "img/a.png"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [0, 0, 16, 12]}], "categories": [{"id": 1, "name": "a"}]}`))
	f.Add([]byte(`{"images": [{"id": "1"}], "annotations": [null, 3, []], "categories": {}}`))
	f.Add([]byte("{\"images\": [\n"))
	dir := f.TempDir()
	writeImage(f, filepath.Join(dir, "img", "a.png"), 16, 12)
	path := filepath.Join(dir, "instances.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		writeFile(t, path, b)
		fuzzOpen(t, len(b), path, func(o DetectionOptions) (*Detection, error) { return OpenCOCO(path, o) })
	})
}

// FuzzOpenVOC feeds one annotation file to OpenVOC, with its image
// JPEGImages/a.png (16x12) present.
func FuzzOpenVOC(f *testing.F) {
	f.Add([]byte(vocXML("a.png", vocObj("car", 0, "1", "1", "16", "12"), vocObj("person", 1, "3", "4", "5.5", "8"))))
	f.Add([]byte(vocXML("a.png", vocObj("", 0, "x", "1", "0", "-12"), " <object><bndbox/></object>\n")))
	f.Add([]byte("<annotation><size><width>1e9</width><height>-1</height></size><object><name>a</name><bndbox><xmin>NaN</xmin><ymin>1</ymin><xmax>Inf</xmax><ymax>2</ymax></bndbox></object></annotation>"))
	f.Add([]byte("<annotation><filename>../x</filename><object><part><bndbox></bndbox></part></object>"))
	f.Add([]byte("<?xml version=\"1.0\"?><!DOCTYPE a><annotation>&bogus;</annotation>"))
	dir := f.TempDir()
	writeImage(f, filepath.Join(dir, "JPEGImages", "a.png"), 16, 12)
	path := filepath.Join(dir, "Annotations", "a.xml")
	f.Fuzz(func(t *testing.T, b []byte) {
		writeFile(t, path, b)
		fuzzOpen(t, len(b), dir, func(o DetectionOptions) (*Detection, error) { return OpenVOC(dir, o) })
	})
}

// FuzzOpenGTSDB feeds gt.txt to OpenGTSDB beside one 16x12 image, a.ppm.
func FuzzOpenGTSDB(f *testing.F) {
	f.Add([]byte("a.ppm;0;0;15;11;14\n\na.ppm;2;3;4;5;1;9;extra\n"))
	f.Add([]byte("a.ppm;0;0;15;11;14\na.ppm;0;0;15;11;14\nb.ppm;1;1;2;2;1\na.ppm;1;1;2;2;70000\na.ppm;1;1;2;2;-1\n"))
	f.Add([]byte("a.ppm;NaN;0;Inf;11;1\na.ppm;1e400;0;2;3;1\n\ufeffa.ppm;5;5;4;4;1\r\n;;;;;\n"))
	f.Add([]byte("a.ppm;0;0;15;11;2147483647\n"))
	dir := f.TempDir()
	writeImage(f, filepath.Join(dir, "a.ppm"), 16, 12)
	path := filepath.Join(dir, GTSDBAnnotations)
	f.Fuzz(func(t *testing.T, b []byte) {
		writeFile(t, path, b)
		fuzzOpen(t, len(b), dir, func(o DetectionOptions) (*Detection, error) { return OpenGTSDB(dir, o) })
	})
}
