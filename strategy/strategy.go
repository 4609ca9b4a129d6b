// Package strategy defines graft's transfer-learning strategies as values:
// a name, one line of documentation, and a plan of training phases (which
// stages train, at which relative learning rate, for how much of the
// budget). The trainer in package fit only executes plans.
//
// Strategies and their arguments:
//
//	scratch         same architecture, random initialisation, everything trains
//	probe           base frozen, new head ("ConvNet as fixed feature extractor")
//	freeze:K        the first K stages frozen, the rest and a new head train
//	truncate:K      keep the first K stages (frozen), pool, new head
//	finetune        everything trains, pretrained stages at a tenth of the head's rate
//	lpft            probe until validation stops improving, then fine-tune all at a low rate
//	gradual         unfreeze one more stage from the top each step of the budget
//	discriminative  rates spread geometrically from the head down to the stem
//	l2sp            fine-tune with a penalty pulling weights toward the pretrained ones
//
// K is a count of stages from the input (stem included) or a stage name
// ("stage2": up to and including it). Strategies combine with "+" where it
// makes sense, e.g. "freeze:2+l2sp" or "discriminative+l2sp".
package strategy

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/graftml/graft/fit"
	"github.com/graftml/graft/nn"
)

// Strategy is a parsed strategy.
type Strategy struct {
	Name string // canonical form, e.g. "freeze:2+l2sp"
	Base string // the main strategy, e.g. "freeze"
	Arg  string // its argument, e.g. "2" or "stage2"
	L2SP bool   // add the L2-SP penalty
}

// Info describes a base strategy for --help and reports.
type Info struct {
	Name   string
	Doc    string
	HasArg bool
}

// Catalogue lists the base strategies in the order reports show them.
var Catalogue = []Info{
	{"scratch", "same architecture, random initialisation, everything trains", false},
	{"probe", "base frozen, new head: the network as a fixed feature extractor", false},
	{"freeze", "the first K stages frozen, the rest and a new head trained", true},
	{"truncate", "keep the first K stages (frozen), pool, new head: small and different target sets", true},
	{"finetune", "everything trains, pretrained stages at a tenth of the head's rate", false},
	{"lpft", "linear probe until validation stops improving, then fine-tune everything at a low rate", false},
	{"gradual", "unfreeze one more stage from the top at each step of the budget", false},
	{"discriminative", "learning rates spread geometrically over stages, lowest at the stem", false},
	{"l2sp", "fine-tune with a penalty pulling weights toward the pretrained ones (L2-SP)", false},
}

// Main lists the strategies `all` expands to for a model with n stages:
// one freeze and one truncate point in the middle of the body.
func Main(m *nn.Model) []string {
	body := len(m.Stages) - 1
	k := (body + 1) / 2
	return []string{"scratch", "probe", fmt.Sprintf("freeze:%d", k), fmt.Sprintf("truncate:%d", k),
		"finetune", "lpft", "gradual", "discriminative", "l2sp"}
}

// Parse reads "name[:arg][+l2sp]".
func Parse(s string) (Strategy, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	parts := strings.Split(s, "+")
	st := Strategy{}
	for i, p := range parts {
		name, arg, hasArg := strings.Cut(p, ":")
		info, ok := lookup(name)
		if !ok {
			return st, fmt.Errorf("unknown strategy %q: choose from %s", p, names())
		}
		if info.HasArg && (!hasArg || arg == "") {
			return st, fmt.Errorf("strategy %q needs a stage: %s:K (a count of stages) or %s:stageN", name, name, name)
		}
		if !info.HasArg && hasArg {
			return st, fmt.Errorf("strategy %q takes no argument", name)
		}
		switch {
		case i == 0:
			st.Base, st.Arg = name, arg
			st.L2SP = name == "l2sp"
		case name == "l2sp":
			if st.Base == "scratch" || st.Base == "probe" || st.Base == "truncate" {
				return st, fmt.Errorf("%s+l2sp makes no sense: %s fine-tunes no pretrained weight", st.Base, st.Base)
			}
			st.L2SP = true
		default:
			return st, fmt.Errorf("%q cannot be combined with %q: only +l2sp combines", parts[0], p)
		}
	}
	st.Name = s
	return st, nil
}

func lookup(name string) (Info, bool) {
	for _, in := range Catalogue {
		if in.Name == name {
			return in, true
		}
	}
	return Info{}, false
}

func names() string {
	var out []string
	for _, in := range Catalogue {
		n := in.Name
		if in.HasArg {
			n += ":K"
		}
		out = append(out, n)
	}
	return strings.Join(out, ", ")
}

// Stages resolves the K of freeze:K / truncate:K against a model: the
// number of leading stages it covers.
func (s Strategy) Stages(m *nn.Model) (int, error) {
	body := len(m.Stages) - 1
	if n, err := strconv.Atoi(s.Arg); err == nil {
		if n < 1 || n > body {
			return 0, fmt.Errorf("%s: %s has %d stages before its head (%s); use 1..%d", s.Name, m.Arch, body,
				strings.Join(m.StageNames()[:body], ", "), body)
		}
		return n, nil
	}
	i, err := m.StageIndex(s.Arg)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.Name, err)
	}
	if i >= body {
		return 0, fmt.Errorf("%s: the head cannot be frozen or cut after; choose a body stage", s.Name)
	}
	return i + 1, nil
}

// Budget is what every strategy gets, identically.
type Budget struct {
	Epochs   int // maximum epochs over all phases
	Patience int // epochs without validation improvement that end a phase
}

