package advise

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/torch"
)

// MeasureBases measures every base, names each to the caller, keeps the
// best-probing one, and charges it the time of all.
func TestMeasureBases(t *testing.T) {
	dir := t.TempDir()
	paths := []string{saveBase(t, filepath.Join(dir, "a"), 2), saveBase(t, filepath.Join(dir, "b"), 3)}
	var heard []string
	got, err := MeasureBases(context.Background(), paths, bars(t, 30, 0.2), Options{}, func(path, arch string) {
		heard = append(heard, filepath.Base(path)+":"+arch)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(heard, ",") != "a:smallcnn,b:smallcnn" || len(got.Scores) != 2 {
		t.Fatalf("heard %v, scores %+v", heard, got.Scores)
	}
	best := got.Scores[0]
	if got.Scores[1].Probe > best.Probe {
		best = got.Scores[1]
	}
	if got.Base != best.Base || got.Best.Stages[len(got.Best.Stages)-1].Probe != best.Probe || got.Best.Seconds <= 0 {
		t.Errorf("best %s (%.3f probe, %.2fs), want %s", got.Base, got.Best.Stages[len(got.Best.Stages)-1].Probe, got.Best.Seconds, best.Base)
	}
	if _, err := MeasureBases(context.Background(), []string{filepath.Join(dir, "none")}, bars(t, 30, 0.2), Options{}, nil); err == nil || !strings.Contains(err.Error(), "--base") {
		t.Errorf("a missing base: %v", err)
	}
}

// saveBase saves a random smallcnn for 4 classes of 12×12 grey images at
// path, a base for bars: seed draws its weights.
func saveBase(t *testing.T, path string, seed uint64) string {
	t.Helper()
	torch.ManualSeed(seed)
	m, err := arch.New("smallcnn", arch.Config{NumClasses: 4, InChannels: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Free()
	if err := checkpoint.Save(path, m, checkpoint.Meta{Classes: []string{"w", "x", "y", "z"}, Preprocess: data.Preprocess{Size: 12, Channels: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	return path
}
