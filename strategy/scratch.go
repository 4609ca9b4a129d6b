package strategy

import "github.com/graftml/graft/fit"

// Scratch trains the same architecture from random initialisation: the
// baseline every transfer has to beat.
var Scratch = &Def{
	Name:        "scratch",
	Doc:         "same architecture, random initialisation, everything trains",
	Scratch:     true,
	MinPerClass: MinPerClassScratch,
	Families:    TrainEverything,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "scratch", Epochs: l.Epochs}}
	},
}
