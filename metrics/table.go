package metrics

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// ClassScore is one class's recall (graft eval --json).
type ClassScore struct {
	Class    string   `json:"class"`
	Accuracy *float64 `json:"accuracy"` // null when the class has no samples
	Support  int      `json:"support"`
}

// ClassScores is every class's recall and support, in class order.
func (c *Confusion) ClassScores() []ClassScore {
	sup := c.Support()
	var out []ClassScore
	for i, a := range c.PerClassAccuracy() {
		cs := ClassScore{Class: c.Classes[i], Support: sup[i]}
		if a >= 0 {
			v := a
			cs.Accuracy = &v
		}
		out = append(out, cs)
	}
	return out
}

// TableMaxClasses is the most classes WriteTable prints the matrix of:
// wider, a row no longer fits a terminal.
const TableMaxClasses = 20

// WriteTable writes each class's accuracy (recall; "-" for a class without
// samples) and support, then the matrix itself when it has at most
// TableMaxClasses classes: graft eval's report.
func (c *Confusion) WriteTable(w io.Writer) {
	width := 5
	for _, cl := range c.Classes {
		width = max(width, len(cl))
	}
	fmt.Fprintf(w, "%-*s  %8s  %7s\n", width, "class", "accuracy", "support")
	sup := c.Support()
	for i, a := range c.PerClassAccuracy() {
		acc := "       -"
		if a >= 0 {
			acc = fmt.Sprintf("%7.2f%%", 100*a)
		}
		fmt.Fprintf(w, "%-*s  %s  %7d\n", width, c.Classes[i], acc, sup[i])
	}
	if len(c.Classes) > TableMaxClasses {
		return
	}
	fmt.Fprintf(w, "\nconfusion matrix (rows: true class, columns: predicted)\n")
	for i, row := range c.M {
		cells := make([]string, len(row))
		for j, v := range row {
			cells[j] = fmt.Sprintf("%5d", v)
		}
		fmt.Fprintf(w, "%-*s %s\n", width, c.Classes[i], strings.Join(cells, ""))
	}
}

// Argmax is the index of v's largest value, the lowest of equals (as
// TopK(v, 1) and torch.argmax take it), without TopK's sort: fit counts
// every training step's hits with it. It is 0 for an empty v.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// TopK is the indices of p's k largest values, largest first; ties keep
// the lower index first. k beyond len(p) gives every index.
func TopK(p []float32, k int) []int {
	idx := make([]int, len(p))
	for j := range idx {
		idx[j] = j
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	return idx[:min(k, len(p))]
}
