package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name, text string
		want       string // the names joined by commas, or part of the error
		ok         bool
	}{
		{"lines", "cat\ndog\n\n bird \n", "cat,dog,bird", true},
		{"twice", "cat\ndog\ncat\n", `class "cat" is listed twice`, false},
		{"one", "cat\n", "lists 1 classes; a classifier needs at least 2", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".txt")
			os.WriteFile(path, []byte(tt.text), 0o644)
			got, err := ReadLabels(path)
			switch {
			case tt.ok && err != nil:
				t.Fatal(err)
			case tt.ok && strings.Join(got, ",") != tt.want:
				t.Errorf("got %v, want %s", got, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path)):
				t.Errorf("error %v, want %q naming %s", err, tt.want, path)
			}
		})
	}
	if _, err := ReadLabels(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file reads")
	}
}

func TestWithNorm(t *testing.T) {
	base := Preprocess{Size: 32, Channels: 3, Norm: NormImageNet}
	for _, tt := range []struct {
		name      string
		norm      string
		mean, std []float32
		want      Preprocess
		err       string
	}{
		{"nothing keeps", "", nil, nil, base, ""},
		{"named", NormUnit, nil, nil, Preprocess{Size: 32, Channels: 3, Norm: NormUnit}, ""},
		{"statistics", "", []float32{.5, .5, .5}, []float32{.2, .2, .2}, Preprocess{Size: 32, Channels: 3, Mean: []float32{.5, .5, .5}, Std: []float32{.2, .2, .2}}, ""},
		{"both", NormUnit, []float32{.5}, []float32{.2}, Preprocess{}, "both given"},
		{"unequal counts", "", []float32{.5, .5}, []float32{.2}, Preprocess{}, "2 mean values but 1 std"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := base.WithNorm(tt.norm, tt.mean, tt.std)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Norm != tt.want.Norm || len(got.Mean) != len(tt.want.Mean) || len(got.Std) != len(tt.want.Std) || got.Size != 32 {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
