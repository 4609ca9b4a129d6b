package synth_test

import (
	"fmt"

	"github.com/graftml/graft/synth"
)

// A source set in the base style and a small, disjoint test set in the
// German style, as a transfer experiment would use them.
func Example() {
	train, test, err := synth.Split(synth.Config{
		Country:    "de",
		Classes:    []string{"limit30", "stop", "zone30"},
		PerClass:   20,
		Size:       32,
		Seed:       7,
		Shift:      1,
		Difficulty: 0.3,
	}, 5)
	if err != nil {
		fmt.Println(err)
		return
	}
	im, err := test.Image(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(train.Len(), test.Len(), train.Classes())
	fmt.Println(test.Source(1), test.Classes()[test.Label(1)], im.C, im.H, im.W)

	rows, _ := synth.ClassMap("be", "de")
	fmt.Println(len(rows), rows[8])
	// Output:
	// 60 15 [limit30 stop zone30]
	// synth:de/08-stop#20 stop 3 32 32
	// 40 {8 8 stop and give way}
}
