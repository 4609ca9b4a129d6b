package detect

import (
	"fmt"

	"github.com/graftml/graft/data"
)

// TargetsOf turns a detection batch's boxes (data's class indices, input
// pixels) into the loss's targets: class i becomes label i+1, because a
// detector's class 0 is the background. Crowd regions are left out: COCO
// neither rewards nor penalises detections on them, and a box around a
// crowd would teach the detector a single object where there are many.
func TargetsOf(boxes [][]data.Box, classes int) ([]Target, error) {
	out := make([]Target, len(boxes))
	for i, bs := range boxes {
		for j, b := range bs {
			if b.Crowd {
				continue
			}
			if b.Class < 0 || b.Class >= classes {
				return nil, fmt.Errorf("image %d, box %d: class %d of a data set with %d classes", i, j, b.Class, classes)
			}
			out[i].Boxes = append(out[i].Boxes, Box{float32(b.X1), float32(b.Y1), float32(b.X2), float32(b.Y2)})
			out[i].Labels = append(out[i].Labels, b.Class+1)
		}
	}
	return out, nil
}
