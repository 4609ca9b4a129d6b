package data

import (
	"fmt"
	"net/url"
	"strings"
)

// DetectionSpecHelp documents the forms a detection DATA spec takes.
const DetectionSpecHelp = `coco:ANNOTATIONS.json      COCO boxes, images relative to the JSON's folder (graft synth --scenes writes one)
  voc:DIR                   a Pascal VOC folder (Annotations/, JPEGImages/)
  gtsdb:DIR                 the German/Belgian sign-detection layout (gt.txt: file;x1;y1;x2;y2;class)
  any of these + ?skip drops bad annotations and counts them instead of failing;
  voc:DIR?set=train reads one ImageSets/Main list`

// IsDetectionSpec says whether spec names a detection data set.
func IsDetectionSpec(spec string) bool {
	kind, _, ok := strings.Cut(spec, ":")
	return ok && (kind == "coco" || kind == "voc" || kind == "gtsdb")
}

// OpenDetection opens the detection data set a spec names (see
// DetectionSpecHelp).
func OpenDetection(spec string) (*Detection, error) {
	base, query, _ := strings.Cut(spec, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("%s: the options after ? (%q): %w", spec, query, err)
	}
	var opt DetectionOptions
	for k, v := range q {
		switch k {
		case "skip":
			opt.Skip = len(v) == 0 || v[0] == "" || v[0] == "1" || v[0] == "true"
		case "set":
			opt.ImageSet = v[0]
		default:
			return nil, fmt.Errorf("%s: unknown option %q; detection sets take ?skip and (VOC) ?set=NAME", spec, k)
		}
	}
	kind, arg, _ := strings.Cut(base, ":")
	if arg == "" {
		return nil, fmt.Errorf("%s: give the path, e.g. %s:%s", spec, kind, map[string]string{"coco": "DIR/annotations.json", "voc": "DIR", "gtsdb": "DIR"}[kind])
	}
	if opt.ImageSet != "" && kind != "voc" {
		return nil, fmt.Errorf("%s: ?set= chooses a VOC image set; %s sets have none", spec, kind)
	}
	switch kind {
	case "coco":
		return OpenCOCO(arg, opt)
	case "voc":
		return OpenVOC(arg, opt)
	case "gtsdb":
		return OpenGTSDB(arg, opt)
	}
	return nil, fmt.Errorf("%s is not a detection data set: use %s", spec, DetectionSpecHelp)
}
