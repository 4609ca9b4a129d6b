package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// gives the same tables, from the runs; only the accuracy intervals,
// which need the bootstrap, are lost.
func TestSummaryFallback(t *testing.T) {
	for name, fx := range map[string]func() *experiment.Results{"schema 2": fixture, "schema 1": fixtureV1} {
		t.Run(name, func(t *testing.T) {
			r := fx()
			for i := range r.Summary {
				r.Summary[i].CILow, r.Summary[i].CIHigh = 0, 0
			}
			want := outputs(t, r)
			r = fx()
			r.Summary = nil
			got := outputs(t, r)
			for _, name := range []string{"leaderboard", "markdown", "csv"} {
				if got[name] != want[name] {
					t.Errorf("%s differs without summaries:\n%s\nwant:\n%s", name, got[name], want[name])
				}
			}
		})
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
	tests := []struct {
		fixture string
		shots   int
		field   string
		want    string
	}{
		// Schema 2: a tie at 10 shots, a clear winner with all images.
		{"2", 10, "headline", "freeze:3 and finetune are tied: freeze:3 leads by 4.5 points (95% interval \u22121.2 to +10.1); more seeds or more data would separate them."},
		{"2", 10, "headline", "freeze:3 has 83.0% mean test accuracy (95% interval 79.6 to 86.4), +42.0 points over training from scratch (95% interval +35.0 to +49.0)."},
		{"2", 10, "reasons", "scratch's larger gap means it overfits its training images more than freeze:3 does."},
		{"2", 10, "notes", "freeze:3 chose a rate from beyond the grid (extended to 0.01) in 1 of 2 runs (0.003)."},
		{"2", 10, "notes", "scratch chose a rate from beyond the grid (extended to 0.003) in its only successful run (0.003), and it still sits at the largest rate tried; a larger one might do better."},
		{"2", 10, "budget", "still improving on smoothed validation when the 5-epoch budget ran out (finetune: 1 of 2)"},
		{"2", 10, "budget", "finetune is tied with the winner"},
		{"2", 0, "headline", "finetune won with 94.5% mean test accuracy (95% interval 91.8 to 97.2), +7.5 points over scratch (95% interval +3.1 to +11.8). Training from scratch was the runner-up."},
		{"2", 0, "notes", "scratch and freeze:3 chose the largest learning rate of the grid (0.001) in every run; a larger one might do better."},
		{"2", 0, "notes", "finetune chose a rate from beyond the grid (extended to 3e-05) in 1 of 2 runs (3e-05)."},
		{"2", 0, "budget", "still improving on smoothed validation when the 5-epoch budget ran out (scratch: 1 of 2)"},
		// Schema 1: as before schema 2.
		{"1", 10, "headline", "freeze:3 won with 83.0% mean test accuracy (± 1.4 over 2 seeds), 4.5 points ahead of finetune and 42.0 points ahead of training from scratch."},
		{"1", 10, "reasons", "scratch's larger gap means it overfits its training images more than freeze:3 does."},
		{"1", 10, "notes", "scratch: 1 of 2 runs diverged; the means leave it out."},
		{"1", 10, "notes", "freeze:3 and scratch chose the largest learning rate of the grid (0.001) in every run; a larger one might do better."},
		{"1", 10, "budget", ""},
		{"1", 0, "headline", "Training from scratch was the runner-up."},
		{"1", 0, "budget", "Budget too small: runs were still improving when the 5-epoch budget ran out (scratch: 1 of 2)"},
		{"1", 0, "budget", "Rerun the comparison with more epochs (for example 10 instead of 5) to see whether the ranking holds."},
		{"1", 0, "reasons", "overfitting does not separate these strategies"},
		{"1", 0, "reasons", "A run's seconds include its learning-rate search (3 rates)."},
	}
	answers := map[string][]Answer{"2": Answers(fixture()), "1": Answers(fixtureV1())}
	for _, as := range answers {
		if len(as) != 2 {
			t.Fatalf("%d answers, want one per shots setting", len(as))
		}
	}
	for _, tt := range tests {
		var a Answer
		for _, x := range answers[tt.fixture] {
			if x.Shots == tt.shots {
				a = x
			}
		}
		got := map[string]string{"headline": a.Headline, "reasons": strings.Join(a.Reasons, "\n"),
			"notes": strings.Join(a.Notes, "\n"), "budget": a.Budget}[tt.field]
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("schema %s, shots %d %s = %q, want it to contain %q", tt.fixture, tt.shots, tt.field, got, tt.want)
		}
	}
}

// TestSchema1NoTie: a schema-1 file (no protocol, no margins) has a lone
// winner and none of schema 2's wording, even when the means are close.
func TestSchema1NoTie(t *testing.T) {
	r := fixtureV1()
	out := outputs(t, r)
	for _, name := range []string{"leaderboard", "markdown", "html"} {
		for _, bad := range []string{"| tie", "  tie", "Tie:", "are tied", `class="tie"`, `badge tie`,
			"95% interval", "smoothed", "Protocol", "extended", "refit"} {
			if strings.Contains(out[name], bad) {
				t.Errorf("schema-1 %s contains %q", name, bad)
			}
		}
	}
	var b bytes.Buffer
	if err := Leaderboard(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "* 1  freeze:3") || !strings.Contains(b.String(), "Winner: freeze:3, +4.5 points over finetune (runner-up), +42.0 over scratch.") {
		t.Errorf("schema-1 leaderboard lacks its winner:\n%s", b.String())
	}
}