// Plan is what the trainer executes.
type Plan struct {
	Scratch  bool        // reinitialise every weight first
	CutAfter int         // > 0: truncate the model after this many stages
	Phases   []fit.Phase // in order
	L2SP     float64     // penalty strength toward the pretrained weights (0 = off)
	// StandardizeHead trains the new classifier on standardised inputs
	// (nn.Model.StandardizeClassifier), folded back after training: a
	// head on frozen features converges within the budget only then.
	StandardizeHead bool
}

// L2SPAlpha is the L2-SP strength α, the value Li, Grandvalet and Davoine
// (2018) use for their main results.
const L2SPAlpha = 0.1

// BodyRate is the fine-tuning rate of pretrained stages relative to the head.
const BodyRate = 0.1

// Plan turns the strategy into phases for model m (before truncation) and
// a budget. Stage multipliers are relative to the base learning rate.
func (s Strategy) Plan(m *nn.Model, b Budget) (Plan, error) {
	n := len(m.Stages) // head is n-1
	if b.Epochs < 1 {
		return Plan{}, fmt.Errorf("%s: the budget needs at least 1 epoch", s.Name)
	}
	rates := func(f func(i int) float64) []float64 {
		r := make([]float64, n)
		for i := range r {
			r[i] = f(i)
		}
		return r
	}
	headOnly := rates(func(i int) float64 { return b2f(i == n-1) })
	p := Plan{}
	if s.L2SP {
		p.L2SP = L2SPAlpha
	}
	switch s.Base {
	case "scratch":
		p.Scratch = true
		p.Phases = []fit.Phase{{Name: "scratch", Epochs: b.Epochs}}
	case "probe":
		p.Phases = []fit.Phase{{Name: "probe", Epochs: b.Epochs, StageLR: headOnly}}
		p.StandardizeHead = true
	case "freeze":
		k, err := s.Stages(m)
		if err != nil {
			return p, err
		}
		p.Phases = []fit.Phase{{Name: "freeze", Epochs: b.Epochs, StageLR: rates(func(i int) float64 {
			switch {
			case i < k:
				return 0
			case i == n-1:
				return 1
			}
			return BodyRate
		})}}
	case "truncate":
		k, err := s.Stages(m)
		if err != nil {
			return p, err
		}
		p.CutAfter = k
		// After the cut the model has k stages and a head.
		r := make([]float64, k+1)
		r[k] = 1
		p.Phases = []fit.Phase{{Name: "truncate", Epochs: b.Epochs, StageLR: r}}
		p.StandardizeHead = true
	case "finetune", "l2sp":
		p.Phases = []fit.Phase{{Name: s.Base, Epochs: b.Epochs, StageLR: rates(func(i int) float64 {
			if i == n-1 {
				return 1
			}
			return BodyRate
		})}}
	case "lpft":
		// Keras' two-phase recipe: the probe phase ends when validation
		// stops improving (patience), leaving the rest of the budget to
		// fine-tune everything at a low rate.
		probe := max(1, b.Epochs/2)
		p.Phases = []fit.Phase{
			{Name: "probe", Epochs: probe, StageLR: headOnly},
			{Name: "finetune", Epochs: max(1, b.Epochs-probe), StageLR: rates(func(i int) float64 { return BodyRate }), LRScale: 1},
		}
	case "gradual":
		// ULMFiT-style: head first, then one more stage from the top per
		// step, the budget split evenly over the steps.
		steps := n
		per := max(1, b.Epochs/steps)
		for k := 0; k < steps; k++ {
			e := per
			if k == steps-1 {
				e = max(1, b.Epochs-per*(steps-1))
			}
			thawed := k
			p.Phases = append(p.Phases, fit.Phase{Name: fmt.Sprintf("unfreeze-%d", k), Epochs: e,
				StageLR: rates(func(i int) float64 {
					switch {
					case i == n-1:
						return 1
					case i >= n-1-thawed:
						return BodyRate
					}
					return 0
				})})
		}
	case "discriminative":
		// fastai's slice(lr/100, lr): geometric from the stem to the head.
		const spread = 100.0
		p.Phases = []fit.Phase{{Name: "discriminative", Epochs: b.Epochs, StageLR: rates(func(i int) float64 {
			if n == 1 {
				return 1
			}
			return math.Pow(spread, -float64(n-1-i)/float64(n-1))
		})}}
	default:
		return p, fmt.Errorf("strategy %q has no plan", s.Base)
	}
	if s.L2SP && s.Base == "freeze" {
		p.L2SP = L2SPAlpha
	}
	return p, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Expand resolves a --strategies list ("all", or comma-separated names)
// for model m, keeping the order given and dropping duplicates.
func Expand(list string, m *nn.Model) ([]Strategy, error) {
	var raw []string
	if strings.TrimSpace(list) == "all" {
		raw = Main(m)
	} else {
		raw = strings.Split(list, ",")
	}
	seen := map[string]bool{}
	var out []Strategy
	for _, r := range raw {
		if strings.TrimSpace(r) == "" {
			continue
		}
		s, err := Parse(r)
		if err != nil {
			return nil, err
		}
		if s.Base == "freeze" || s.Base == "truncate" {
			if _, err := s.Stages(m); err != nil {
				return nil, err
			}
		}
		if !seen[s.Name] {
			seen[s.Name] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no strategy given: use all or a list like probe,finetune,scratch")
	}
	return out, nil
}

// SortByCatalogue orders names as the catalogue lists their base
// strategies, for stable reports.
func SortByCatalogue(names []string) {
	rank := func(n string) int {
		s, _ := Parse(n)
		for i, in := range Catalogue {
			if in.Name == s.Base {
				return i
			}
		}
		return len(Catalogue)
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
}
