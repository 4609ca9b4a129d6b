package synth_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/synth"
)

// Street scenes written as a COCO set, read back, and cut to a 2-shot
// sample: two annotated images per class.
func ExampleWriteScenes() {
	scenes, err := synth.NewScenes(synth.SceneConfig{
		Country: "de", Classes: []string{"stop", "limit50", "yield"},
		Images: 12, Width: 160, Height: 120, Seed: 4, Shift: 1, Difficulty: 0.5,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "scenes")
	defer os.RemoveAll(dir)
	if err := synth.WriteScenes(context.Background(), scenes, dir, nil); err != nil {
		fmt.Println(err)
		return
	}
	set, err := data.OpenCOCO(filepath.Join(dir, synth.SceneAnnotations), data.DetectionOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	shots, err := data.KShotDetection(set, 2, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	images, _ := data.DetectionClassCounts(shots)
	fmt.Println(set.Len(), set.Classes(), len(set.Boxes(0)) == len(scenes.Boxes(0)))
	fmt.Println(shots.Len() <= 6, images[0] >= 2, images[1] >= 2, images[2] >= 2)
	// Output:
	// 12 [limit50 stop yield] true
	// true true true true
}
