package experiment

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/graftml/graft/fit"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// FuzzReadResults feeds results.json files to ReadResults.
func FuzzReadResults(f *testing.F) {
	run := Run{Strategy: "probe", Shots: 5, Seed: 1, Status: "ok", LR: 0.01,
		LRSearch:     []LRTrial{{LR: 0.01, ValAcc: 0.5, Epochs: 3, Status: "ok"}},
		TestAccuracy: 0.75, History: []fit.EpochStats{{Epoch: 1, Phase: "head"}},
		Confusion: [][]int{{3, 1}, {0, 4}}, Selection: &Selection{Folds: 2, Epochs: 3},
		Refit: &Refit{Images: 10, Epochs: 3, LR: 0.01}, TestCorrect: []byte{0xb5}}
	r := Results{Schema: SchemaVersion, Command: "graft compare", Spec: Spec{Base: "base", Classes: []string{"a", "b"},
		Strategies: []string{"probe", "freeze:2"}, Shots: []int{5}, Seeds: 1, LRGrid: []float64{0.01}, Protocol: ProtocolRefit},
		Runs: []Run{run}, Summary: []Summary{{Strategy: "probe", Shots: 5, MeanAccuracy: 0.75, Runs: 1}},
		Winners:      []Winner{{Shots: 5, Strategy: "probe", Accuracy: 0.75, Confusion: run.Confusion, Tied: []string{}}},
		ShortClasses: []ShortClasses{{Shots: 5, Count: 1, Classes: []string{"b"}, Fewest: 3}}}
	for _, schema := range []int{SchemaVersion, 1, 99} {
		r.Schema = schema
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"schema":1,"runs":[{"status":"ok"}],"winners":[{}]}`))
	f.Add([]byte(`{"schema":2,"runs":[{"test_correct":"!!"}]}`))

	path := filepath.Join(f.TempDir(), "results.json")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() {
			r, err := ReadResults(path)
			fuzzcheck.ErrNames(t, err, path)
			if err == nil && r.Schema != SchemaVersion && r.Schema != 1 {
				t.Fatalf("accepted schema %d", r.Schema)
			}
		})
	})
}
