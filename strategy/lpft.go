package strategy

import "github.com/graftml/graft/fit"

// LPFT is Keras' two-phase recipe (Kumar et al., 2022): a linear probe,
// then fine-tuning everything at a low rate from the probed head.
var LPFT = &Def{
	Name:        "lpft",
	Doc:         "linear probe until validation stops improving, then fine-tune everything at a low rate",
	TakesL2SP:   true,
	MinPerClass: MinPerClassRegularised,
	Families:    FrozenFeatures | GentleFinetune,
	Phases: func(l Layout) []fit.Phase {
		// The probe phase ends when validation stops improving
		// (patience), leaving the rest of the budget to fine-tune
		// everything at a low rate.
		probe := max(1, l.Epochs/2)
		return []fit.Phase{
			{Name: "probe", Epochs: probe, StageLR: l.HeadOnly()},
			{Name: "finetune", Epochs: max(1, l.Epochs-probe), StageLR: l.Rates(func(int) float64 { return BodyRate }), LRScale: 1},
		}
	},
}
