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

// TestEveryStrategyPlans is the suite every strategy passes: a valid plan
// for shallow and deep models, using the budget exactly, training the head
// in its last phase, and never an empty phase.
func TestEveryStrategyPlans(t *testing.T) {
	for _, depth := range []int{3, 5} {
		m := shape(depth)
		for _, name := range append(Main(m), "freeze:1+l2sp", "freeze:stage2", "truncate:1", "discriminative+l2sp") {
			t.Run(name, func(t *testing.T) {
				s, err := Parse(name)
				if err != nil {
					t.Fatal(err)
				}
				b := Budget{Epochs: 12, Patience: 3}
				p, err := s.Plan(m, b)
				if err != nil {
					t.Fatal(err)
				}
				stages := len(m.Stages)
				if p.CutAfter > 0 {
					stages = p.CutAfter + 1
				}
				total := 0
				for _, ph := range p.Phases {
					total += ph.Epochs
					if ph.Epochs < 1 {
						t.Errorf("phase %s has %d epochs", ph.Name, ph.Epochs)
					}
					if ph.StageLR == nil {
						continue
					}
					if len(ph.StageLR) != stages {
						t.Fatalf("phase %s: %d rates for %d stages", ph.Name, len(ph.StageLR), stages)
					}
					if ph.StageLR[stages-1] <= 0 && s.Base != "lpft" {
						t.Errorf("phase %s does not train the head", ph.Name)
					}
				}
				if total != b.Epochs {
					t.Errorf("plan uses %d epochs of a %d-epoch budget", total, b.Epochs)
				}
				if (p.L2SP > 0) != s.L2SP {
					t.Errorf("L2SP %v for %s", p.L2SP, name)
				}
				if p.Scratch != (s.Base == "scratch") {
					t.Errorf("scratch = %v", p.Scratch)
				}
			})
		}
	}
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
