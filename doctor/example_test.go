package doctor_test

import (
	"os"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/doctor"
)

// The data checks run on a data set alone; Run adds those that need the
// base model and the plan.
func ExampleImbalance() {
	var ims []*data.Image
	var labels []int
	for i := range 64 {
		ims = append(ims, data.NewImage(1, 4, 4))
		labels = append(labels, i/60) // 60 stop signs, 4 yield signs
	}
	signs, err := data.NewInMemory(ims, labels, []string{"stop", "yield"})
	if err != nil {
		panic(err)
	}
	r := &doctor.Report{Findings: doctor.Imbalance(signs, 0), Checks: []string{"imbalance"}}
	doctor.Write(os.Stdout, r)
	// Output:
	// ✗ the classes are imbalanced: the largest has 15× the images of the smallest
	//   evidence: largest "stop" 60 images, smallest "yield" 4, median 32 (reported above 10:1)
	//   fix: sample the same number per class with --shots 4, or collect more images of the rare classes; otherwise the model favours the large classes and accuracy hides it (read macro-F1 and per-class accuracy)
}
