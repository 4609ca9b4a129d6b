package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/synth"
	"github.com/graftml/graft/torch"
)

func TestTmpProbe(t *testing.T) {
	torch.TuneAllocator(0)
	torch.SetNumThreads(2)
	train, _, _ := synth.Split(synth.Config{Country: "de", Classes: []string{"shared"}, PerClass: 20, Size: 64, Seed: 5, Shift: 1, Difficulty: 0.5}, 10)
	trainM, _ := data.Materialize(train, 0)
	pre := data.Preprocess{Size: 64, Channels: 3, Norm: data.NormImageNet}
	for r := 0; r < 6; r++ {
		torch.ManualSeed(1)
		m, _ := arch.New("resnet18", arch.Config{NumClasses: 40, InChannels: 3})
		tl, _ := data.NewLoader(trainM, data.LoaderConfig{BatchSize: 32, Shuffle: true, Seed: 1, Preprocess: pre, CacheDecoded: true})
		plan, _ := strategy.Probe.Strategy().Plan(m, strategy.Budget{Epochs: 20})
		cfg := fit.Config{Seed: 1, BatchSize: 32, ChannelsLast: true, Phases: plan.Phases, Optimizer: optim.Config{Name: "adam", LR: 1e-3}}
		start := time.Now()
		res, err := fit.Train(context.Background(), fit.Run{Model: m, Train: tl, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		tot := time.Since(start).Seconds()
		var rest float64
		for _, h := range res.History {
			rest += h.Seconds
		}
		fmt.Printf("total %.2f epochs %.3f\n", tot, rest)
		m.Free()
	}
}
