package metrics

// Confusion counts predictions: M[true][predicted].
type Confusion struct {
	Classes []string
	M       [][]int
}

// NewConfusion makes an empty matrix for the classes.
func NewConfusion(classes []string) *Confusion {
	m := make([][]int, len(classes))
	for i := range m {
		m[i] = make([]int, len(classes))
	}
	return &Confusion{Classes: classes, M: m}
}

// Add records one prediction; out-of-range labels are ignored.
func (c *Confusion) Add(truth, pred int) {
	if truth >= 0 && truth < len(c.M) && pred >= 0 && pred < len(c.M) {
		c.M[truth][pred]++
	}
}

// Total is the number of predictions recorded.
func (c *Confusion) Total() int {
	n := 0
	for _, row := range c.M {
		for _, v := range row {
			n += v
		}
	}
	return n
}

// Accuracy is the share of correct predictions.
func (c *Confusion) Accuracy() float64 {
	correct := 0
	for i := range c.M {
		correct += c.M[i][i]
	}
	if t := c.Total(); t > 0 {
		return float64(correct) / float64(t)
	}
	return 0
}

// Support is the number of samples of each true class.
func (c *Confusion) Support() []int {
	out := make([]int, len(c.M))
	for i, row := range c.M {
		for _, v := range row {
			out[i] += v
		}
	}
	return out
}

// PerClassAccuracy is the recall of each class; classes without samples
// get -1 so reports can show them as absent rather than as 0%.
func (c *Confusion) PerClassAccuracy() []float64 {
	sup := c.Support()
	out := make([]float64, len(c.M))
	for i := range c.M {
		if sup[i] == 0 {
			out[i] = -1
			continue
		}
		out[i] = float64(c.M[i][i]) / float64(sup[i])
	}
	return out
}

// MacroF1 averages F1 over the classes that occur in the truth, as
// scikit-learn's f1_score(average="macro") over present labels.
func (c *Confusion) MacroF1() float64 {
	sup := c.Support()
	var sum float64
	n := 0
	for i := range c.M {
		if sup[i] == 0 {
			continue
		}
		predicted := 0
		for j := range c.M {
			predicted += c.M[j][i]
		}
		tp := float64(c.M[i][i])
		f1 := 0.0
		if tp > 0 {
			prec := tp / float64(predicted)
			rec := tp / float64(sup[i])
			f1 = 2 * prec * rec / (prec + rec)
		}
		sum += f1
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}
