package report

import (
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/graftml/graft/experiment"
)

// A comparison of detectors (spec.task "detect") ranks strategies by
// mAP@0.5 in the fields where classifiers have accuracy (test_accuracy,
// the summaries' means and intervals, the winners' margins), so the
// report's tables, answers and plots are the classifiers' with the words
// changed here. What means nothing for a detector is left out rather
// than shown empty: macro-F1, training accuracy (the loop does not
// measure it, so there is no train−validation gap either) and confusion
// matrices. What only detectors have is added: mAP@[.5:.95], AP@0.5 per
// class, multibox-loss curves and example detections.

// taskDetect is spec.task for a comparison of detectors.
const taskDetect = "detect"

// detect reports whether the results are a comparison of detectors.
func (v *view) detect() bool { return v.R.Spec.Task == taskDetect }

// score names, in sentences, what strategies are ranked by.
func (v *view) score() string {
	if v.detect() {
		return "mAP@0.5"
	}
	return "accuracy"
}

// meanMAP is the mean mAP@[.5:.95] over the entry's successful runs;
// false when it has none.
func meanMAP(e *entry) (float64, bool) {
	if len(e.OK) == 0 {
		return 0, false
	}
	var sum float64
	for _, r := range e.OK {
		sum += r.MAP
	}
	return sum / float64(len(e.OK)), true
}

// mapCell is the leaderboard's mAP@[.5:.95] column.
func mapCell(e *entry) string {
	m, ok := meanMAP(e)
	if !ok {
		return "—"
	}
	return pct(m)
}

// meanClassAP averages each class's AP@0.5 over the entry's successful
// runs, skipping the runs whose test images do not show the class (AP
// -1); has[i] is false when no run shows class i.
func meanClassAP(e *entry, n int) (mean []float64, has []bool) {
	mean, has = make([]float64, n), make([]bool, n)
	count := make([]int, n)
	for _, r := range e.OK {
		for i, ap := range r.ClassAP {
			if i < n && ap >= 0 {
				mean[i] += ap
				count[i]++
			}
		}
	}
	for i := range mean {
		if count[i] > 0 {
			mean[i] /= float64(count[i])
			has[i] = true
		}
	}
	return mean, has
}

// classCount is how many classes the AP lists cover: the spec's classes,
// or the longest list when the spec names none.
func classCount(v *view, es ...*entry) int {
	n := len(v.R.Spec.Classes)
	for _, e := range es {
		for _, r := range e.OK {
			n = max(n, len(r.ClassAP))
		}
	}
	return n
}

// classAPTable is one shots setting's AP@0.5 per class: the winner's
// beside scratch's, each the mean over its successful seeds, and the
// difference. Where the two differ is where pre-training helped or hurt.
// nil when neither has AP per class.
func classAPTable(v *view, g *group) *table {
	w := g.Winner
	if w == nil {
		return nil
	}
	cols := []*entry{w}
	if sc := g.scratch(); sc != nil && sc != w && sc.succeeded() {
		cols = append(cols, sc)
	}
	if !slices.ContainsFunc(cols, func(e *entry) bool {
		return slices.ContainsFunc(e.OK, func(r experiment.Run) bool { return len(r.ClassAP) > 0 })
	}) {
		return nil
	}
	n := classCount(v, cols...)
	t := &table{Header: []string{"class"}, Align: []align{alignLeft}}
	means := make([][]float64, len(cols))
	has := make([][]bool, len(cols))
	for i, e := range cols {
		head := e.Strategy + " AP@0.5 %"
		if i == 0 {
			head = e.Strategy + " (winner) AP@0.5 %"
		}
		t.Header = append(t.Header, head)
		t.Align = append(t.Align, alignRight)
		means[i], has[i] = meanClassAP(e, n)
	}
	if len(cols) == 2 {
		t.Header = append(t.Header, "winner − scratch (points)")
		t.Align = append(t.Align, alignRight)
	}
	for c := 0; c < n; c++ {
		name := strconv.Itoa(c)
		if c < len(v.R.Spec.Classes) {
			name = v.R.Spec.Classes[c]
		}
		cells := []string{name}
		for i := range cols {
			cell := "—"
			if has[i][c] {
				cell = pct(means[i][c])
			}
			cells = append(cells, cell)
		}
		if len(cols) == 2 {
			diff := "—"
			if has[0][c] && has[1][c] {
				diff = signedPoints(means[0][c] - means[1][c])
			}
			cells = append(cells, diff)
		}
		t.add(markNone, cells...)
	}
	return t
}

