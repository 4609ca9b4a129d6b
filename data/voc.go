package data

import (
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// VOCClasses are the 20 Pascal VOC object classes in the order of the VOC
// development kit.
var VOCClasses = []string{
	"aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
	"diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
}

// OpenVOC reads a Pascal VOC folder (VOCdevkit/VOC2007 or one laid out like
// it): Annotations/ID.xml per image, the images in JPEGImages/, and
// optionally ImageSets/Main/SET.txt listing the IDs of a split (chosen with
// opt.ImageSet; without it every annotation file is read, in name order).
//
// VOC's bndbox holds 1-based, inclusive pixel indices; they become Box's
// continuous coordinates as x1 = xmin−1, x2 = xmax, so a box from 1 to the
// image's width spans it exactly. The difficult flag is kept in
// Box.Difficult. Sizes come from <size>, or from the image's header where
// it is missing.
//
// Classes are opt.Classes when given (a name outside it is an UnknownClass
// problem); otherwise VOCClasses when every name found is one of them, so
// that labels do not shift between splits that lack a class; otherwise the
// names found, sorted.
//
// Bad entries are AnnotationErrors naming the XML file and line (or the
// ImageSets file and line); with opt.Skip they are dropped and counted.
func OpenVOC(dir string, opt DetectionOptions) (*Detection, error) {
	annDir := filepath.Join(dir, "Annotations")
	if st, err := os.Stat(annDir); err != nil || !st.IsDir() {
		hint := ""
		for _, sub := range []string{"VOC2007", "VOC2012"} {
			if st, err := os.Stat(filepath.Join(dir, sub, "Annotations")); err == nil && st.IsDir() {
				hint = "; pass " + filepath.Join(dir, sub)
			}
		}
		return nil, fmt.Errorf("%s is not a Pascal VOC folder: want %s/*.xml and %s%s",
			dir, annDir, filepath.Join(dir, "JPEGImages"), hint)
	}
	ps := &problems{skip: opt.Skip}
	ids, err := vocIDs(dir, opt.ImageSet, ps)
	if err != nil {
		return nil, err
	}
	type vocImage struct {
		item    detItem
		xmlPath string
		objects []vocObject
	}
	var images []vocImage
	for _, id := range ids {
		xmlPath := filepath.Join(annDir, id.name+".xml")
		ann, err := readVOCXML(xmlPath)
		if err != nil {
			var ae *AnnotationError
			if !errors.As(err, &ae) {
				ae = &AnnotationError{File: xmlPath, Problem: MissingImage, Msg: errText(err)}
				if id.listFile != "" {
					ae = &AnnotationError{File: id.listFile, At: "line " + strconv.Itoa(id.line), Problem: MissingImage,
						Msg: fmt.Sprintf("lists %s, but %s cannot be read (%s); restore the annotation file or remove the line", id.name, xmlPath, errText(err))}
				}
			}
			if err := ps.bad(ae); err != nil {
				return nil, err
			}
			continue
		}
		name := ann.filename
		if name == "" {
			name = id.name + ".jpg"
		}
		p := filepath.Join(dir, "JPEGImages", name)
		w, h := ann.width, ann.height
		if w <= 0 || h <= 0 {
			w, h, err = imageSize(p)
		} else {
			_, err = os.Stat(p)
		}
		if err != nil {
			if err := ps.bad(&AnnotationError{File: xmlPath, Problem: MissingImage,
				Msg: fmt.Sprintf("image %s: %s; put the image in JPEGImages or fix <filename>", p, errText(err))}); err != nil {
				return nil, err
			}
			continue
		}
		images = append(images, vocImage{item: detItem{path: p, w: w, h: h}, xmlPath: xmlPath, objects: ann.objects})
	}

	classes := opt.Classes
	if classes == nil {
		var names []string
		for _, im := range images {
			for _, o := range im.objects {
				if o.Name != "" && !slices.Contains(names, o.Name) {
					names = append(names, o.Name)
				}
			}
		}
		slices.Sort(names)
		classes = names
		if len(names) > 0 && all(names, func(n string) bool { return slices.Contains(VOCClasses, n) }) {
			classes = VOCClasses
		}
	}
	d := &Detection{name: "voc:" + dir, classes: classes}
	for _, im := range images {
		for _, o := range im.objects {
			at := "line " + strconv.Itoa(o.line)
			box, prob, msg, ok := o.box(classes, im.item.w, im.item.h)
			if !ok {
				if err := ps.bad(&AnnotationError{File: im.xmlPath, At: at, Problem: prob, Msg: msg}); err != nil {
					return nil, err
				}
				continue
			}
			im.item.boxes = append(im.item.boxes, box)
		}
		d.items = append(d.items, im.item)
	}
	d.skipped = ps.skipped
	return finishDetection(d)
}

func all[T any](s []T, f func(T) bool) bool {
	for _, v := range s {
		if !f(v) {
			return false
		}
	}
	return true
}

// vocID is one image ID and, when it came from an ImageSets list, where.
type vocID struct {
	name     string
	listFile string
	line     int
}

// vocIDs lists the IDs of opt.ImageSet, or every Annotations/*.xml.
func vocIDs(dir, set string, ps *problems) ([]vocID, error) {
	if set == "" {
		entries, err := os.ReadDir(filepath.Join(dir, "Annotations"))
		if err != nil {
			return nil, fmt.Errorf("open VOC annotations: %w", err)
		}
		var ids []vocID
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && !strings.HasPrefix(n, ".") && strings.EqualFold(filepath.Ext(n), ".xml") {
				ids = append(ids, vocID{name: strings.TrimSuffix(n, filepath.Ext(n))})
			}
		}
		return ids, nil
	}
	list := filepath.Join(dir, "ImageSets", "Main", set+".txt")
	f, err := os.Open(list)
	if err != nil {
		sets, _ := filepath.Glob(filepath.Join(dir, "ImageSets", "Main", "*.txt"))
		var names []string
		for _, s := range sets {
			if n := strings.TrimSuffix(filepath.Base(s), ".txt"); !strings.Contains(n, "_") {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("VOC image set %q: %s cannot be read (%s); leave the image set empty to read every annotation", set, list, errText(err))
		}
		return nil, fmt.Errorf("VOC image set %q: %s cannot be read (%s); this folder has %s", set, list, errText(err), strings.Join(names, ", "))
	}
	defer f.Close()
	var ids []vocID
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		// Per-class lists (aeroplane_train.txt) flag absent images with -1.
		if len(fields) >= 2 && fields[1] == "-1" {
			continue
		}
		if first, dup := seen[fields[0]]; dup {
			if err := ps.bad(&AnnotationError{File: list, At: "line " + strconv.Itoa(line), Problem: DuplicateID,
				Msg: fmt.Sprintf("image %s is listed again (first on line %d); remove the repeated line", fields[0], first)}); err != nil {
				return nil, err
			}
			continue
		}
		seen[fields[0]] = line
		ids = append(ids, vocID{name: fields[0], listFile: list, line: line})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", list, err)
	}
	return ids, nil
}

