package report

import (
	"math"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/fit"
)

// fixture is a small schema-2 comparison with every case the report
// handles: three strategies (one of them scratch), two shots settings
// (one of them "all"), two seeds, five-epoch histories, one diverged run,
// runs cut off while still improving on smoothed validation (one of them
// before its last epoch), the refit protocol, learning rates found by
// extending the grid (one still at the edge of the extended grid), a
// class short of images, accuracy intervals, and a winner tied with a
// rival at 10 shots but clear of every rival with all images.
func fixture() *experiment.Results {
	r := fixtureV1()
	r.Schema = experiment.SchemaVersion
	r.Spec.Protocol, r.Spec.Folds = experiment.ProtocolRefit, 3
	r.ShortClasses = []experiment.ShortClasses{{Shots: 10, Count: 1, Classes: []string{"no-entry"}, Fewest: 7}}
	// extend adds rates beyond the grid to a run, choosing the first.
	extend := func(run *experiment.Run, chosen bool, rates ...float64) {
		run.LRExtended = rates
		for i, x := range rates {
			run.LRSearch = append(run.LRSearch, experiment.LRTrial{LR: x, Epochs: 2, Status: "ok", ValAcc: round3(run.History[run.BestEpoch-1].ValAcc - 0.02*float64(i))})
		}
		if chosen {
			run.LR = rates[0]
		}
	}
	for i := range r.Runs {
		run := &r.Runs[i]
		if !isOK(*run) {
			continue
		}
		images, folds := 40, 3
		if run.Shots == 0 {
			images, folds = 1200, 1 // plenty: one split
		}
		switch {
		case run.Strategy == "freeze:3" && run.Shots == 10 && run.Seed == 1:
			extend(run, true, 3e-3, 1e-2) // chosen inside the extension
		case run.Strategy == "freeze:3" && run.Shots == 10 && run.Seed == 2:
			extend(run, false, 3e-3) // tried, not chosen
		case run.Strategy == "scratch" && run.Shots == 10:
			extend(run, true, 3e-3) // still the largest rate tried
		case run.Strategy == "finetune" && run.Shots == 0 && run.Seed == 2:
			extend(run, true, 3e-5)
		}
		secs := run.History[0].Seconds
		run.Selection = &experiment.Selection{Folds: folds, ValImages: images, Epochs: run.BestEpoch,
			ValAcc: run.History[run.BestEpoch-1].ValAcc, Smoothing: 3, MinEpochs: 2}
		run.Refit = &experiment.Refit{Images: images, Epochs: run.BestEpoch, LR: run.LR, Seconds: round3(float64(run.BestEpoch) * secs)}
		run.PreciseBN = true
		run.CutOff = !run.Converged
		// The arithmetic: a frozen base trains a fraction of a full one's.
		perEpoch := map[string]float64{"freeze:3": 0.9, "finetune": 4.5, "scratch": 4.5}[run.Strategy]
		run.TrainGFLOP = round3(perEpoch * float64(len(run.History)*(folds*len(run.LRSearch)+1)))
		if run.Strategy == "finetune" && run.Shots == 10 && run.Seed == 1 {
			// Smoothed validation was still rising though epoch 4 was the
			// best: schema 2 says cut off where schema 1 would not.
			run.CutOff = true
		}
	}
	r.Summary = nil
	for _, st := range r.Spec.Strategies {
		for _, shots := range r.Spec.Shots {
			s := summarize(st, shots, runsOf(r, st, shots), r.Spec.Protocol)
			s.CILow = round3(s.MeanAccuracy - 0.02 - s.StdAccuracy)
			s.CIHigh = round3(min(1, s.MeanAccuracy+0.02+s.StdAccuracy))
			r.Summary = append(r.Summary, s)
		}
	}
	r.Winners[0].Tied = []string{"finetune"}
	r.Winners[0].Margins = []experiment.Margin{
		{Strategy: "finetune", Diff: 0.045, Low: -0.012, High: 0.101, Tied: true},
		{Strategy: "scratch", Diff: 0.42, Low: 0.35, High: 0.49},
	}
	r.Winners[1].Tied = []string{}
	r.Winners[1].Margins = []experiment.Margin{
		{Strategy: "scratch", Diff: 0.075, Low: 0.031, High: 0.118},
		{Strategy: "freeze:3", Diff: 0.08, Low: 0.042, High: 0.121},
	}
	return r
}

