package data

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// cocoJSON builds an annotation file with two 16x12 images (a.png with
// boxes, b.png with none) and categories 3 "stop" and 1 "yield", plus the
// extra entries given, which are appended to their arrays.
func cocoJSON(images, anns, cats string) string {
	return `{
 "images": [
  {"id": 1, "file_name": "img/a.png", "width": 16, "height": 12},
  {"id": 2, "file_name": "img/b.png", "width": 16, "height": 12}` + images + `
 ],
 "annotations": [
  {"id": 10, "image_id": 1, "category_id": 3, "bbox": [1, 2, 5, 4]},
  {"id": 11, "image_id": 1, "category_id": 1, "bbox": [8, 0, 8, 12], "iscrowd": 1}` + anns + `
 ],
 "categories": [{"id": 3, "name": "stop"}, {"id": 1, "name": "yield"}` + cats + `]
}`
}

// cocoDir writes the two images and the JSON, returning the JSON's path.
func cocoDir(t *testing.T, js string) string {
	t.Helper()
	dir := t.TempDir()
	writeImage(t, filepath.Join(dir, "img", "a.png"), 16, 12)
	writeImage(t, filepath.Join(dir, "img", "b.png"), 16, 12)
	path := filepath.Join(dir, "instances.json")
	writeFile(t, path, []byte(js))
	return path
}

func TestOpenCOCO(t *testing.T) {
	path := cocoDir(t, cocoJSON("", "", ""))
	d, err := OpenCOCO(path, DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.Classes(), ","); got != "yield,stop" {
		t.Errorf("classes %s, want yield,stop (ascending category id)", got)
	}
	if d.Len() != 2 {
		t.Fatalf("%d images, want 2", d.Len())
	}
	want := []Box{{X1: 1, Y1: 2, X2: 6, Y2: 6, Class: 1}, {X1: 8, Y1: 0, X2: 16, Y2: 12, Class: 0, Crowd: true}}
	if got := d.Boxes(0); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("boxes %v, want %v", got, want)
	}
	if len(d.Boxes(1)) != 0 {
		t.Errorf("b.png has boxes %v; an image no annotation mentions has none", d.Boxes(1))
	}
	if d.Source(1) != filepath.Join(filepath.Dir(path), "img", "b.png") {
		t.Errorf("source %s: file_name must resolve relative to the JSON's folder", d.Source(1))
	}
	im, err := d.Image(0)
	if err != nil || im.W != 16 || im.H != 12 {
		t.Fatalf("image: %v %v", im, err)
	}
	if d.Skipped().Total() != 0 || d.Skipped().String() != "" {
		t.Errorf("skipped %v on clean data", d.Skipped())
	}
}

