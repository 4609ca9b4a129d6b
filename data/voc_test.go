package data

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// vocXML is one annotation of a 16x12 image with the objects given.
func vocXML(file string, objects ...string) string {
	return "<annotation>\n <folder>VOC2007</folder>\n <filename>" + file + "</filename>\n" +
		" <size><width>16</width><height>12</height><depth>3</depth></size>\n" +
		strings.Join(objects, "") + "</annotation>\n"
}

func vocObj(name string, difficult int, xmin, ymin, xmax, ymax string) string {
	return fmt.Sprintf(" <object>\n  <name>%s</name>\n  <difficult>%d</difficult>\n  <bndbox><xmin>%s</xmin><ymin>%s</ymin><xmax>%s</xmax><ymax>%s</ymax></bndbox>\n </object>\n",
		name, difficult, xmin, ymin, xmax, ymax)
}

// vocDir writes a VOC folder: 000001 with a car and a difficult person,
// 000002 with no objects, plus extra files (path relative to the folder →
// contents); images named in extra .xml files are not written.
func vocDir(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, id := range []string{"000001", "000002"} {
		writeImage(t, filepath.Join(dir, "JPEGImages", id+".png"), 16, 12)
	}
	writeFile(t, filepath.Join(dir, "Annotations", "000001.xml"), []byte(vocXML("000001.png",
		vocObj("car", 0, "1", "1", "16", "12"), vocObj("person", 1, "3", "4", "5.5", "8"))))
	writeFile(t, filepath.Join(dir, "Annotations", "000002.xml"), []byte(vocXML("000002.png")))
	writeFile(t, filepath.Join(dir, "ImageSets", "Main", "train.txt"), []byte("000001\n000002\n"))
	writeFile(t, filepath.Join(dir, "ImageSets", "Main", "car_train.txt"), []byte("000001  1\n000002 -1\n"))
	for p, s := range extra {
		writeFile(t, filepath.Join(dir, p), []byte(s))
	}
	return dir
}

func TestOpenVOC(t *testing.T) {
	dir := vocDir(t, nil)
	d, err := OpenVOC(dir, DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Classes()) != 20 || d.Classes()[6] != "car" {
		t.Errorf("classes %v, want the 20 VOC classes: every name found is one", d.Classes())
	}
	want := []Box{{X1: 0, Y1: 0, X2: 16, Y2: 12, Class: 6}, {X1: 2, Y1: 3, X2: 5.5, Y2: 8, Class: 14, Difficult: true}}
	if d.Len() != 2 || fmt.Sprint(d.Boxes(0)) != fmt.Sprint(want) || len(d.Boxes(1)) != 0 {
		t.Fatalf("boxes %v and %v, want %v and none", d.Boxes(0), d.Boxes(1), want)
	}
	if _, err := d.Image(1); err != nil {
		t.Error(err)
	}

	d, err = OpenVOC(dir, DetectionOptions{ImageSet: "car_train"})
	if err != nil || d.Len() != 1 {
		t.Fatalf("image set car_train: %v, %v; want only 000001 (000002 is flagged -1)", d, err)
	}

	d, err = OpenVOC(dir, DetectionOptions{Classes: []string{"person", "car"}})
	if err != nil || d.Boxes(0)[0].Class != 1 || d.Boxes(0)[1].Class != 0 {
		t.Fatalf("given classes: %v, %v", d, err)
	}

	other := vocDir(t, map[string]string{"Annotations/000001.xml": vocXML("000001.png", vocObj("sign", 0, "1", "1", "4", "4"), vocObj("pole", 0, "1", "1", "4", "4"))})
	d, err = OpenVOC(other, DetectionOptions{})
	if err != nil || strings.Join(d.Classes(), ",") != "pole,sign" {
		t.Errorf("classes of a non-VOC set: %v, %v; want the names found, sorted", d, err)
	}

	if _, err := OpenVOC(dir, DetectionOptions{ImageSet: "tain"}); err == nil || !strings.Contains(err.Error(), "this folder has train") {
		t.Errorf("unknown image set: %v, want the sets there listed", err)
	}
	if _, err := OpenVOC(filepath.Dir(dir), DetectionOptions{}); err == nil || !strings.Contains(err.Error(), "not a Pascal VOC folder") {
		t.Errorf("not a VOC folder: %v", err)
	}
}

func TestOpenVOCBad(t *testing.T) {
	const ann3 = "Annotations/000003.xml"
	for _, tc := range []struct {
		badCase
		extra map[string]string
		opt   DetectionOptions
	}{
		{badCase{"box outside", BoxOutside, []string{ann3, "line 5", "outside the 16x12 image"}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("car", 0, "5", "5", "30", "8"))}, DetectionOptions{}},
		{badCase{"zero size", EmptyBox, []string{ann3, "line 5", "zero or negative size"}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("car", 0, "5", "5", "4", "8"))}, DetectionOptions{}},
		{badCase{"negative size", EmptyBox, []string{ann3, "line 5", "zero or negative size"}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("car", 0, "5", "9", "7", "2"))}, DetectionOptions{}},
		{badCase{"unknown class", UnknownClass, []string{ann3, "line 5", `class "bus"`}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("bus", 0, "1", "1", "4", "4"))}, DetectionOptions{Classes: []string{"car", "person"}}},
		{badCase{"missing image", MissingImage, []string{ann3, "000003.png", "JPEGImages"}, 2, 2},
			map[string]string{ann3: vocXML("000003.png", vocObj("car", 0, "1", "1", "4", "4"))}, DetectionOptions{}},
		{badCase{"missing annotation of a listed image", MissingImage, []string{"train.txt", "line 3", "000004"}, 2, 2},
			map[string]string{"ImageSets/Main/train.txt": "000001\n000002\n000004\n"}, DetectionOptions{ImageSet: "train"}},
		{badCase{"duplicate id", DuplicateID, []string{"train.txt", "line 3", "first on line 1"}, 2, 2},
			map[string]string{"ImageSets/Main/train.txt": "000001\n000002\n000001\n"}, DetectionOptions{ImageSet: "train"}},
		{badCase{"malformed XML", Malformed, []string{ann3, "line 2", "XML syntax"}, 2, 2},
			map[string]string{ann3: "<annotation>\n<filename>x</filenam>\n</annotation>"}, DetectionOptions{}},
		{badCase{"not an annotation", Malformed, []string{ann3, "<annotation>"}, 2, 2},
			map[string]string{ann3: "<html></html>"}, DetectionOptions{}},
		{badCase{"coordinate not a number", Malformed, []string{ann3, "line 5", `<xmax> is "ten"`}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("car", 0, "1", "1", "ten", "4"))}, DetectionOptions{}},
		{badCase{"no bndbox", Malformed, []string{ann3, "line 5", "no <bndbox>"}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", " <object>\n  <name>car</name>\n </object>\n")}, DetectionOptions{}},
		{badCase{"no name", Malformed, []string{ann3, "line 5", "no <name>"}, 2, 3},
			map[string]string{ann3: vocXML("000001.png", vocObj("", 0, "1", "1", "4", "4"))}, DetectionOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := vocDir(t, tc.extra)
			checkBad(t, tc.badCase, func(o DetectionOptions) (*Detection, error) {
				o.Classes, o.ImageSet = tc.opt.Classes, tc.opt.ImageSet
				return OpenVOC(dir, o)
			})
		})
	}
}
