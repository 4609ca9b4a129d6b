package metrics_test

import (
	"fmt"

	"github.com/graftml/graft/metrics"
)

// Three test images, one sign each; the detector finds two, with a false
// positive in image 2 ranked above its find. Counting image 2 twice and
// dropping image 0 is one draw of a bootstrap over test images.
func ExampleAPRecords_MeanAP() {
	var gts []metrics.GroundTruth
	for im := range 3 {
		gts = append(gts, metrics.GroundTruth{Image: im, Class: 0, Box: metrics.BoxXYWH(10, 10, 40, 40)})
	}
	dets := []metrics.Detection{
		{Image: 0, Class: 0, Box: metrics.BoxXYWH(10, 10, 40, 40), Score: 0.9},
		{Image: 2, Class: 0, Box: metrics.BoxXYWH(200, 200, 40, 40), Score: 0.8},
		{Image: 2, Class: 0, Box: metrics.BoxXYWH(12, 10, 40, 40), Score: 0.7},
	}
	rec, err := metrics.RecordsAP50(gts, dets)
	if err != nil {
		fmt.Println(err)
		return
	}
	coco, _ := metrics.EvaluateCOCO(gts, dets)
	fmt.Printf("AP50 %.3f, from the records %.3f\n", coco.AP50, rec.MeanAP(nil))
	fmt.Printf("image 0 dropped, image 2 twice: %.3f\n", rec.MeanAP([]float64{0, 1, 2}))
	// Output:
	// AP50 0.554, from the records 0.554
	// image 0 dropped, image 2 twice: 0.332
}
