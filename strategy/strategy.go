package strategy

import (
	"fmt"
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

// Main lists the strategies `all` expands to for model m: every registered
// one, those that take a stage at the middle of the body.
func Main(m *nn.Model) []string {
	body := len(m.Stages) - 1
	k := (body + 1) / 2
	out := make([]string, len(Registry))
	for i, d := range Registry {
		out[i] = d.Name
		if d.HasArg {
			out[i] = d.At(k).Name
		}
	}
	return out
}

// Parse reads "name[:arg][+l2sp]".
func Parse(s string) (Strategy, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	parts := strings.Split(s, "+")
	st := Strategy{}
	var base *Def
	for i, p := range parts {
		name, arg, hasArg := strings.Cut(p, ":")
		d := lookup(name)
		if d == nil {
			return st, fmt.Errorf("unknown strategy %q: choose from %s", p, names())
		}
		if d.HasArg && (!hasArg || arg == "") {
			return st, fmt.Errorf("strategy %q needs a stage: %s:K (a count of stages) or %s:stageN", name, name, name)
		}
		if !d.HasArg && hasArg {
			return st, fmt.Errorf("strategy %q takes no argument", name)
		}
		switch {
		case i == 0:
			base = d
			st.Base, st.Arg = name, arg
			st.L2SP = d.L2SP
		case d.L2SP:
			if !base.TakesL2SP {
				return st, fmt.Errorf("%s+%s makes no sense: %s fine-tunes no pretrained weight", st.Base, name, st.Base)
			}
			st.L2SP = true
		default:
			return st, fmt.Errorf("%q cannot be combined with %q: only +%s combines", parts[0], p, L2SP.Name)
		}
	}
	st.Name = s
	return st, nil
}

func names() string {
	var out []string
	for _, d := range Registry {
		out = append(out, d.Usage())
	}
	return strings.Join(out, ", ")
}

// Def is the registered definition of s's base strategy; for a base no
// Def is registered under, one with only its name (no plan, no traits).
func (s Strategy) Def() *Def {
	if d := lookup(s.Base); d != nil {
		return d
	}
	return &Def{Name: s.Base}
}

// MinPerClass is the training images per class below which s is likely
// to overfit: its base's, or L2SP's where +l2sp holds it nearer the
// pretrained weights.
func (s Strategy) MinPerClass() int {
	n := s.Def().MinPerClass
	if s.L2SP {
		n = min(n, L2SP.MinPerClass)
	}
	return n
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
	return s.Def().Plan(s, m, b)
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
		if s.Def().HasArg {
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
		for i, d := range Registry {
			if d.Name == s.Base {
				return i
			}
		}
		return len(Registry)
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
}
