package doctor

import (
	"strings"
	"testing"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
)

func TestPlannedPreprocess(t *testing.T) {
	meta := checkpoint.Meta{Arch: "smallcnn", Preprocess: data.Preprocess{Size: 32, Channels: 3, Norm: data.NormImageNet},
		Stages: []checkpoint.StageInfo{{Name: "stage1", Reduction: 2}, {Name: "stage2", Reduction: 8}, {Name: "head", Reduction: 32}}}
	for _, tt := range []struct {
		name string
		norm string
		size int
		want *data.Preprocess
		err  string
	}{
		{"neither", "", 0, nil, ""},
		{"norm", data.NormUnit, 0, &data.Preprocess{Size: 32, Channels: 3, Norm: data.NormUnit}, ""},
		{"size", "", 64, &data.Preprocess{Size: 64, Channels: 3, Norm: data.NormImageNet}, ""},
		{"unknown norm", "z", 0, nil, "--norm/--size: "},
		{"too small", "", 4, nil, "input size 4 px is too small for smallcnn, which downsamples by 8: use --size 8 or more"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PlannedPreprocess(meta, tt.norm, tt.size)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && (got.Size != tt.want.Size || got.Norm != tt.want.Norm || got.Channels != 3)) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
