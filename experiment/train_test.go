package experiment

import (
	"strings"
	"testing"

	"github.com/graftml/graft/fit"
)

func TestChooseEpochs(t *testing.T) {
	val := func(accs ...float64) []fit.EpochStats {
		var h []fit.EpochStats
		for i, a := range accs {
			h = append(h, fit.EpochStats{Epoch: i + 1, ValAcc: a, HasVal: true})
		}
		return h
	}
	for _, c := range []struct {
		name string
		h    []fit.EpochStats
		want int
	}{
		// Epoch 2's lucky 0.9 is alone; 7–10 hold 0.7 together.
		{"one lucky epoch", val(0.2, 0.9, 0.3, 0.4, 0.5, 0.6, 0.7, 0.7, 0.7, 0.6), 9},
		{"plateau takes the longest", val(0.5, 1, 1, 1, 1, 1), 6},
		{"no validation", []fit.EpochStats{{Epoch: 1}}, 0},
	} {
		if got, _ := ChooseEpochs(c.h, RefitSmoothing, 0); got != c.want {
			t.Errorf("%s: %d epochs, want %d", c.name, got, c.want)
		}
	}
}

func TestThousandsAndPlural(t *testing.T) {
	for n, want := range map[int]string{7: "7", 999: "999", 1070: "1,070", 10000: "10,000", 1234567: "1,234,567", -1070: "-1,070"} {
		if got := Thousands(n); got != want {
			t.Errorf("Thousands(%d) = %q, want %q", n, got, want)
		}
	}
	if got := Plural(1, "epoch") + ", " + Plural(3, "epoch"); got != "1 epoch, 3 epochs" {
		t.Errorf("Plural: %q", got)
	}
}

// The refit decision follows the options and the set's size, and says why.
func TestRefitDecision(t *testing.T) {
	for _, tt := range []struct {
		name   string
		o      TrainOptions
		images int
		refit  bool
		reason string
	}{
		{"small set", TrainOptions{Refit: RefitAuto, ValSplit: 0.2}, 1070, true, "1,070 images, at most 10,000 (--refit auto)"},
		{"large set", TrainOptions{Refit: RefitAuto, ValSplit: 0.2}, 10001, false, "more than 10,000"},
		{"never", TrainOptions{Refit: RefitNever, ValSplit: 0.2}, 10, false, "--refit never"},
		{"val given", TrainOptions{Refit: RefitAlways, Val: "v", ValSplit: 0.2}, 10, false, "--val given"},
		{"no split", TrainOptions{Refit: RefitAuto}, 10, false, "no validation split"},
		{"always", TrainOptions{Refit: RefitAlways, ValSplit: 0.2}, 50_000, true, "--refit always"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			refit, reason := tt.o.refitDecision(tt.images)
			if refit != tt.refit || !strings.Contains(reason, tt.reason) {
				t.Errorf("refitDecision(%d) = %v, %q; want %v, %q", tt.images, refit, reason, tt.refit, tt.reason)
			}
		})
	}
}

func TestTrainOptionsValidate(t *testing.T) {
	for _, tt := range []struct {
		o    TrainOptions
		want string // part of the error; "" for none
	}{
		{TrainOptions{}, ""},
		{TrainOptions{Refit: RefitNever}, ""},
		{TrainOptions{Refit: RefitAlways, ValSplit: 0.2}, ""},
		{TrainOptions{Refit: RefitAlways, ValSplit: 0.2, Val: "v"}, "drop --val"},
		{TrainOptions{Refit: RefitAlways}, "--val-split is 0"},
		{TrainOptions{Refit: "sometimes"}, `--refit "sometimes": choose auto, always or never`},
	} {
		err := tt.o.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v: Validate() = %v, want %q", tt.o, err, tt.want)
		}
	}
}
