package strategy

import (
	"fmt"

	"github.com/graftml/graft/fit"
)

// Gradual is ULMFiT's gradual unfreezing: the head first, then one more
// stage from the top per step, the budget split evenly over the steps.
var Gradual = &Def{
	Name:        "gradual",
	Doc:         "unfreeze one more stage from the top at each step of the budget",
	TakesL2SP:   true,
	MinPerClass: MinPerClassFinetune,
	Families:    GentleFinetune | TrainEverything,
	Phases: func(l Layout) []fit.Phase {
		steps := l.Stages
		per := max(1, l.Epochs/steps)
		var out []fit.Phase
		for k := 0; k < steps; k++ {
			e := per
			if k == steps-1 {
				e = max(1, l.Epochs-per*(steps-1))
			}
			out = append(out, fit.Phase{Name: fmt.Sprintf("unfreeze-%d", k), Epochs: e,
				StageLR: l.Rates(func(i int) float64 {
					switch {
					case i == l.Head():
						return 1
					case i >= l.Head()-k:
						return BodyRate
					}
					return 0
				})})
		}
		return out
	},
}