// Example is one run's detections drawn on its first test images: a
// contact sheet that graft compare saves beside results.json, at
// ExamplePath. report.html shows the winner's and scratch's of every
// shots setting.
type Example struct {
	Strategy    string
	Shots, Seed int
	PNG         []byte
}

// ExamplePath is where a run's example detections are, relative to the
// comparison's folder, with '/' separators: the executor's file
// (experiment.ExamplesFile), so the two never disagree.
func ExamplePath(strategy string, shots, seed int) string {
	return filepath.ToSlash(experiment.ExamplesFile(strategy, shots, seed))
}

// fileStrategy writes a strategy name as a file name or HTML id can hold it.
func fileStrategy(strategy string) string {
	return strings.NewReplacer(":", "_", "+", "_").Replace(strategy)
}

// ReadExamples reads, from a comparison's folder, the example detections
// report.html shows: for each shots setting, the winner's and then
// scratch's, each of seed 1 or else of its lowest successful seed that
// has a file. Runs without a file (older comparisons) are skipped, and
// classifiers have none.
func ReadExamples(dir string, r *experiment.Results) ([]Example, error) {
	v := newView(r)
	if !v.detect() {
		return nil, nil
	}
	var out []Example
	for _, g := range v.Groups {
		for _, e := range exampleEntries(g) {
			for _, seed := range exampleSeeds(e) {
				p := filepath.Join(dir, filepath.FromSlash(ExamplePath(e.Strategy, g.Shots, seed)))
				b, err := os.ReadFile(p)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					return nil, fmt.Errorf("read example detections: %w", err)
				}
				out = append(out, Example{Strategy: e.Strategy, Shots: g.Shots, Seed: seed, PNG: b})
				break
			}
		}
	}
	return out, nil
}

// exampleEntries are the strategies whose detections the report shows
// for a shots setting: the winner and scratch.
func exampleEntries(g *group) []*entry {
	var out []*entry
	if g.Winner != nil {
		out = append(out, g.Winner)
	}
	if sc := g.scratch(); sc != nil && sc != g.Winner && sc.succeeded() {
		out = append(out, sc)
	}
	return out
}

// exampleSeeds are an entry's successful seeds in the order to look for
// a drawing: seed 1 first, then the others from the lowest.
func exampleSeeds(e *entry) []int {
	var seeds []int
	for _, r := range e.OK {
		seeds = append(seeds, r.Seed)
	}
	slices.Sort(seeds)
	seeds = slices.Compact(seeds)
	if i := slices.Index(seeds, 1); i > 0 {
		seeds = append([]int{1}, slices.Delete(seeds, i, i+1)...)
	}
	return seeds
}

// htmlExamplesOf places one shots setting's example detections in the
// page, the winner's first.
func htmlExamplesOf(g *group, examples []Example) htmlExamples {
	out := htmlExamples{Title: shotsTitle(g.Shots)}
	for _, e := range exampleEntries(g) {
		for _, x := range examples {
			if x.Shots != g.Shots || x.Strategy != e.Strategy || len(x.PNG) == 0 {
				continue
			}
			role := "the winner"
			if e != g.Winner {
				role = "the baseline trained from scratch"
			}
			what := fmt.Sprintf("%s, %s, seed %d", e.Strategy, role, x.Seed)
			out.Images = append(out.Images, htmlImage{
				ID:      "detections-" + shotsSlug(g.Shots) + "-" + fileStrategy(e.Strategy),
				Alt:     "Detections of " + what + ", on the first test images",
				Caption: what + ": its detections on the first test images, with " + lowerFirst(shotsTitle(g.Shots)) + ".",
				// The bytes are the file's, and a data URL of a PNG runs no code.
				Src: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(x.PNG)),
			})
			break
		}
	}
	return out
}
