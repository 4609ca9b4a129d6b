package report

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
)

func TestHumanCount(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0"}, {850, "850"}, {999, "999"}, {1000, "1.0k"}, {5130, "5.1k"}, {99_949, "99.9k"},
		{545_098, "545k"}, {999_960, "1.0M"}, {11_181_642, "11.2M"}, {138_357_544, "138M"}, {1_500_000_000, "1.5B"},
	}
	for _, tt := range tests {
		if got := humanCount(tt.n); got != tt.want {
			t.Errorf("humanCount(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestShotsOrder(t *testing.T) {
	r := &experiment.Results{Spec: experiment.Spec{Shots: []int{0, 20, 5}}}
	if got, want := shotsOrder(r), []int{5, 20, 0}; !slices.Equal(got, want) {
		t.Errorf("shotsOrder = %v, want %v (few shots first, all last)", got, want)
	}
}

// outputs renders everything but the plot bytes, for comparisons.
func outputs(t *testing.T, r *experiment.Results) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, f := range map[string]func(io.Writer, *experiment.Results) error{
		"leaderboard": Leaderboard, "markdown": Markdown, "csv": WriteCSV,
		"html": func(w io.Writer, r *experiment.Results) error { return HTML(w, r, placeholderFigures(t, r)) },
	} {
		var b bytes.Buffer
		if err := f(&b, r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out[name] = b.String()
	}
	return out
}

// TestOrderIndependent: results.json's order of runs, summaries and
// winners must not change any output.
func TestOrderIndependent(t *testing.T) {
	want := outputs(t, fixture())
	r := fixture()
	slices.Reverse(r.Runs)
	slices.Reverse(r.Summary)
	slices.Reverse(r.Winners)
	got := outputs(t, r)
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s changed when results.json lists things in another order", name)
		}
	}
}

// TestSummaryFallback: a results.json without summaries (a partial one)
// gives the same tables, from the runs.
func TestSummaryFallback(t *testing.T) {
	want := outputs(t, fixture())
	r := fixture()
	r.Summary = nil
	got := outputs(t, r)
	for _, name := range []string{"leaderboard", "markdown", "csv"} {
		if got[name] != want[name] {
			t.Errorf("%s differs without summaries:\n%s\nwant:\n%s", name, got[name], want[name])
		}
	}
}

