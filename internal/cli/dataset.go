package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/graftml/graft/data"
)

// openTrainSet opens a --train argument for training (data.OpenTraining).
func openTrainSet(spec string, workers int) (data.Dataset, error) {
	ds, err := data.OpenTraining(spec, workers)
	if err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	return ds, nil
}

// openTest opens the evaluation data a flag names: the test part of sets
// that ship both.
func openTest(flag, spec string) (data.Dataset, error) {
	ds, err := data.Open(spec, data.TestPart)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return ds, nil
}

func nativeShape(ds data.Dataset) (c, h, w int, err error) { return data.NativeShape(ds) }

// noteGaps says on w that numbered class folders skip numbers: those
// classes stay in the model with no image (see package data).
func noteGaps(w io.Writer, quiet bool, flag string, ds data.Dataset) {
	gaps := data.Gaps(ds)
	if quiet || len(gaps) == 0 {
		return
	}
	fmt.Fprintf(w, "note: %s's numbered class folders skip %s: the model keeps those %d of its %d classes, with no image to learn them from; renumber the folders 0..%d without gaps to drop them\n",
		flag, strings.Join(limitNames(gaps, 8), ", "), len(gaps), len(ds.Classes()), len(ds.Classes())-len(gaps)-1)
}

// sameClasses checks that an evaluation set labels classes as the model
// does. A class named by its number (a folder 05 read without classes.csv)
// matches any name.
func sameClasses(model, ds []string, what string) error {
	if len(ds) > len(model) {
		return fmt.Errorf("%s has %d classes but the model knows %d (%s): evaluate on data with the model's classes", what, len(ds), len(model), strings.Join(limitNames(model, 6), ", "))
	}
	isNumber := func(name string, i int) bool { n, err := strconv.Atoi(name); return err == nil && n == i }
	for i := range ds {
		if ds[i] != model[i] && !isNumber(ds[i], i) && !isNumber(model[i], i) {
			return fmt.Errorf("%s: class %d is %q, the model's class %d is %q; class folders must match the training set's", what, i, ds[i], i, model[i])
		}
	}
	return nil
}

func limitNames(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), "…")
}

// parseAugment reads an --augment value.
func parseAugment(s string) (data.Augment, error) {
	if s == "" {
		s = "none"
	}
	a, err := data.AugmentPreset(s)
	if err != nil {
		return a, fmt.Errorf("--augment: %w", err)
	}
	return a, nil
}

// openDataset is data.Open for setupTrain, which the shared model builder
// replaces; train selects the training part.
func openDataset(spec string, train bool) (data.Dataset, error) {
	if train {
		return data.Open(spec, data.TrainPart)
	}
	return data.Open(spec, data.TestPart)
}
