package strategy

import "github.com/graftml/graft/fit"

// Probe trains a new head on the frozen base: the network as a fixed
// feature extractor.
var Probe = &Def{
	Name:        "probe",
	Doc:         "base frozen, new head: the network as a fixed feature extractor",
	HeadOnly:    true,
	MinPerClass: MinPerClassHead,
	Families:    FrozenFeatures,
	Phases: func(l Layout) []fit.Phase {
		return []fit.Phase{{Name: "probe", Epochs: l.Epochs, StageLR: l.HeadOnly()}}
	},
}

// Truncate keeps the first K stages, frozen, and trains a new head on
// their pooled features: a probe at an earlier cut, for targets whose
// later features are too specific to the source.
var Truncate = &Def{
	Name:        "truncate",
	Doc:         "keep the first K stages (frozen), pool, new head: small and different target sets",
	HasArg:      true,
	HeadOnly:    true,
	Cuts:        true,
	MinPerClass: MinPerClassHead,
	Families:    EarlyLayers,
	Phases: func(l Layout) []fit.Phase {
		// After the cut the model has K stages and a head.
		r := make([]float64, l.K+1)
		r[l.K] = 1
		return []fit.Phase{{Name: "truncate", Epochs: l.Epochs, StageLR: r}}
	},
}
