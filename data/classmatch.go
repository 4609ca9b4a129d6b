package data

import (
	"fmt"
	"strconv"
	"strings"
)

// SameClasses checks that an evaluation set labels classes as a model
// does: ds's classes must be model's, in its order (a prefix of them).
// A class named by its number (a folder 05 read without classes.csv)
// matches any name. what names the evaluation set in the error.
func SameClasses(model, ds []string, what string) error {
	if len(ds) > len(model) {
		return fmt.Errorf("%s has %d classes but the model knows %d (%s): evaluate on data with the model's classes", what, len(ds), len(model), strings.Join(ShortList(model, 6), ", "))
	}
	isNumber := func(name string, i int) bool { n, err := strconv.Atoi(name); return err == nil && n == i }
	for i := range ds {
		if ds[i] != model[i] && !isNumber(ds[i], i) && !isNumber(model[i], i) {
			return fmt.Errorf("%s: class %d is %q, the model's class %d is %q; class folders must match the training set's", what, i, ds[i], i, model[i])
		}
	}
	return nil
}

// ShortList is s cut to its first n names, with "…" for the rest: a list
// short enough for a message.
func ShortList(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), "…")
}

// UnnamedClasses names the n classes of a model whose file names none
// (an imported graph without labels): class0…class{n-1}. A data set's
// names stand in for them when it has n classes (UnnamedCount).
func UnnamedClasses(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("class%d", i)
	}
	return out
}

// UnnamedCount is the class count of a model whose classes have no names
// (UnnamedClasses, or none at all from an older import; numClasses is
// then the count), -1 when they are named.
func UnnamedCount(names []string, numClasses int) int {
	if len(names) == 0 {
		return numClasses
	}
	for i, s := range names {
		if s != fmt.Sprintf("class%d", i) {
			return -1
		}
	}
	return len(names)
}

// EvalClasses is the class list a model is evaluated with on data whose
// classes are ds: the model's own names (numClasses of them), or, when the
// model's classes have no names (UnnamedClasses: imported without labels)
// and the data's do, the data's, in their order, if the counts agree. Data
// whose folders are themselves named class0… is checked as named data is.
// model and data name the two in the error.
func EvalClasses(names []string, numClasses int, ds []string, model, data string) ([]string, error) {
	n := UnnamedCount(names, numClasses)
	if n < 0 || UnnamedCount(ds, 0) >= 0 {
		return names, nil
	}
	if len(ds) != n {
		return nil, fmt.Errorf("%s has %d classes without names (class0…class%d: imported without --labels) and %s has %d classes: evaluate on data with the model's %d classes, in its order, or import again with --labels", model, n, n-1, data, len(ds), n)
	}
	return ds, nil
}
