package fit

import (
	"context"
	"slices"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// prefixTask is a classifier trained as a Task that records the prefixes
// Train asks it to serve.
type prefixTask struct {
	m     *nn.Model
	l     *data.Loader
	calls []int
}

func (p *prefixTask) Batches() int { return p.l.Batches() }
func (p *prefixTask) HasVal() bool { return false }
func (p *prefixTask) Validate(context.Context, Config) (float64, float64, error) {
	return 0, 0, nil
}

func (p *prefixTask) EachTrain(ctx context.Context, epoch int, cfg Config, f func(loss *torch.Tensor, n int) error) error {
	for b, err := range p.l.Epoch(ctx, epoch) {
		if err != nil {
			return err
		}
		s := torch.NewScope()
		x, y := batchTensors(s, b, cfg)
		n := b.N
		b.Release()
		err = f(torch.CrossEntropy(p.m.ForwardRange(x, 0, len(p.m.Stages), true), y, 0), n)
		s.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *prefixTask) SetPrefix(_ context.Context, k int, _ Config) error {
	p.calls = append(p.calls, k)
	return nil
}

// TestSetPrefixCalls checks the k Train gives a PrefixTask at the start of
// every phase (cachedPrefix's rule: the leading stages at rate 0 that no
// earlier phase trained, none when BatchNorm trains or under NoCache) and
// the 0 that frees the cache when Train returns.
func TestSetPrefixCalls(t *testing.T) {
	head := []float64{0, 0, 0, 1} // smallcnn: block1…3, classifier
	all := []float64{1, 1, 1, 1}
	tests := []struct {
		name    string
		phases  []Phase
		noCache bool
		want    []int
	}{
		{name: "probe", phases: []Phase{{Name: "probe", Epochs: 1, StageLR: head}}, want: []int{3, 0}},
		{name: "freeze one", phases: []Phase{{Name: "freeze", Epochs: 1, StageLR: []float64{0, 1, 1, 1}}}, want: []int{1, 0}},
		{name: "no cache", phases: []Phase{{Name: "probe", Epochs: 1, StageLR: head}}, noCache: true, want: []int{0, 0}},
		{name: "BatchNorm trains", phases: []Phase{{Name: "probe", Epochs: 1, StageLR: head, TrainBN: true}}, want: []int{0, 0}},
		{name: "default phase", phases: []Phase{{Name: "all", Epochs: 1}}, want: []int{0, 0}},
		{name: "lpft", phases: []Phase{{Name: "probe", Epochs: 1, StageLR: head}, {Name: "finetune", Epochs: 1, StageLR: all}},
			want: []int{3, 0, 0}},
		{name: "gradual", phases: []Phase{{Name: "1", Epochs: 1, StageLR: head}, {Name: "2", Epochs: 1, StageLR: []float64{0, 0, 1, 1}}},
			want: []int{3, 2, 0}},
		// Stage 1 trained in the first phase: its old outputs are stale
		// even where the second phase freezes it.
		{name: "refrozen", phases: []Phase{{Name: "1", Epochs: 1, StageLR: []float64{0, 1, 1, 1}}, {Name: "2", Epochs: 1, StageLR: head}},
			want: []int{1, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := model(t, 1)
			task := &prefixTask{m: m, l: loader(t, bars(32, 1), true)}
			cfg := Config{Seed: 1, Phases: tc.phases, Optimizer: optim.Config{Name: "adam", LR: 1e-3}}
			if _, err := Train(context.Background(), Run{Model: m, Task: task, NoCache: tc.noCache, Config: cfg}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(task.calls, tc.want) {
				t.Errorf("SetPrefix calls %v, want %v", task.calls, tc.want)
			}
		})
	}
}
