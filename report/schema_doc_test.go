package report

import (
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/graftml/graft/experiment"
)

// TestSchemaDocExample keeps the example in docs/results-schema.md a
// valid results.json: every field known, and the report can read it.
func TestSchemaDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/results-schema.md")
	if err != nil {
		t.Skip("docs/results-schema.md not found:", err)
	}
	m := regexp.MustCompile("(?s)```json\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no JSON example in docs/results-schema.md")
	}
	dec := json.NewDecoder(bytes.NewReader(m[1]))
	dec.DisallowUnknownFields()
	var r experiment.Results
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("the documented example is not a valid results.json: %v", err)
	}
	if r.Schema != experiment.SchemaVersion {
		t.Errorf("example has schema %d, the code %d", r.Schema, experiment.SchemaVersion)
	}
	var b bytes.Buffer
	if err := Leaderboard(&b, &r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"* 1  finetune", "85.0 [72.5, 95.0]", "cut off 1/1", "1 diverged",
		"still improving on smoothed validation", "10 shots: 1 class had fewer images and gave all it had (fewest: 7): no-entry.",
		"Protocol: refit — each strategy's rate and length chosen on validation (3 folds)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("leaderboard of the example lacks %q:\n%s", want, b.String())
		}
	}
}
