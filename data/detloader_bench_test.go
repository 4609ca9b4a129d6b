package data_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/synth"
)

// BenchmarkDetectionLoader measures loading and augmenting 320×240 street
// scenes to SSD300's input, the rate CPU training of a detector must not
// wait for: "memory" reads decoded scenes from the loader's cache (the
// augmentation and resize alone), "png" decodes the files graft synth
// --scenes writes on every epoch. One op is an epoch of 64 images; img/s
// is the throughput with GOMAXPROCS workers (run with -cpu 2 for a
// two-core machine).
//
//	go test ./data -run '^$' -bench DetectionLoader -cpu 2 -count 10
func BenchmarkDetectionLoader(b *testing.B) {
	const n = 64
	scenes, err := synth.NewScenes(synth.SceneConfig{Images: n, Seed: 1, Difficulty: 0.5})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	if err := synth.WriteScenes(context.Background(), scenes, dir, nil); err != nil {
		b.Fatal(err)
	}
	files, err := data.OpenCOCO(filepath.Join(dir, synth.SceneAnnotations), data.DetectionOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, src := range []struct {
		name  string
		ds    data.DetectionDataset
		cache bool
	}{
		{"memory", scenes, true},
		{"png", files, false},
	} {
		for _, aug := range []string{"none", "ssd"} {
			b.Run(fmt.Sprintf("source=%s/aug=%s/size=300", src.name, aug), func(b *testing.B) {
				a, err := data.DetectionAugmentPreset(aug)
				if err != nil {
					b.Fatal(err)
				}
				l, err := data.NewDetectionLoader(src.ds, data.DetectionLoaderConfig{
					BatchSize: 8, Shuffle: true, Seed: 1, CacheDecoded: src.cache, Augment: a,
					Preprocess: data.Preprocess{Size: 300, Norm: data.NormImageNet},
				})
				if err != nil {
					b.Fatal(err)
				}
				epoch := func(e int) {
					for bt, err := range l.Epoch(context.Background(), e) {
						if err != nil {
							b.Fatal(err)
						}
						bt.Release()
					}
				}
				if src.cache {
					epoch(0) // fill the cache: synthetic scenes are drawn, not decoded
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					epoch(i + 1)
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "img/s")
			})
		}
	}
}