func TestOpenCOCOSizeFromHeader(t *testing.T) {
	js := strings.Replace(cocoJSON("", "", ""), `"width": 16, "height": 12}`, `"width": 0}`, 1)
	d, err := OpenCOCO(cocoDir(t, js), DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w, h := d.Size(0); w != 16 || h != 12 {
		t.Errorf("size %dx%d, want 16x12 read from the PNG header", w, h)
	}
}

func TestOpenCOCOSizeMismatch(t *testing.T) {
	js := strings.Replace(cocoJSON("", "", ""), `"width": 16, "height": 12}`, `"width": 32, "height": 24}`, 1)
	d, err := OpenCOCO(cocoDir(t, js), DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Image(0)
	if err == nil || !strings.Contains(err.Error(), "16x12") || !strings.Contains(err.Error(), "32x24") {
		t.Errorf("decoding an image of another size than annotated: %v, want an error naming both sizes", err)
	}
}

func TestOpenCOCOEdgeSlack(t *testing.T) {
	d, err := OpenCOCO(cocoDir(t, cocoJSON("", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": [-0.5, 3, 16.8, 9.5]}`, "")), DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := Box{X1: 0, Y1: 3, X2: 16, Y2: 12, Class: 1}
	if got := d.Boxes(1); len(got) != 1 || got[0] != want {
		t.Errorf("boxes %v, want %v: a box within a pixel of the edge is clipped", got, want)
	}
}

// badCase is one bad annotation: the strict error must be of kind problem
// and contain every string of want; with Skip it is dropped and counted
// once, leaving boxes boxes in the set.
type badCase struct {
	name    string
	problem Problem
	want    []string
	boxes   int
	images  int
}

func checkBad(t *testing.T, tc badCase, open func(DetectionOptions) (*Detection, error)) {
	t.Helper()
	_, err := open(DetectionOptions{})
	var ae *AnnotationError
	if !errors.As(err, &ae) {
		t.Fatalf("strict open: %v, want an *AnnotationError", err)
	}
	if ae.Problem != tc.problem {
		t.Errorf("problem %v, want %v (%v)", ae.Problem, tc.problem, err)
	}
	for _, w := range tc.want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if !strings.Contains(err.Error(), "add ?skip") {
		t.Errorf("error %q does not say how to skip", err)
	}
	d, err := open(DetectionOptions{Skip: true})
	if err != nil {
		t.Fatalf("open with Skip: %v", err)
	}
	s := d.Skipped()
	if s.Count(tc.problem) != 1 || s.Total() != 1 {
		t.Errorf("skipped %q, want one %v", s, tc.problem)
	}
	if f := s.First(tc.problem); f == nil || !strings.Contains(s.String(), f.File) {
		t.Errorf("skipped %q does not name where the first %v was", s, tc.problem)
	}
	n := 0
	for i := range d.Len() {
		n += len(d.Boxes(i))
	}
	if n != tc.boxes || d.Len() != tc.images {
		t.Errorf("after skipping: %d images with %d boxes, want %d with %d", d.Len(), n, tc.images, tc.boxes)
	}
}

func TestOpenCOCOBad(t *testing.T) {
	for _, tc := range []struct {
		badCase
		images, anns, cats string
	}{
		{badCase{"box outside", BoxOutside, []string{"annotation id 12", "outside the 16x12 image", "b.png"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": [10, 2, 9, 4]}`, ""},
		{badCase{"zero width", EmptyBox, []string{"annotation id 12", "zero or negative size"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": [1, 2, 0, 4]}`, ""},
		{badCase{"negative height", EmptyBox, []string{"annotation id 12", "zero or negative size"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3, -4]}`, ""},
		{badCase{"unknown class", UnknownClass, []string{"annotation id 12", "category_id 7"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 7, "bbox": [1, 2, 3, 4]}`, ""},
		{badCase{"missing image file", MissingImage, []string{"image id 3", "nope.png", "relative to the JSON's folder"}, 2, 2},
			`, {"id": 3, "file_name": "nope.png", "width": 5, "height": 5}`, `, {"id": 12, "image_id": 3, "category_id": 3, "bbox": [1, 1, 2, 2]}`, ""},
		{badCase{"annotation of an unlisted image", MissingImage, []string{"annotation id 12", "image_id 9"}, 2, 2},
			"", `, {"id": 12, "image_id": 9, "category_id": 3, "bbox": [1, 2, 3, 4]}`, ""},
		{badCase{"duplicate annotation id", DuplicateID, []string{"annotation id 10", "used twice"}, 2, 2},
			"", `, {"id": 10, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3, 4]}`, ""},
		{badCase{"duplicate image id", DuplicateID, []string{"image id 2", "listed twice"}, 2, 2},
			`, {"id": 2, "file_name": "img/a.png", "width": 16, "height": 12}`, "", ""},
		{badCase{"duplicate category id", DuplicateID, []string{"category id 3", "listed twice"}, 2, 2},
			"", "", `, {"id": 3, "name": "again"}`},
		{badCase{"bbox of three numbers", Malformed, []string{"annotation id 12", "bbox"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": [1, 2, 3]}`, ""},
		{badCase{"bbox of strings", Malformed, []string{"annotations[2]", "bbox"}, 2, 2},
			"", `, {"id": 12, "image_id": 2, "category_id": 3, "bbox": "1,2,3,4"}`, ""},
		{badCase{"image without file_name", Malformed, []string{"images[2]", "file_name"}, 2, 2},
			`, {"id": 5}`, "", ""},
		{badCase{"category without name", Malformed, []string{"categories[2]", "name"}, 2, 2},
			"", "", `, {"id": 4}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := cocoDir(t, cocoJSON(tc.images, tc.anns, tc.cats))
			tc.want = append(tc.want, path)
			checkBad(t, tc.badCase, func(o DetectionOptions) (*Detection, error) { return OpenCOCO(path, o) })
		})
	}
}

func TestOpenCOCOUnreadable(t *testing.T) {
	for _, tc := range []struct {
		name, js string
		want     []string
	}{
		{"syntax error", "{\n \"images\": [\n  {\"id\": 1,, }\n ]\n}", []string{"line 3 column", "not COCO JSON"}},
		{"wrong type", "{\"images\": {}}", []string{"line 1 column", "not COCO JSON"}},
		{"no images", `{"annotations": []}`, []string{`no "images"`}},
		{"no categories", `{"images": [{"id": 1, "file_name": "img/a.png", "width": 16, "height": 12}]}`, []string{"no classes"}},
		{"no images left", `{"images": [], "categories": [{"id": 1, "name": "x"}]}`, []string{"has no images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := cocoDir(t, tc.js)
			for _, skip := range []bool{false, true} {
				_, err := OpenCOCO(path, DetectionOptions{Skip: skip})
				if err == nil {
					t.Fatalf("skip=%v: no error", skip)
				}
				for _, w := range append(tc.want, path) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("skip=%v: error %q does not contain %q", skip, err, w)
					}
				}
			}
		})
	}
	if _, err := OpenCOCO(filepath.Join(t.TempDir(), "none.json"), DetectionOptions{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing file: %v", err)
	}
}
