package experiment

import "github.com/graftml/graft/fit"

type (
	fitStep  = fit.StepInfo
	fitEpoch = fit.EpochStats
)
