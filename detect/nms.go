package detect

import "sort"

// NMS is greedy non-maximum suppression (torchvision.ops.nms): boxes in
// order of falling score, each kept unless it overlaps a kept one by IoU
// more than iou. It returns the kept indices, highest score first.
func NMS(boxes []Box, scores []float32, iou float32) []int {
	order := make([]int, len(boxes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return scores[order[a]] > scores[order[b]] })
	suppressed := make([]bool, len(boxes))
	var keep []int
	for oi, i := range order {
		if suppressed[i] {
			continue
		}
		keep = append(keep, i)
		for _, j := range order[oi+1:] {
			if !suppressed[j] && IoU(boxes[i], boxes[j]) > iou {
				suppressed[j] = true
			}
		}
	}
	return keep
}

// BatchedNMS is NMS within each class: boxes of different classes never
// suppress each other (torchvision.ops.batched_nms). Kept indices come
// highest score first.
func BatchedNMS(boxes []Box, scores []float32, classes []int, iou float32) []int {
	byClass := map[int][]int{}
	for i, c := range classes {
		byClass[c] = append(byClass[c], i)
	}
	var keep []int
	for _, idx := range byClass {
		bs, ss := make([]Box, len(idx)), make([]float32, len(idx))
		for k, i := range idx {
			bs[k], ss[k] = boxes[i], scores[i]
		}
		for _, k := range NMS(bs, ss, iou) {
			keep = append(keep, idx[k])
		}
	}
	sort.SliceStable(keep, func(a, b int) bool {
		if scores[keep[a]] != scores[keep[b]] {
			return scores[keep[a]] > scores[keep[b]]
		}
		return keep[a] < keep[b]
	})
	return keep
}
