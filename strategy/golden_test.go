package strategy

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/graftml/graft/nn"
)

var update = flag.Bool("update", false, "rewrite testdata/plans.golden from the current plans")

// outline is a model with the named stages (the head last) and nothing in
// them: all a plan reads.
func outline(arch string, stages ...string) *nn.Model {
	m := &nn.Model{Arch: arch}
	for _, s := range stages {
		m.Stages = append(m.Stages, &nn.Stage{Name: s})
	}
	return m
}

// TestPlansGolden pins every plan graft makes: each base strategy, at every
// stage it takes (as a count and as a stage name), alone and with +l2sp
// where that parses, on a smallcnn-shaped and a resnet18-shaped outline,
// for budgets that divide unevenly over phases. Plans decide every number a
// comparison produces, so a change here is a change in results:
// regenerate with go test ./strategy -run PlansGolden -update only on
// purpose.
func TestPlansGolden(t *testing.T) {
	models := []*nn.Model{
		outline("smallcnn", "stage1", "stage2", "stage3", "head"),
		outline("resnet18", "stem", "stage1", "stage2", "stage3", "stage4", "head"),
	}
	var b bytes.Buffer
	for _, in := range Catalogue {
		fmt.Fprintf(&b, "catalogue %+v\n", in)
	}
	for _, m := range models {
		body := len(m.Stages) - 1
		var names []string
		for _, in := range Catalogue {
			if !in.HasArg {
				names = append(names, in.Name)
				continue
			}
			for k := 1; k <= body; k++ {
				names = append(names, in.Name+":"+strconv.Itoa(k), in.Name+":"+m.Stages[k-1].Name)
			}
		}
		// Mistakes, whose messages are part of the behaviour too.
		names = append(names, "freeze:0", fmt.Sprintf("freeze:%d", body+1), "truncate:head", "freeze:nostage",
			"bogus", "freeze", "probe:2", "probe+finetune", " LPFT ", "l2sp+l2sp")
		fmt.Fprintf(&b, "%s main: %v\n", m.Arch, Main(m))
		for _, list := range []string{"all", " all ", "probe, finetune,probe", "freeze:9,probe", "truncate:head", "", " , "} {
			got, err := Expand(list, m)
			fmt.Fprintf(&b, "%s expand %q: %+v %v\n", m.Arch, list, got, err)
		}
		sorted := []string{"l2sp", "freeze:1+l2sp", "bogus", "discriminative", "probe", "truncate:2", "scratch", "lpft", "freeze:2", "gradual", "finetune"}
		SortByCatalogue(sorted)
		fmt.Fprintf(&b, "%s sorted: %v\n", m.Arch, sorted)
		for _, name := range names {
			for _, full := range []string{name, name + "+l2sp"} {
				s, err := Parse(full)
				if err != nil {
					fmt.Fprintf(&b, "%s %s: parse: %v\n", m.Arch, full, err)
					continue
				}
				for _, epochs := range []int{0, 1, 4, 7, 30} {
					p, err := s.Plan(m, Budget{Epochs: epochs, Patience: 3})
					fmt.Fprintf(&b, "%s %s epochs=%d: %+v\n", m.Arch, full, epochs, s)
					if err != nil {
						fmt.Fprintf(&b, "\terror: %v\n", err)
						continue
					}
					fmt.Fprintf(&b, "\tscratch=%v cut_after=%d l2sp=%v standardize_head=%v\n", p.Scratch, p.CutAfter, p.L2SP, p.StandardizeHead)
					for _, ph := range p.Phases {
						fmt.Fprintf(&b, "\tphase %q epochs=%d stage_lr=%v nil=%v train_bn=%v lr_scale=%v\n",
							ph.Name, ph.Epochs, ph.StageLR, ph.StageLR == nil, ph.TrainBN, ph.LRScale)
					}
				}
			}
		}
	}
	path := filepath.Join("testdata", "plans.golden")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./strategy -run PlansGolden -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		got := filepath.Join(t.TempDir(), "plans.got")
		os.WriteFile(got, b.Bytes(), 0o644)
		t.Errorf("plans differ from %s: diff %s %s", path, path, got)
	}
}
