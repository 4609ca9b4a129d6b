package data_test

import (
	"context"
	"fmt"

	"github.com/graftml/graft/data"
)

// An in-memory data set of differently sized images, fitted to 8×8 RGB and
// normalised for an ImageNet-pretrained model, read in shuffled batches.
func Example() {
	var images []*data.Image
	var labels []int
	for i := range 6 {
		images = append(images, data.NewImage(1, 10+i, 12))
		labels = append(labels, i%2)
	}
	ds, err := data.NewInMemory(images, labels, []string{"circle", "triangle"})
	if err != nil {
		fmt.Println(err)
		return
	}
	loader, err := data.NewLoader(ds, data.LoaderConfig{
		BatchSize:    4,
		Shuffle:      true,
		Seed:         1,
		Preprocess:   data.Preprocess{Size: 8, Channels: 3, Norm: data.NormImageNet},
		Augment:      data.DefaultAugment(),
		CacheDecoded: true,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for epoch := range 2 {
		for b, err := range loader.Epoch(context.Background(), epoch) {
			if err != nil {
				fmt.Println(err)
				return
			}
			fmt.Printf("epoch %d: x %d×%d×%d×%d, samples %v, labels %v\n", epoch, b.N, b.C, b.H, b.W, b.Index, b.Y)
			b.Release()
		}
	}
	// Output:
	// epoch 0: x 4×3×8×8, samples [0 1 2 4], labels [0 1 0 0]
	// epoch 0: x 2×3×8×8, samples [3 5], labels [1 1]
	// epoch 1: x 4×3×8×8, samples [3 5 0 2], labels [1 1 0 0]
	// epoch 1: x 2×3×8×8, samples [1 4], labels [1 0]
}
