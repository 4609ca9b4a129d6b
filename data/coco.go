package data

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
)

// OpenCOCO reads a COCO object-detection annotation file (the "images",
// "annotations" and "categories" arrays of instances_*.json). Image
// file_names are resolved relative to the JSON file's folder. Classes are
// the categories in ascending id order, so COCO's sparse ids (1..90 with
// gaps) become dense indices; names come from the categories. A bbox is
// [x, y, width, height] in continuous pixel coordinates, which is Box's
// convention already. Images that no annotation mentions are images with
// no boxes, as in COCO itself; iscrowd sets Box.Crowd.
//
// Sizes come from each image's width and height; where they are missing the
// image file's header is read. Every image file must exist.
//
// Bad entries are AnnotationErrors naming the JSON file and the annotation,
// image or category id (or its position in its array when the id itself is
// unreadable); with opt.Skip they are dropped and counted instead.
func OpenCOCO(path string, opt DetectionOptions) (*Detection, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open COCO annotations %s: no such file; pass the instances JSON (e.g. annotations/instances_val2017.json)", path)
		}
		return nil, fmt.Errorf("open COCO annotations: %w", err)
	}
	var top struct {
		Images      []json.RawMessage `json:"images"`
		Annotations []json.RawMessage `json:"annotations"`
		Categories  []json.RawMessage `json:"categories"`
	}
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, &AnnotationError{File: path, At: jsonErrorPlace(b, err), Problem: Malformed,
			Msg: fmt.Sprintf("not COCO JSON: %v; fix the file (a JSON validator shows the spot) or export it again", jsonErrorText(err))}
	}
	if top.Images == nil {
		return nil, &AnnotationError{File: path, Problem: Malformed,
			Msg: `no "images" array; want COCO detection annotations with "images", "annotations" and "categories"`}
	}
	ps := &problems{skip: opt.Skip}
	d := &Detection{name: "coco:" + path}
	dir := filepath.Dir(path)

	classOf, err := cocoCategories(path, top.Categories, ps, d)
	if err != nil {
		return nil, err
	}
	itemOf := map[int64]int{}
	dropped := map[int64]bool{} // images skipped: their annotations go silently
	for i, raw := range top.Images {
		var im struct {
			ID       *int64 `json:"id"`
			FileName string `json:"file_name"`
			Width    int    `json:"width"`
			Height   int    `json:"height"`
		}
		at := fmt.Sprintf("images[%d]", i)
		if err := json.Unmarshal(raw, &im); err != nil || im.ID == nil || im.FileName == "" {
			msg := `want {"id": N, "file_name": "…", "width": W, "height": H}`
			if err != nil {
				msg = jsonErrorText(err) + "; " + msg
			}
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: Malformed, Msg: msg}); err != nil {
				return nil, err
			}
			continue
		}
		at = fmt.Sprintf("image id %d", *im.ID)
		if _, dup := itemOf[*im.ID]; dup || dropped[*im.ID] {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: DuplicateID,
				Msg: fmt.Sprintf("image id %d is listed twice (here %s); give every image its own id", *im.ID, im.FileName)}); err != nil {
				return nil, err
			}
			continue
		}
		p := im.FileName
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, filepath.FromSlash(p))
		}
		w, h := im.Width, im.Height
		if w <= 0 || h <= 0 {
			w, h, err = imageSize(p)
		} else {
			_, err = os.Stat(p)
		}
		if err != nil {
			dropped[*im.ID] = true
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: MissingImage,
				Msg: fmt.Sprintf("image %s: %v; file_name is resolved relative to the JSON's folder %s, so put the JSON beside the images or fix file_name", p, errText(err), dir)}); err != nil {
				return nil, err
			}
			continue
		}
		itemOf[*im.ID] = len(d.items)
		d.items = append(d.items, detItem{path: p, w: w, h: h})
	}

	seen := map[int64]bool{}
	for i, raw := range top.Annotations {
		var a struct {
			ID         *int64    `json:"id"`
			ImageID    *int64    `json:"image_id"`
			CategoryID *int64    `json:"category_id"`
			BBox       []float64 `json:"bbox"`
			IsCrowd    int       `json:"iscrowd"`
		}
		at := fmt.Sprintf("annotations[%d]", i)
		err := json.Unmarshal(raw, &a)
		if err == nil && a.ID != nil {
			at = fmt.Sprintf("annotation id %d", *a.ID)
		}
		if err != nil || a.ImageID == nil || a.CategoryID == nil || len(a.BBox) != 4 {
			msg := fmt.Sprintf(`want {"id": N, "image_id": N, "category_id": N, "bbox": [x, y, width, height]}, found %s`, clip(raw, 80))
			if err != nil {
				msg = jsonErrorText(err) + "; " + msg
			}
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: Malformed, Msg: msg}); err != nil {
				return nil, err
			}
			continue
		}
		if a.ID != nil {
			if seen[*a.ID] {
				if err := ps.bad(&AnnotationError{File: path, At: at, Problem: DuplicateID,
					Msg: fmt.Sprintf("annotation id %d is used twice; give every annotation its own id", *a.ID)}); err != nil {
					return nil, err
				}
				continue
			}
			seen[*a.ID] = true
		}
		item, ok := itemOf[*a.ImageID]
		if !ok {
			if dropped[*a.ImageID] {
				continue
			}
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: MissingImage,
				Msg: fmt.Sprintf("image_id %d is not in the images array; add the image or fix image_id", *a.ImageID)}); err != nil {
				return nil, err
			}
			continue
		}
		class, ok := classOf[*a.CategoryID]
		if !ok {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: UnknownClass,
				Msg: fmt.Sprintf("category_id %d is not in the categories array; add the category or fix category_id", *a.CategoryID)}); err != nil {
				return nil, err
			}
			continue
		}
		it := &d.items[item]
		x, y, w, h := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
		box, prob, msg, ok := checkBox(Box{X1: x, Y1: y, X2: x + w, Y2: y + h, Class: class, Crowd: a.IsCrowd != 0}, it.w, it.h)
		if !ok {
			if err := ps.bad(&AnnotationError{File: path, At: at, Problem: prob,
				Msg: fmt.Sprintf("bbox [%g, %g, %g, %g] on %s: %s", x, y, w, h, filepath.Base(it.path), msg)}); err != nil {
				return nil, err
			}
			continue
		}
		it.boxes = append(it.boxes, box)
	}
	d.skipped = ps.skipped
	return finishDetection(d)
}

