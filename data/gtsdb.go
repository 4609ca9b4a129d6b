package data

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// GTSDBAnnotations is the annotation file OpenGTSDB reads.
const GTSDBAnnotations = "gt.txt"

// maxGTSDBLine bounds one line of gt.txt; real lines are under 100 bytes.
const maxGTSDBLine = 1 << 16

// OpenGTSDB reads a traffic-sign detection benchmark folder in the German
// (GTSDB) layout: the images (00000.ppm, …) and gt.txt side by side, gt.txt
// holding one line per sign:
//
//	file;x1;y1;x2;y2;class
//
// x1..x2 and y1..y2 are the sign's leftmost and rightmost pixel columns and
// its top and bottom rows, inclusive and 0-based as GTSDB's ReadMe defines
// them, so the Box is (x1, y1)-(x2+1, y2+1). Fields after the sixth (the
// Belgian BTSD files carry superclass, pole and camera numbers) are
// ignored, as are empty lines.
//
// Every image directly in dir (PNG, JPEG, PPM/PGM, BMP; subfolders such as
// GTSDB's per-class crops are not read) is part of the set, in name order:
// an image that gt.txt does not mention is an image with no signs, which is
// how GTSDB marks its negatives. A file gt.txt names that is not there is a
// MissingImage problem. Sizes come from each image's header.
//
// Classes are opt.Classes when given; otherwise GTSRBClasses (GTSDB uses
// GTSRB's 43 class ids), extended with numeric names up to the highest id
// found. A class id outside the list is an UnknownClass problem; a line
// that repeats an earlier one exactly is a DuplicateID problem. Each names
// gt.txt and its line; with opt.Skip they are dropped and counted.
func OpenGTSDB(dir string, opt DetectionOptions) (*Detection, error) {
	gt := filepath.Join(dir, GTSDBAnnotations)
	b, err := os.ReadFile(gt)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
				return nil, fmt.Errorf("open GTSDB %s: no such directory; pass the folder holding the images and %s (e.g. FullIJCNN2013)", dir, GTSDBAnnotations)
			}
			return nil, fmt.Errorf("open GTSDB %s: no %s; put the annotations (lines file;x1;y1;x2;y2;class) in %s", dir, GTSDBAnnotations, gt)
		}
		return nil, fmt.Errorf("open GTSDB: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open GTSDB: %w", err)
	}
	ps := &problems{skip: opt.Skip}
	d := &Detection{name: "gtsdb:" + dir}
	itemOf := map[string]int{}
	for _, e := range entries {
		if e.IsDir() || !isImageName(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		w, h, err := imageSize(p)
		if err != nil {
			if err := ps.bad(&AnnotationError{File: p, Problem: MissingImage,
				Msg: fmt.Sprintf("image header cannot be read (%s); replace the file or remove it from the folder", errText(err))}); err != nil {
				return nil, err
			}
			continue
		}
		itemOf[e.Name()] = len(d.items)
		d.items = append(d.items, detItem{path: p, w: w, h: h})
	}
	lines, err := parseGTSDB(gt, b, ps)
	if err != nil {
		return nil, err
	}
	classes := opt.Classes
	if classes == nil {
		classes = GTSRBClasses
		top := -1
		for _, l := range lines {
			if l.class <= maxGTSRBClassID {
				top = max(top, l.class)
			}
		}
		if top >= len(GTSRBClasses) {
			classes = slices.Clone(GTSRBClasses)
			for i := len(GTSRBClasses); i <= top; i++ {
				classes = append(classes, strconv.Itoa(i))
			}
		}
	}
	d.classes = classes
	for _, l := range lines {
		at := "line " + strconv.Itoa(l.line)
		item, ok := itemOf[l.file]
		if !ok {
			msg := fmt.Sprintf("image %s is not in %s; put it beside %s or fix the file name", l.file, dir, GTSDBAnnotations)
			if strings.ContainsAny(l.file, `/\`) {
				msg = fmt.Sprintf("image %s is not directly in %s; GTSDB names images beside %s, so move it there", l.file, dir, GTSDBAnnotations)
			}
			if err := ps.bad(&AnnotationError{File: gt, At: at, Problem: MissingImage, Msg: msg}); err != nil {
				return nil, err
			}
			continue
		}
		if l.class < 0 || l.class >= len(classes) {
			if err := ps.bad(&AnnotationError{File: gt, At: at, Problem: UnknownClass,
				Msg: fmt.Sprintf("class %d is outside the %d classes (0..%d); fix the class or pass the class names", l.class, len(classes), len(classes)-1)}); err != nil {
				return nil, err
			}
			continue
		}
		it := &d.items[item]
		// Inclusive pixel indices: the last column x2 ends at x2+1.
		box, prob, msg, ok := checkBox(Box{X1: l.x1, Y1: l.y1, X2: l.x2 + 1, Y2: l.y2 + 1, Class: l.class}, it.w, it.h)
		if !ok {
			if err := ps.bad(&AnnotationError{File: gt, At: at, Problem: prob,
				Msg: fmt.Sprintf("%s columns %g..%g, rows %g..%g (inclusive): %s", l.file, l.x1, l.x2, l.y1, l.y2, msg)}); err != nil {
				return nil, err
			}
			continue
		}
		it.boxes = append(it.boxes, box)
	}
	d.skipped = ps.skipped
	return finishDetection(d)
}

// gtsdbLine is one parsed line of gt.txt.
type gtsdbLine struct {
	line           int
	file           string
	x1, y1, x2, y2 float64
	class          int
}

// parseGTSDB reads the lines of gt.txt, reporting malformed and repeated
// ones through ps; semantic checks (image, class, box) are the caller's.
func parseGTSDB(path string, b []byte, ps *problems) ([]gtsdbLine, error) {
	var out []gtsdbLine
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, maxGTSDBLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if text == "" {
			continue
		}
		at := "line " + strconv.Itoa(line)
		fields := strings.Split(text, ";")
		if len(fields) < 6 {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: Malformed,
				Msg: fmt.Sprintf("%q has %d fields, want file;x1;y1;x2;y2;class", clip([]byte(text), 80), len(fields))}); err != nil {
				return nil, err
			}
			continue
		}
		l := gtsdbLine{line: line, file: strings.TrimSpace(fields[0])}
		bad := ""
		for i, p := range []*float64{&l.x1, &l.y1, &l.x2, &l.y2} {
			v, err := strconv.ParseFloat(strings.TrimSpace(fields[i+1]), 64)
			if err != nil {
				bad = fmt.Sprintf("%s is %q, want a number", [4]string{"x1", "y1", "x2", "y2"}[i], fields[i+1])
				break
			}
			*p = v
		}
		if bad == "" {
			c, err := strconv.Atoi(strings.TrimSpace(fields[5]))
			if err != nil {
				bad = fmt.Sprintf("class is %q, want an integer class id", fields[5])
			}
			l.class = c
		}
		if bad == "" && l.file == "" {
			bad = "the file name is empty"
		}
		if bad != "" {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: Malformed, Msg: bad + "; want file;x1;y1;x2;y2;class"}); err != nil {
				return nil, err
			}
			continue
		}
		key := fmt.Sprintf("%s;%g;%g;%g;%g;%d", l.file, l.x1, l.y1, l.x2, l.y2, l.class)
		if first, dup := seen[key]; dup {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: DuplicateID,
				Msg: fmt.Sprintf("repeats line %d (the same sign twice); remove one", first)}); err != nil {
				return nil, err
			}
			continue
		}
		seen[key] = line
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, &AnnotationError{File: path, At: "line " + strconv.Itoa(line+1), Problem: Malformed,
			Msg: fmt.Sprintf("%v; gt.txt wants short lines file;x1;y1;x2;y2;class", err)}
	}
	return out, nil
}
