package strategy

import "github.com/graftml/graft/fit"

// Discriminative is fastai's discriminative learning rates,
// slice(lr/100, lr): geometric from the stem to the head.
var Discriminative = &Def{
	Name:        "discriminative",
	Doc:         "learning rates spread geometrically over stages, lowest at the stem",
	TakesL2SP:   true,
	MinPerClass: MinPerClassFinetune,
	Families:    GentleFinetune | TrainEverything,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "discriminative", Epochs: l.Epochs, StageLR: l.Spread(100)}}
	},
}
