package detect_test

import (
	"fmt"

	"github.com/graftml/graft/detect"
	"github.com/graftml/graft/torch"
)

// A detector's stages are addressed by name, as a classifier's are; its
// outputs are one row per default box.
func ExampleNew() {
	m, err := detect.New("ssd_smallcnn", detect.Config{NumClasses: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Free()
	defaults, _ := m.Defaults(128, 128)
	s := torch.NewScope()
	defer s.Close()
	x := s.Track(torch.Zeros(1, 3, 128, 128))
	var reg, logits *torch.Tensor
	torch.NoGrad(func() { reg, logits = m.Forward(x, false) })
	fmt.Println(m.StageNames())
	fmt.Println(len(defaults), reg.Shape(), logits.Shape())
	// Output:
	// [stage1 stage2 stage3 extra1 extra2 head]
	// 1344 [1 1344 4] [1 1344 3]
}
