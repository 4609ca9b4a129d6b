package metrics

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestWriteTable(t *testing.T) {
	c := NewConfusion([]string{"cat", "dog", "longername"})
	for _, p := range [][2]int{{0, 0}, {0, 0}, {0, 1}, {1, 1}} {
		c.Add(p[0], p[1])
	}
	var b bytes.Buffer
	c.WriteTable(&b)
	want := `class       accuracy  support
cat           66.67%        3
dog          100.00%        1
longername         -        0

confusion matrix (rows: true class, columns: predicted)
cat            2    1    0
dog            0    1    0
longername     0    0    0
`
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	scores := c.ClassScores()
	if len(scores) != 3 || *scores[0].Accuracy != 2.0/3 || scores[0].Support != 3 || scores[2].Accuracy != nil || scores[2].Class != "longername" {
		t.Errorf("class scores %+v", scores)
	}
	var names []string
	for i := range TableMaxClasses + 1 {
		names = append(names, fmt.Sprint(i))
	}
	b.Reset()
	NewConfusion(names).WriteTable(&b)
	if strings.Contains(b.String(), "confusion matrix") {
		t.Errorf("a matrix of %d classes is printed", len(names))
	}
}

func TestTopK(t *testing.T) {
	for _, tt := range []struct {
		p    []float32
		k    int
		want []int
	}{
		{[]float32{.1, .7, .2}, 2, []int{1, 2}},
		{[]float32{.5, .2, .5}, 3, []int{0, 2, 1}},
		{[]float32{.3, .7}, 5, []int{1, 0}},
	} {
		if got := TopK(tt.p, tt.k); !slices.Equal(got, tt.want) {
			t.Errorf("TopK(%v, %d) = %v, want %v", tt.p, tt.k, got, tt.want)
		}
		// Argmax is TopK's first, ties included.
		if got := Argmax(tt.p); got != tt.want[0] {
			t.Errorf("Argmax(%v) = %d, want %d", tt.p, got, tt.want[0])
		}
	}
}