// fixtureV1 is the same comparison as a schema-1 file: holdout, no
// protocol, intervals, ties, refits or grid extensions.
func fixtureV1() *experiment.Results {
	r := &experiment.Results{
		Schema:  1,
		Command: "graft compare --from be-smallcnn --train synth/de/train --test synth/de/test --strategies finetune,freeze:3,scratch --shots 10,all --seeds 2 --epochs 5",
		Spec: experiment.Spec{
			Base: "be-smallcnn", Arch: "smallcnn", Train: "synth/de/train", Test: "synth/de/test",
			Classes:    []string{"stop", "yield", "speed-30", "no-entry"},
			Strategies: []string{"finetune", "freeze:3", "scratch"},
			Shots:      []int{10, 0}, Seeds: 2, Epochs: 5,
			LRGrid: []float64{1e-3, 3e-4, 1e-4},
		},
		Env: experiment.Env{Graft: "v0.3.0-dev", Torch: "2.5.1", Device: "cpu", Threads: 2,
			Commit: "9f81211", Started: "2025-01-15T10:04:05Z"},
	}
	type spec struct {
		strategy string
		shots    int
		seed     int
		final    float64 // validation accuracy at the best epoch
		best     int     // best epoch; 5 with cutOff
		gap      float64 // train − validation at the last epoch
		secs     float64 // per epoch
		params   int64
		lr       float64
		status   string
	}
	const full, head = 545_098, 5_130
	specs := []spec{
		{"finetune", 10, 1, 0.78, 4, 0.12, 0.80, full, 3e-4, "ok"},
		{"finetune", 10, 2, 0.81, 3, 0.14, 0.82, full, 3e-4, "ok"},
		{"freeze:3", 10, 1, 0.83, 4, 0.03, 0.31, head, 1e-3, "ok"},
		{"freeze:3", 10, 2, 0.85, 4, 0.02, 0.29, head, 1e-3, "ok"},
		{"scratch", 10, 1, 0.42, 3, 0.30, 0.78, full, 1e-3, "ok"},
		{"scratch", 10, 2, 0, 0, 0, 0.80, full, 1e-3, "diverged"},
		{"finetune", 0, 1, 0.95, 4, 0.02, 7.9, full, 3e-4, "ok"},
		{"finetune", 0, 2, 0.96, 4, 0.02, 8.1, full, 1e-4, "ok"},
		{"freeze:3", 0, 1, 0.88, 4, 0.01, 2.6, head, 1e-3, "ok"},
		{"freeze:3", 0, 2, 0.87, 3, 0.01, 2.4, head, 1e-3, "ok"},
		{"scratch", 0, 1, 0.86, 5, 0.04, 7.8, full, 1e-3, "ok"},
		{"scratch", 0, 2, 0.90, 4, 0.05, 8.0, full, 1e-3, "ok"},
	}
	for _, s := range specs {
		run := experiment.Run{Strategy: s.strategy, Shots: s.shots, Seed: s.seed, Status: s.status,
			LR: s.lr, TrainableParams: s.params}
		images := 40.0
		if s.shots == 0 {
			images = 1200
		}
		for i, x := range []float64{1e-3, 3e-4, 1e-4} {
			t := experiment.LRTrial{LR: x, Epochs: 2, Status: "ok", ValAcc: round3(s.final - 0.05*math.Abs(float64(i)-1))}
			if s.status == "diverged" {
				t.ValAcc = []float64{0, 0.38, 0.31}[i]
				if x == 1e-3 {
					t.Status = "diverged"
				}
			}
			run.LRSearch = append(run.LRSearch, t)
		}
		if s.status == "diverged" {
			run.Error = "training diverged: loss is NaN at epoch 3, step 2; lower the learning rate (--lr 0.001 now) or add gradient clipping (--clip)"
			run.Epochs = 2
			run.History = history(0.3, 1, 0.2, 2, s.secs, images)
			run.TrainSeconds = round3(3 * 2 * s.secs)
			r.Runs = append(r.Runs, run)
			continue
		}
		run.History = history(s.final, s.best, s.gap, 5, s.secs, images)
		run.Epochs, run.BestEpoch = 5, s.best
		run.Converged = s.best < 5
		run.TestAccuracy = round3(s.final - 0.01)
		run.MacroF1 = round3(s.final - 0.03)
		// Each of the three rates of the grid trains for five epochs.
		run.TrainSeconds = round3(3*5*s.secs + 0.4)
		run.ImgPerSec = math.Round(images / s.secs)
		r.Runs = append(r.Runs, run)
	}
	for _, st := range r.Spec.Strategies {
		for _, shots := range r.Spec.Shots {
			r.Summary = append(r.Summary, summarize(st, shots, runsOf(r, st, shots), ""))
		}
	}
	r.Winners = []experiment.Winner{
		{Shots: 10, Strategy: "freeze:3", Accuracy: 0.83,
			Confusion: [][]int{{9, 1, 0, 0}, {1, 8, 1, 0}, {0, 2, 7, 1}, {0, 0, 0, 10}}},
		{Shots: 0, Strategy: "finetune", Accuracy: 0.945,
			Confusion: [][]int{{49, 1, 0, 0}, {0, 48, 2, 0}, {1, 3, 45, 1}, {0, 0, 1, 49}}},
	}
	return r
}

// history rises to final at epoch best and eases off after it, with the
// training accuracy pulling away by gap over the run.
func history(final float64, best int, gap float64, epochs int, secs, images float64) []fit.EpochStats {
	var h []fit.EpochStats
	for e := 1; e <= epochs; e++ {
		val := final - 0.06*float64(best-e)
		if e > best {
			val = final - 0.01*float64(e-best)
		}
		train := val + gap*float64(e)/float64(epochs)
		h = append(h, fit.EpochStats{
			Epoch: e, Phase: "train", TrainLoss: round3(2.5 * (1 - train)), TrainAcc: round3(train),
			ValLoss: round3(2.5 * (1 - val)), ValAcc: round3(val), HasVal: true,
			LR: 1e-3, Seconds: secs, ImgPerSec: math.Round(images / secs),
		})
	}
	return h
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