// vocAnnotation is what OpenVOC needs from one XML file.
type vocAnnotation struct {
	filename      string
	width, height int
	objects       []vocObject
}

// vocObject is one <object>, unvalidated; line is where it starts.
type vocObject struct {
	Name      string `xml:"name"`
	Difficult string `xml:"difficult"`
	BndBox    *struct {
		Xmin string `xml:"xmin"`
		Ymin string `xml:"ymin"`
		Xmax string `xml:"xmax"`
		Ymax string `xml:"ymax"`
	} `xml:"bndbox"`
	line int
}

// box validates o against the class list and a w×h image.
func (o vocObject) box(classes []string, w, h int) (Box, Problem, string, bool) {
	name := strings.TrimSpace(o.Name)
	if name == "" {
		return Box{}, Malformed, "<object> has no <name>; add the class name", false
	}
	class := slices.Index(classes, name)
	if class < 0 {
		return Box{}, UnknownClass, fmt.Sprintf("class %q is not one of the %d classes (%s); fix <name> or add it to the class list", name, len(classes), strings.Join(limitList(classes, 8), ", ")), false
	}
	if o.BndBox == nil {
		return Box{}, Malformed, "<object> has no <bndbox>; add <bndbox> with xmin, ymin, xmax, ymax", false
	}
	var v [4]float64
	for i, s := range []string{o.BndBox.Xmin, o.BndBox.Ymin, o.BndBox.Xmax, o.BndBox.Ymax} {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return Box{}, Malformed, fmt.Sprintf("<%s> is %q, want a number", [4]string{"xmin", "ymin", "xmax", "ymax"}[i], s), false
		}
		v[i] = f
	}
	b := Box{X1: v[0] - 1, Y1: v[1] - 1, X2: v[2], Y2: v[3], Class: class, Difficult: strings.TrimSpace(o.Difficult) == "1"}
	b, prob, msg, ok := checkBox(b, w, h)
	if !ok {
		msg = fmt.Sprintf("<bndbox> %g,%g,%g,%g (1-based): %s", v[0], v[1], v[2], v[3], msg)
	}
	return b, prob, msg, ok
}

