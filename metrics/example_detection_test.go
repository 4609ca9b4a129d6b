package metrics_test

import (
	"fmt"

	"github.com/graftml/graft/metrics"
)

// Two signs in one image, one found exactly and a false positive elsewhere
// ranked above it.
func ExampleEvaluateCOCO() {
	gts := []metrics.GroundTruth{
		{Image: 1, Class: 0, Box: metrics.BoxXYWH(10, 10, 40, 40)},
		{Image: 1, Class: 0, Box: metrics.BoxXYWH(100, 10, 40, 40)},
	}
	dets := []metrics.Detection{
		{Image: 1, Class: 0, Box: metrics.BoxXYWH(10, 10, 40, 40), Score: 0.8},
		{Image: 1, Class: 0, Box: metrics.BoxXYWH(300, 300, 40, 40), Score: 0.9},
	}
	coco, err := metrics.EvaluateCOCO(gts, dets)
	if err != nil {
		fmt.Println(err)
		return
	}
	voc, err := metrics.EvaluateVOC(gts, dets)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("COCO mAP@[.5:.95] %.3f  AP50 %.3f  AR100 %.3f  AP small %.0f\n", coco.AP, coco.AP50, coco.AR100, coco.APSmall)
	fmt.Printf("VOC mAP (11-point) %.3f  mAP (all-point) %.3f\n", voc.MAP07, voc.MAP)
	c, _ := voc.Class(0)
	fmt.Println("PR curve: recall", c.Curve.Recall, "precision", c.Curve.Precision)
	// Output:
	// COCO mAP@[.5:.95] 0.252  AP50 0.252  AR100 0.500  AP small -1
	// VOC mAP (11-point) 0.273  mAP (all-point) 0.250
	// PR curve: recall [0 0.5] precision [0 0.5]
}
