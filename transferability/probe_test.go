package transferability

import (
	"math"
	"math/rand/v2"
	"testing"
)

// blobs draws n samples of c classes in d dimensions: class means sep
// apart along the first c axes, unit noise elsewhere.
func blobs(n, c, d int, sep float64, seed uint64) ([][]float64, []int) {
	r := rand.New(rand.NewPCG(seed, 9))
	x := make([][]float64, n)
	y := make([]int, n)
	for i := range x {
		y[i] = i % c
		row := make([]float64, d)
		for j := range row {
			row[j] = r.NormFloat64()
		}
		row[y[i]%d] += sep
		x[i] = row
	}
	return x, y
}

func TestProbeAndKNN(t *testing.T) {
	cases := []struct {
		name     string
		n, c, d  int
		sep      float64
		shuffle  bool
		min, max float64
	}{
		{"separable, more samples than features (primal)", 120, 3, 8, 6, false, 0.95, 1},
		{"separable, more features than samples (dual)", 40, 4, 60, 20, false, 0.9, 1},
		{"random labels", 150, 3, 8, 6, true, 0, 0.55},
		{"overlapping classes", 200, 2, 4, 1, false, 0.6, 0.85},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, y := blobs(tc.n, tc.c, tc.d, tc.sep, 3)
			if tc.shuffle {
				r := rand.New(rand.NewPCG(4, 4))
				r.Shuffle(len(y), func(i, j int) { y[i], y[j] = y[j], y[i] })
			}
			p, err := ProbeCV(x, y, tc.c, 5, 1)
			if err != nil {
				t.Fatal(err)
			}
			k, err := KNN(x, y, tc.c, 5)
			if err != nil {
				t.Fatal(err)
			}
			for name, v := range map[string]float64{"probe": p, "knn": k} {
				if v < tc.min || v > tc.max {
					t.Errorf("%s accuracy %.3f, want in [%.2f, %.2f]", name, v, tc.min, tc.max)
				}
			}
		})
	}
}

// The primal and dual forms of the ridge probe are the same classifier,
// and solving for several penalties at once gives what solving for each
// alone gives.
func TestRidgePrimalDualAgree(t *testing.T) {
	x, y := blobs(30, 3, 30, 2, 5)
	tr := make([]int, len(x))
	for i := range tr {
		tr[i] = i
	}
	rows, _, _ := standardise(x, tr, 30)
	lams := []float64{0.01, 0.1, 1}
	duals, err := ridgeForm(rows, y, tr, 3, 30, lams, false)
	if err != nil {
		t.Fatal(err)
	}
	primals, err := ridgeForm(rows, y, tr, 3, 30, lams, true)
	if err != nil {
		t.Fatal(err)
	}
	for l, lam := range lams {
		alone, err := ridgeForm(rows, y, tr, 3, 30, []float64{lam}, true)
		if err != nil {
			t.Fatal(err)
		}
		for i := range duals[l].w {
			if math.Abs(duals[l].w[i]-primals[l].w[i]) > 1e-8 || math.Abs(alone[0].w[i]-primals[l].w[i]) > 1e-12 {
				t.Fatalf("λ %g, w[%d]: dual %.10f, primal %.10f, alone %.10f", lam, i, duals[l].w[i], primals[l].w[i], alone[0].w[i])
			}
		}
	}
	if math.Abs(primals[0].w[0]-primals[2].w[0]) < 1e-6 {
		t.Error("penalties 100× apart gave the same weights")
	}
}

func TestProbeErrors(t *testing.T) {
	if _, err := ProbeCV(nil, nil, 2, 5, 1); err == nil {
		t.Error("empty features accepted")
	}
	if _, err := KNN([][]float64{{1}, {2}}, []int{0, 0}, 2, 1); err == nil {
		t.Error("a single class accepted")
	}
	if _, err := ProbeCV([][]float64{{1}, {math.NaN()}}, []int{0, 1}, 2, 5, 1); err == nil {
		t.Error("NaN accepted")
	}
}
