package data_test

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/synth"
)

// Street scenes read for SSD300 with the paper's augmentation: each batch
// holds normalised 300×300 images and, per image, its boxes in the input's
// pixels with the data set's class index (a detector whose class 0 is the
// background adds 1).
func ExampleDetectionLoader() {
	scenes, err := synth.NewScenes(synth.SceneConfig{Images: 4, Seed: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := data.NewDetectionLoader(scenes, data.DetectionLoaderConfig{
		BatchSize:  2,
		Seed:       1,
		Preprocess: data.Preprocess{Size: 300, Norm: data.NormImageNet},
		Augment:    data.SSDAugment(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for b, err := range l.Epoch(context.Background(), 0) {
		if err != nil {
			fmt.Println(err)
			return
		}
		for j, i := range b.Index {
			fmt.Printf("image %d: %dx%dx%d, %d of %d boxes\n", i, b.C, b.H, b.W, len(b.Boxes[j]), len(scenes.Boxes(i)))
		}
		b.Release()
	}
	// Output:
	// image 0: 3x300x300, 2 of 2 boxes
	// image 1: 3x300x300, 2 of 2 boxes
	// image 2: 3x300x300, 1 of 1 boxes
	// image 3: 3x300x300, 1 of 1 boxes
}