// cocoCategories reads the categories into d.classes (ascending id) and
// returns the index of each id.
func cocoCategories(path string, raws []json.RawMessage, ps *problems, d *Detection) (map[int64]int, error) {
	type category struct {
		id   int64
		name string
	}
	var cats []category
	seen := map[int64]bool{}
	for i, raw := range raws {
		var c struct {
			ID   *int64 `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &c); err != nil || c.ID == nil || c.Name == "" {
			msg := `want {"id": N, "name": "…"}`
			if err != nil {
				msg = jsonErrorText(err) + "; " + msg
			}
			if err := ps.bad(&AnnotationError{File: path, At: fmt.Sprintf("categories[%d]", i), Problem: Malformed, Msg: msg}); err != nil {
				return nil, err
			}
			continue
		}
		if seen[*c.ID] {
			if err := ps.bad(&AnnotationError{File: path, At: fmt.Sprintf("category id %d", *c.ID), Problem: DuplicateID,
				Msg: fmt.Sprintf("category id %d is listed twice (here %q); give every category its own id", *c.ID, c.Name)}); err != nil {
				return nil, err
			}
			continue
		}
		seen[*c.ID] = true
		cats = append(cats, category{*c.ID, c.Name})
	}
	slices.SortFunc(cats, func(a, b category) int { return cmpInt64(a.id, b.id) })
	classOf := make(map[int64]int, len(cats))
	for i, c := range cats {
		classOf[c.id] = i
		d.classes = append(d.classes, c.name)
	}
	return classOf, nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// jsonErrorPlace turns the byte offset of a JSON syntax or type error into
// "line L column C", which editors can jump to.
func jsonErrorPlace(b []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(b)) {
		return ""
	}
	before := b[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - (bytes.LastIndexByte(before, '\n') + 1)
	return "line " + strconv.Itoa(line) + " column " + strconv.Itoa(max(col, 1))
}

// jsonErrorText is err without the "json: " prefix, which says nothing the
// surrounding message does not.
func jsonErrorText(err error) string {
	s := err.Error()
	if len(s) > 6 && s[:6] == "json: " {
		return s[6:]
	}
	return s
}

// errText is an os error without the path the caller already names.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// clip shortens b for a message.
func clip(b []byte, n int) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
