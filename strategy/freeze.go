package strategy

import "github.com/graftml/graft/fit"

// Freeze keeps the first K stages frozen and fine-tunes the rest.
var Freeze = &Def{
	Name:        "freeze",
	Doc:         "the first K stages frozen, the rest and a new head trained",
	HasArg:      true,
	TakesL2SP:   true,
	MinPerClass: MinPerClassFinetune,
	Families:    EarlyLayers | GentleFinetune,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "freeze", Epochs: l.Epochs, StageLR: l.Rates(func(i int) float64 {
			switch {
			case i < l.K:
				return 0
			case i == l.Head():
				return 1
			}
			return BodyRate
		})}}
	},
}
