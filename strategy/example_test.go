package strategy_test

import (
	"fmt"

	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
)

// fastai's fine_tune as a graft strategy: one value. Registered (a line in
// strategy.Registry), graft compare, transfer, advise and doctor would take
// it, and the strategytest suite would run it.
var fineTune = &strategy.Def{
	Name: "fine_tune", Doc: "one epoch on a new head, then everything, rates lr/100 (stem) to lr (head)",
	MinPerClass: strategy.MinPerClassFinetune, Families: strategy.GentleFinetune, TakesL2SP: true,
	Phases: func(l strategy.Layout) []fit.Phase {
		return []fit.Phase{{Name: "head", Epochs: 1, StageLR: l.HeadOnly()},
			{Name: "all", Epochs: max(1, l.Epochs-1), StageLR: l.Spread(100)}}
	},
}

func Example_fineTune() {
	m := &nn.Model{Arch: "smallcnn"}
	for _, name := range []string{"stage1", "stage2", "stage3", "head"} {
		m.Stages = append(m.Stages, &nn.Stage{Name: name})
	}
	p, err := fineTune.Plan(fineTune.Strategy(), m, strategy.Budget{Epochs: 5})
	if err != nil {
		panic(err)
	}
	for _, ph := range p.Phases {
		fmt.Printf("%s: %d epochs, rates %.3g\n", ph.Name, ph.Epochs, ph.StageLR)
	}
	// Output:
	// head: 1 epochs, rates [0 0 0 1]
	// all: 4 epochs, rates [0.01 0.0464 0.215 1]
}

// A strategy that takes a stage is named through its value.
func ExampleDef_At() {
	fmt.Println(strategy.Freeze.At(2).Name, strategy.Truncate.Usage(), strategy.Probe.Strategy().Name)
	// Output: freeze:2 truncate:K probe
}