func TestPlots(t *testing.T) {
	tests := []struct {
		name  string
		r     func() *experiment.Results
		names []string
	}{
		{"fixture", fixture, []string{"learning-curves-10-shot", "learning-curves-all", "accuracy-vs-shots", "epoch-time", "confusion-10-shot", "confusion-all"}},
		{"one shots setting", func() *experiment.Results {
			r := fixture()
			r.Spec.Shots = []int{10}
			r.Runs = slices.DeleteFunc(r.Runs, func(x experiment.Run) bool { return x.Shots != 10 })
			r.Summary = slices.DeleteFunc(r.Summary, func(x experiment.Summary) bool { return x.Shots != 10 })
			r.Winners = r.Winners[:1]
			return r
		}, []string{"learning-curves-10-shot", "epoch-time", "confusion-10-shot"}},
		{"no history or confusion", func() *experiment.Results {
			r := fixture()
			for i := range r.Runs {
				r.Runs[i].History = nil
				r.Runs[i].TrainSeconds = 0
			}
			r.Winners = nil
			return r
		}, []string{"accuracy-vs-shots"}},
		{"many classes", func() *experiment.Results {
			r := fixture()
			n := 25
			r.Spec.Classes = nil
			m := make([][]int, n)
			for i := range m {
				m[i] = make([]int, n)
				m[i][i], m[i][(i+1)%n] = 9, 1
				r.Spec.Classes = append(r.Spec.Classes, fmt.Sprintf("class %d", i))
			}
			r.Winners = []experiment.Winner{{Shots: 0, Strategy: "finetune", Confusion: m}}
			return r
		}, []string{"learning-curves-10-shot", "learning-curves-all", "accuracy-vs-shots", "epoch-time", "confusion-all"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			figs, err := Plots(tt.r())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range figs {
				names = append(names, f.Name)
				if !bytes.HasPrefix(f.SVG, []byte("<?xml")) && !bytes.HasPrefix(f.SVG, []byte("<svg")) {
					t.Errorf("%s: SVG starts %q", f.Name, f.SVG[:min(20, len(f.SVG))])
				}
				if !bytes.Contains(f.SVG, []byte("</svg>")) {
					t.Errorf("%s: SVG is not closed", f.Name)
				}
				if !bytes.HasPrefix(f.PNG, []byte("\x89PNG\r\n\x1a\n")) {
					t.Errorf("%s: PNG lacks the PNG signature", f.Name)
				}
				if f.Caption == "" || f.Title == "" {
					t.Errorf("%s: no title or caption", f.Name)
				}
			}
			if !slices.Equal(names, tt.names) {
				t.Errorf("figures %q, want %q", names, tt.names)
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	as := Answers(fixture())
	if len(as) != 2 {
		t.Fatalf("%d answers, want one per shots setting", len(as))
	}
	tests := []struct {
		shots int
		field string
		want  string
	}{
		{10, "headline", "freeze:3 won with 83.0% mean test accuracy (± 1.4 over 2 seeds), 4.5 points ahead of finetune and 42.0 points ahead of training from scratch."},
		{10, "reasons", "scratch's larger gap means it overfits its training images more than freeze:3 does."},
		{10, "notes", "scratch: 1 of 2 runs diverged; the means leave it out."},
		{10, "notes", "freeze:3 and scratch chose the largest learning rate of the grid (0.001) in every run; a larger one might do better."},
		{10, "budget", ""},
		{0, "headline", "Training from scratch was the runner-up."},
		{0, "budget", "Budget too small: runs were still improving when the 5-epoch budget ran out (scratch: 1 of 2)"},
		{0, "budget", "Rerun the comparison with more epochs (for example 10 instead of 5) to see whether the ranking holds."},
		{0, "reasons", "overfitting does not separate these strategies"},
		{0, "reasons", "A run's seconds include its learning-rate search (3 rates)."},
	}
	for _, tt := range tests {
		var a Answer
		for _, x := range as {
			if x.Shots == tt.shots {
				a = x
			}
		}
		got := map[string]string{"headline": a.Headline, "reasons": strings.Join(a.Reasons, "\n"),
			"notes": strings.Join(a.Notes, "\n"), "budget": a.Budget}[tt.field]
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("shots %d %s = %q, want it to contain %q", tt.shots, tt.field, got, tt.want)
		}
	}
}

// TestAllFailed: a strategy with no successful run is listed, unranked,
// and never the winner.
func TestAllFailed(t *testing.T) {
	r := fixture()
	for i := range r.Runs {
		if r.Runs[i].Strategy == "freeze:3" && r.Runs[i].Shots == 10 {
			r.Runs[i].Status, r.Runs[i].Error = "failed", "out of memory"
		}
	}
	r.Summary, r.Winners = nil, nil
	var b bytes.Buffer
	if err := Leaderboard(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "* 1  finetune") || !strings.Contains(b.String(), "—  freeze:3  ") {
		t.Errorf("finetune should win and freeze:3 be unranked:\n%s", b.String())
	}
	a := Answers(r)[0]
	if !strings.Contains(strings.Join(a.Notes, " "), "freeze:3: 2 of 2 runs failed; no run succeeded, so it is not ranked. First error: out of memory") {
		t.Errorf("notes %q", a.Notes)
	}
}

func TestHTMLSelfContained(t *testing.T) {
	r := fixture()
	figs, err := Plots(r)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := HTML(&b, r, figs); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, bad := range []string{"<script", "<link", "src=", "href=", "<?xml", "@import", "url(http"} {
		if strings.Contains(page, bad) {
			t.Errorf("report.html contains %q: it must need nothing but itself", bad)
		}
	}
	if n := strings.Count(page, "<svg"); n != len(figs) {
		t.Errorf("%d inline SVGs, want %d", n, len(figs))
	}
}

// TestEmpty: an empty or nearly empty results.json gives output, not a
// panic.
func TestEmpty(t *testing.T) {
	for _, r := range []*experiment.Results{{}, {Spec: experiment.Spec{Shots: []int{5}, Strategies: []string{"finetune"}}}} {
		figs, err := Plots(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(figs) != 0 {
			t.Errorf("%d figures from no runs", len(figs))
		}
		for _, f := range []func(io.Writer, *experiment.Results) error{Leaderboard, Markdown, WriteCSV,
			func(w io.Writer, r *experiment.Results) error { return HTML(w, r, figs) }} {
			if err := f(io.Discard, r); err != nil {
				t.Error(err)
			}
		}
		Answers(r)
	}
}