func limitList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "…")
}

// readVOCXML parses one annotation file; a syntax error is an
// AnnotationError naming its line.
func readVOCXML(path string) (*vocAnnotation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseVOCXML(path, b)
}

func parseVOCXML(path string, b []byte) (*vocAnnotation, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	ann := &vocAnnotation{}
	malformed := func(line int, msg string) error {
		at := ""
		if line > 0 {
			at = "line " + strconv.Itoa(line)
		}
		return &AnnotationError{File: path, At: at, Problem: Malformed, Msg: msg}
	}
	depth, root := 0, false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, malformed(se.Line, "XML syntax: "+se.Msg+"; fix the file or export it again")
			}
			line, _ := dec.InputPos()
			return nil, malformed(line, "XML: "+err.Error()+"; fix the file or export it again")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "annotation" {
					line, _ := dec.InputPos()
					return nil, malformed(line, fmt.Sprintf("root element is <%s>, want <annotation>; this is not a Pascal VOC annotation", t.Name.Local))
				}
				root = true
				continue
			}
			if depth != 2 {
				continue
			}
			line, _ := dec.InputPos()
			var err error
			switch t.Name.Local {
			case "filename":
				err = dec.DecodeElement(&ann.filename, &t)
				ann.filename = strings.TrimSpace(ann.filename)
			case "size":
				var sz struct {
					Width  string `xml:"width"`
					Height string `xml:"height"`
				}
				if err = dec.DecodeElement(&sz, &t); err == nil {
					ann.width, ann.height = vocInt(sz.Width), vocInt(sz.Height)
				}
			case "object":
				o := vocObject{line: line}
				if err = dec.DecodeElement(&o, &t); err == nil {
					ann.objects = append(ann.objects, o)
				}
			default:
				continue
			}
			if err != nil {
				var se *xml.SyntaxError
				if errors.As(err, &se) {
					line = se.Line
				}
				return nil, malformed(line, fmt.Sprintf("<%s>: %v; fix the file or export it again", t.Name.Local, err))
			}
			depth-- // DecodeElement consumed the end tag
		case xml.EndElement:
			depth--
		}
	}
	if !root {
		return nil, malformed(0, "no <annotation> element; this is not a Pascal VOC annotation")
	}
	return ann, nil
}

// vocInt reads a size field; some exporters write "500.0". Anything
// unreadable is 0, which makes OpenVOC read the size from the image.
func vocInt(s string) int {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f < 1 || f > maxPixels {
		return 0
	}
	return int(f)
}
