package strategy

import (
	"strings"
	"testing"

	"github.com/graftml/graft/nn"
)

// shape is a model outline with n body stages and a head.
func shape(n int) *nn.Model {
	m := &nn.Model{Arch: "test"}
	for i := 1; i <= n; i++ {
		m.Stages = append(m.Stages, &nn.Stage{Name: "stage" + string(rune('0'+i))})
	}
	m.Stages = append(m.Stages, &nn.Stage{Name: "head"})
	return m
}

func TestFreezeFreezesTheFirstK(t *testing.T) {
	m := shape(4)
	s, _ := Parse("freeze:2")
	p, err := s.Plan(m, Budget{Epochs: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 0, BodyRate, BodyRate, 1}
	for i, r := range p.Phases[0].StageLR {
		if r != want[i] {
			t.Fatalf("rates %v, want %v", p.Phases[0].StageLR, want)
		}
	}
	g, _ := Parse("gradual")
	gp, _ := g.Plan(m, Budget{Epochs: 10})
	if len(gp.Phases) != 5 || gp.Phases[0].StageLR[3] != 0 || gp.Phases[4].StageLR[0] == 0 {
		t.Errorf("gradual phases %+v", gp.Phases)
	}
}

func TestParseErrors(t *testing.T) {
	m := shape(3)
	cases := map[string]string{
		"bogus":          "unknown strategy",
		"freeze":         "needs a stage",
		"probe:2":        "takes no argument",
		"probe+l2sp":     "makes no sense",
		"probe+finetune": "only +l2sp",
	}
	for in, want := range cases {
		if _, err := Parse(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := Expand("freeze:9", m); err == nil || !strings.Contains(err.Error(), "1..3") {
		t.Errorf("freeze:9 on 3 stages: %v", err)
	}
	if _, err := Expand("truncate:head", m); err == nil {
		t.Error("truncate:head accepted")
	}
	got, err := Expand("probe, finetune,probe", m)
	if err != nil || len(got) != 2 {
		t.Errorf("Expand dedup = %v, %v", got, err)
	}
}
