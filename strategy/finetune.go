package strategy

import "github.com/graftml/graft/fit"

// Finetune trains everything, the pretrained stages at BodyRate of the
// new head's rate.
var Finetune = &Def{
	Name:        "finetune",
	Doc:         "everything trains, pretrained stages at a tenth of the head's rate",
	TakesL2SP:   true,
	MinPerClass: MinPerClassFinetune,
	Families:    GentleFinetune | TrainEverything,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "finetune", Epochs: l.Epochs, StageLR: l.Body(BodyRate)}}
	},
}

// L2SP fine-tunes like Finetune with a penalty pulling the weights toward
// the pretrained ones (Li, Grandvalet and Davoine, 2018); as a suffix it
// adds that penalty to another strategy.
var L2SP = &Def{
	Name:        "l2sp",
	Doc:         "fine-tune with a penalty pulling weights toward the pretrained ones (L2-SP)",
	L2SP:        true,
	TakesL2SP:   true,
	MinPerClass: MinPerClassRegularised,
	Families:    GentleFinetune,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "l2sp", Epochs: l.Epochs, StageLR: l.Body(BodyRate)}}
	},
}
