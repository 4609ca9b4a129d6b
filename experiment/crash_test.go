package experiment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/strategy"
)

// A comparison resumes from results.json: a missing one starts afresh; one
// of other settings, or one that is there but cannot be read, is an error
// that names the file, the difference and the way out, and is left as it
// was.
func TestCompareRefusesDamagedResults(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Base: baseCheckpoint(t, dir), Train: lines(30, 1, 1), Test: lines(12, 2, 1),
		Strategies: parseAll(t, "probe"), Shots: []int{5}, Seeds: 1,
		Budget: strategy.Budget{Epochs: 1}, LRGrid: []float64{1e-2}, Batch: 8,
		Out: filepath.Join(dir, "ref"), Spec: Spec{Base: "base", Strategies: []string{"probe"}},
	}
	if _, err := Compare(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(cfg.Out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Spec.Base = "another-base"
	other.Out = filepath.Join(dir, "other")
	if _, err := Compare(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	otherSpec, err := os.ReadFile(filepath.Join(other.Out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		results []byte // nil: no results.json
		want    string // "" when the comparison must run
	}{
		{"missing", nil, ""},
		{"another spec", otherSpec, `holds a comparison with other settings (base: "another-base" there, "base" here): use another --out, or move it aside`},
		{"truncated", good[:len(good)/2], "is damaged (unexpected end of JSON input): move it aside to start the comparison again, or restore it"},
		{"empty", []byte{}, "is damaged (unexpected end of JSON input): move it aside"},
		{"garbage", []byte("\x00\x00\x00\x00"), "is damaged (invalid character"},
		{"wrong shape", []byte(`{"schema":2,"runs":{}}`), "is damaged (json: cannot unmarshal"},
		{"newer schema", []byte(`{"schema":99}`), "schema 99, this graft reads 1 to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.Out = filepath.Join(t.TempDir(), "cmp")
			path := filepath.Join(c.Out, "results.json")
			if tc.results != nil {
				if err := os.MkdirAll(c.Out, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, tc.results, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := Compare(context.Background(), c)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Runs) != 1 || res.Runs[0].Status != "ok" || res.Spec.Base != "base" {
					t.Errorf("runs %+v, spec base %q", res.Runs, res.Spec.Base)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, path, tc.want)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, tc.results) {
				t.Errorf("results.json changed after the refusal (%v)", rerr)
			}
		})
	}
}

// Every setting a run depends on is in the resume key: changing one of
// them between a run and its rerun is refused, naming it.
func TestResumeRefusesChangedSettings(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{
		Base: baseCheckpoint(t, dir), Train: lines(30, 1, 1), Test: lines(12, 2, 1),
		Strategies: parseAll(t, "probe"), Shots: []int{5}, Seeds: 1,
		Budget: strategy.Budget{Epochs: 1, Patience: 2}, LRGrid: []float64{1e-2}, Batch: 8,
		Out: filepath.Join(dir, "cmp"), Spec: Spec{Base: "base", Strategies: []string{"probe"}},
	}
	if _, err := Compare(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"batch", func(c *Config) { c.Batch = 16 }, "batch: 8 there, 16 here"},
		{"patience", func(c *Config) { c.Budget.Patience = 3 }, "patience: 2 there, 3 here"},
		{"validation fraction", func(c *Config) { c.ValFraction = 0.25 }, "val_fraction: 0.2 there, 0.25 here"},
		{"BatchNorm mode", func(c *Config) { c.TrainBN = true }, "train_bn: false there, true here"},
		{"augmentation", func(c *Config) { c.Augment = data.DefaultAugment() }, "augment: \"\" there"},
		{"class map", func(c *Config) { c.ClassMap = []int{0, 1, 2} }, "class_map: none there, [0,1,2] here"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			tc.change(&c)
			_, err := Compare(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rerun with another %s: %v, want a refusal saying %q", tc.name, err, tc.want)
			}
		})
	}
	// The same settings resume: nothing is retrained.
	again := cfg
	again.Progress = failOnRun{t}
	if _, err := Compare(context.Background(), again); err != nil {
		t.Fatal(err)
	}
}
