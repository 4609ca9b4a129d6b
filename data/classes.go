package data

import (
	"fmt"
	"strconv"
	"strings"
)

// ClassSubset is a view of a data set keeping some classes, relabelled
// 0..k-1 in the order given: how a source/target split of one data set
// (Fashion-MNIST classes 0–4 → 5–9) is made.
type ClassSubset struct {
	Base    Dataset
	keep    []int // base labels, in new-label order
	newOf   map[int]int
	indices []int
}

// SelectClasses keeps the samples of the listed base classes.
func SelectClasses(ds Dataset, classes []int) (*ClassSubset, error) {
	names := ds.Classes()
	cs := &ClassSubset{Base: ds, keep: classes, newOf: map[int]int{}}
	for i, c := range classes {
		if c < 0 || c >= len(names) {
			return nil, fmt.Errorf("class %d does not exist: the data set has classes 0..%d", c, len(names)-1)
		}
		if _, dup := cs.newOf[c]; dup {
			return nil, fmt.Errorf("class %d listed twice", c)
		}
		cs.newOf[c] = i
	}
	if len(classes) < 2 {
		return nil, fmt.Errorf("keep at least 2 classes, got %d", len(classes))
	}
	for i := 0; i < ds.Len(); i++ {
		if _, ok := cs.newOf[ds.Label(i)]; ok {
			cs.indices = append(cs.indices, i)
		}
	}
	return cs, nil
}

// ParseClassList reads "0-4", "5,7,9" or "0-2,8".
func ParseClassList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil, fmt.Errorf("class list %q: %q is not a class number", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("class list %q: bad range %q", s, part)
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}

func (c *ClassSubset) Len() int { return len(c.indices) }
func (c *ClassSubset) Classes() []string {
	names := c.Base.Classes()
	out := make([]string, len(c.keep))
	for i, k := range c.keep {
		out[i] = names[k]
	}
	return out
}
func (c *ClassSubset) Label(i int) int             { return c.newOf[c.Base.Label(c.indices[i])] }
func (c *ClassSubset) Image(i int) (*Image, error) { return c.Base.Image(c.indices[i]) }
func (c *ClassSubset) Source(i int) string         { return c.Base.Source(c.indices[i]) }
