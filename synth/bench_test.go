package synth

import (
	"fmt"
	"testing"
)

// BenchmarkRender measures rendering throughput with all cores, as a data
// loader would use it, and reports images/s.
func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct {
		size int
		diff float64
	}{{32, 0}, {32, 0.5}, {32, 1}, {64, 0.5}} {
		b.Run(fmt.Sprintf("size=%d/difficulty=%g", bc.size, bc.diff), func(b *testing.B) {
			set, err := New(Config{Country: "de", PerClass: 1000, Size: bc.size, Shift: 1, Difficulty: bc.diff, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := set.Image(i % set.Len()); err != nil {
						b.Error(err)
						return
					}
					i += 7
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
