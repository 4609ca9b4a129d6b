package strategy

// Registry lists the base strategies graft offers, in the order reports
// show them. It is built by hand: a strategy is one Def in a file of its
// own and a line here; strategytest runs every entry through the suite.
var Registry = []*Def{Scratch, Probe, Freeze, Truncate, Finetune, LPFT, Gradual, Discriminative, L2SP}

// lookup is the registered Def named name, or nil.
func lookup(name string) *Def {
	for _, d := range Registry {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Info describes a base strategy for --help and reports.
type Info struct {
	Name   string
	Doc    string
	HasArg bool
}

// Catalogue lists the base strategies in the order reports show them
// (Registry's).
var Catalogue = catalogue()

func catalogue() []Info {
	out := make([]Info, len(Registry))
	for i, d := range Registry {
		out[i] = Info{d.Name, d.Doc, d.HasArg}
	}
	return out
}
