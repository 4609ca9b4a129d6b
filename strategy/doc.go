// Package strategy defines graft's transfer-learning strategies as values:
// each base strategy is one Def — a name, one line of documentation, a
// plan of training phases (which stages train, at which relative learning
// rate, for how much of the budget) and the traits other packages read
// instead of its name (trains from scratch, trains only a head, cuts the
// model, takes a stage, combines with +l2sp, the images per class it needs,
// the families of the transfer chart it belongs to). The trainer in
// package fit only executes plans.
//
// Strategies and their arguments:
//
//	scratch         same architecture, random initialisation, everything trains
//	probe           base frozen, new head ("ConvNet as fixed feature extractor")
//	freeze:K        the first K stages frozen, the rest and a new head train
//	truncate:K      keep the first K stages (frozen), pool, new head
//	finetune        everything trains, pretrained stages at a tenth of the head's rate
//	lpft            probe until validation stops improving, then fine-tune all at a low rate
//	gradual         unfreeze one more stage from the top each step of the budget
//	discriminative  rates spread geometrically from the head down to the stem
//	l2sp            fine-tune with a penalty pulling weights toward the pretrained ones
//
// K is a count of stages from the input (stem included) or a stage name
// ("stage2": up to and including it). Strategies combine with "+" where it
// makes sense, e.g. "freeze:2+l2sp" or "discriminative+l2sp".
//
// # Adding a strategy
//
// A strategy is one value and nothing else: write a Def in a file of its
// own, add it to Registry in the order reports should show it, and run
// go test ./strategy/... — the shared suite (package strategytest) takes
// every registered strategy through planning, a short training and refit
// through package experiment, graft advise's ordering and story, and
// graft doctor's too-small check. fastai's fine_tune (one epoch on the
// head, then everything with rates from lr/100 at the stem to lr) is:
//
//	var FineTune = &strategy.Def{
//		Name: "fine_tune", Doc: "one epoch on a new head, then everything, rates lr/100 (stem) to lr (head)",
//		MinPerClass: strategy.MinPerClassFinetune, Families: strategy.GentleFinetune, TakesL2SP: true,
//		Phases: func(l strategy.Layout) []fit.Phase {
//			return []fit.Phase{{Name: "head", Epochs: 1, StageLR: l.HeadOnly()},
//				{Name: "all", Epochs: max(1, l.Epochs-1), StageLR: l.Spread(100)}}
//		},
//	}
//
// Example_fineTune runs it. Packages outside strategy never spell a
// strategy's name: they read its traits (s.Def().HeadOnly) or name it
// through its value (strategy.Freeze.At(2).Name is "freeze:2").
package strategy