// TestTie: every strategy tied with the winner is marked "tie" in each
// output, the winner included, and none is called the winner.
func TestTie(t *testing.T) {
	r := fixture()
	// Tie freeze:3 with both rivals at 10 shots.
	r.Winners[0].Tied = []string{"finetune", "scratch"}
	r.Winners[0].Margins[1].Low, r.Winners[0].Margins[1].Tied = -0.01, true
	var b bytes.Buffer
	if err := Leaderboard(&b, r); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	tenShots, _, _ := strings.Cut(text, "All training images")
	for _, want := range []string{"= 1  freeze:3", "= 2  finetune", "= 3  scratch",
		"Tie: freeze:3, finetune and scratch; freeze:3 leads finetune by +4.5 points (95% interval \u22121.2 to +10.1) and scratch by +42.0 points (95% interval \u22121.0 to +49.0)."} {
		if !strings.Contains(tenShots, want) {
			t.Errorf("leaderboard lacks %q:\n%s", want, tenShots)
		}
	}
	if strings.Contains(tenShots, "winner") {
		t.Errorf("a tied setting names a winner:\n%s", tenShots)
	}
	a := Answers(r)[0]
	if want := "freeze:3, finetune and scratch are tied: freeze:3 leads finetune by 4.5 points (95% interval \u22121.2 to +10.1) and scratch by 42.0 points (95% interval \u22121.0 to +49.0); more seeds or more data would separate them."; !strings.HasPrefix(a.Headline, want) {
		t.Errorf("headline %q, want it to start %q", a.Headline, want)
	}
	html := outputs(t, r)["html"]
	if n := strings.Count(html, `<span class="badge tie">tie</span>`); n != 3 {
		t.Errorf("%d tie badges in the HTML, want 3", n)
	}
	if n := strings.Count(html, `<tr class="tie">`); n != 3 {
		t.Errorf("%d tied rows in the HTML, want 3", n)
	}
}

// TestCutOffBySchema: schema 2 takes "cut off" from the run's cut_off,
// schema 1 from converged.
func TestCutOffBySchema(t *testing.T) {
	for _, tt := range []struct {
		protocol          string
		converged, cutOff bool
		want              bool
	}{
		{"", false, false, true},
		{"", true, true, false},
		{experiment.ProtocolRefit, false, false, false},
		{experiment.ProtocolRefit, true, true, true},
		{experiment.ProtocolHoldout, true, true, true},
	} {
		r := &experiment.Results{
			Spec: experiment.Spec{Strategies: []string{"finetune"}, Shots: []int{5}, Seeds: 1, Epochs: 3, Protocol: tt.protocol},
			Runs: []experiment.Run{{Strategy: "finetune", Shots: 5, Seed: 1, Status: "ok", TestAccuracy: 0.5,
				Epochs: 3, BestEpoch: 2, Converged: tt.converged, CutOff: tt.cutOff}},
		}
		var b bytes.Buffer
		if err := Leaderboard(&b, r); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "cut off 1/1"); got != tt.want {
			t.Errorf("protocol %q, converged %v, cut_off %v: cut off shown %v, want %v:\n%s",
				tt.protocol, tt.converged, tt.cutOff, got, tt.want, b.String())
		}
		if got := strings.Contains(outputs(t, r)["html"], `<span class="badge warn">cut off</span>`); got != tt.want {
			t.Errorf("protocol %q, converged %v, cut_off %v: runs table cut off %v, want %v", tt.protocol, tt.converged, tt.cutOff, got, tt.want)
		}
	}
}

func TestShortClassesLine(t *testing.T) {
	var names []string
	for i := range 11 {
		names = append(names, fmt.Sprintf("c%d", i))
	}
	v := newView(&experiment.Results{ShortClasses: []experiment.ShortClasses{
		{Shots: 1, Count: 1, Classes: []string{"stop"}, Fewest: 0},
		{Shots: 50, Count: 12, Classes: names, Fewest: 3},
	}})
	for _, tt := range []struct {
		shots int
		want  string
	}{
		{1, "1 shot: 1 class had fewer images and gave all it had (fewest: 0): stop."},
		{50, "50 shots: 12 classes had fewer images and gave all they had (fewest: 3): c0, c1, c2, c3, c4, c5, c6, c7, … (4 more)."},
		{10, ""},
	} {
		if got := shortClassesLine(v, tt.shots); got != tt.want {
			t.Errorf("shots %d: %q, want %q", tt.shots, got, tt.want)
		}
	}
}

func TestProtocolLine(t *testing.T) {
	r := fixture()
	if got, want := protocolLine(newView(r)), "Protocol: refit — each strategy's rate and length chosen on validation (up to 3 folds), then retrained on every shot; test accuracy is that model's."; !strings.HasPrefix(got, want) {
		t.Errorf("protocol line %q, want it to start %q", got, want)
	}
	r.Spec.Protocol = experiment.ProtocolHoldout
	if got := protocolLine(newView(r)); !strings.HasPrefix(got, "Protocol: holdout") {
		t.Errorf("holdout protocol line %q", got)
	}
	if got := protocolLine(newView(fixtureV1())); got != "" {
		t.Errorf("schema 1 has a protocol line %q; its leaderboard must stay as it was", got)
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

// TestSchema1File: a schema-1 results.json read back with
// experiment.ReadResults (which names its protocol holdout and derives
// cut_off from converged) renders exactly as the schema-1 Results does.
func TestSchema1File(t *testing.T) {
	b, err := json.Marshal(fixtureV1())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := experiment.ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	want, got := outputs(t, fixtureV1()), outputs(t, r)
	for name := range want {
		if got[name] != want[name] {
			t.Errorf("%s of a schema-1 file read back differs:\n%s\nwant:\n%s", name, got[name], want[name])
		}
	}
}
