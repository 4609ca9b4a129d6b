package transferability

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// clusters returns n samples of dim d in k classes: class c has mean
// sep·e_c (+ noise σ=1). Labels cycle 0..k-1.
func clusters(rng *rand.Rand, n, d, k int, sep float64) ([][]float64, []int) {
	f := make([][]float64, n)
	y := make([]int, n)
	for i := range f {
		y[i] = i % k
		f[i] = make([]float64, d)
		for j := range f[i] {
			f[i][j] = rng.NormFloat64()
		}
		f[i][y[i]%d] += sep
	}
	return f, y
}

func TestNCE(t *testing.T) {
	cases := []struct {
		name        string
		pred, label []int
		want        float64
	}{
		// Pairs (y,z): (0,0),(0,0),(0,1),(1,1). P(z=0)=1/2 with Y|z=0 pure;
		// P(z=1)=1/2 with Y|z=1 uniform → H(Y|Z) = ½ ln 2.
		{"2x2 table", []int{0, 0, 1, 1}, []int{0, 0, 0, 1}, -0.5 * math.Ln2},
		// Y a function of Z (relabelled) → H(Y|Z) = 0.
		{"deterministic", []int{5, 5, 9, 9, 2}, []int{1, 1, 0, 0, 0}, 0},
		// Z constant → H(Y|Z) = H(Y) = ln 2 for balanced binary Y.
		{"uninformative", []int{3, 3, 3, 3}, []int{0, 1, 0, 1}, -math.Ln2},
		// Z=0: y=(0,0,1) → H = ln3 − (2/3)ln2; Z=1: y=(1) pure. P(Z=0)=3/4.
		{"3+1", []int{0, 0, 0, 1}, []int{0, 0, 1, 1}, -0.75 * (math.Log(3) - 2.0/3*math.Ln2)},
	}
	for _, c := range cases {
		got, err := NCE(c.pred, c.label)
		if err != nil || !near(got, c.want, 1e-12) {
			t.Errorf("%s: NCE = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

func TestLEEP(t *testing.T) {
	probs := [][]float64{{0.8, 0.2}, {0.6, 0.4}, {0.1, 0.9}}
	labels := []int{0, 0, 1}
	// Joint P(y,z): y=0: (1.4, 0.6)/3, y=1: (0.1, 0.9)/3; P(z) = (1.5, 1.5)/3.
	// P(y|z): P(0|0)=14/15, P(0|1)=2/5, P(1|0)=1/15, P(1|1)=3/5.
	// EEP: 0.8·14/15+0.2·2/5 = 62/75; 0.6·14/15+0.4·2/5 = 18/25;
	//      0.1·1/15+0.9·3/5 = 41/75.
	want := (math.Log(62.0/75) + math.Log(18.0/25) + math.Log(41.0/75)) / 3
	got, err := LEEP(probs, labels, 2)
	if err != nil || !near(got, want, 1e-12) {
		t.Fatalf("LEEP = %v, %v; want %v", got, err, want)
	}
	// One-hot source outputs that determine the target label: LEEP = 0.
	got, err = LEEP([][]float64{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, []int{1, 0, 0}, 2)
	if err != nil || !near(got, 0, 1e-12) {
		t.Fatalf("LEEP(one-hot) = %v, %v; want 0", got, err)
	}
	// One-hot outputs equal to NCE's hard predictions: LEEP = NCE
	// (Nguyen et al., Property 1 with the argmax classifier).
	p := [][]float64{{1, 0}, {1, 0}, {0, 1}, {0, 1}}
	got, _ = LEEP(p, []int{0, 0, 0, 1}, 2)
	nce, _ := NCE([]int{0, 0, 1, 1}, []int{0, 0, 0, 1})
	if !near(got, nce, 1e-12) {
		t.Fatalf("LEEP(one-hot) = %v, NCE = %v", got, nce)
	}
}

func TestHScore(t *testing.T) {
	// 1-D: means 0.5 and 3.5, overall mean 2; total var (4+1+1+4)/4 = 2.5,
	// between-class var (4·2.25)/4 = 2.25 → H = 0.9.
	got, err := HScore([][]float64{{0}, {1}, {3}, {4}}, []int{0, 0, 1, 1})
	if err != nil || !near(got, 0.9, 1e-7) {
		t.Fatalf("HScore 1-D = %v, %v; want 0.9", got, err)
	}
	// Invariant under invertible linear maps f → A f.
	rng := rand.New(rand.NewPCG(1, 2))
	f, y := clusters(rng, 60, 3, 3, 2)
	a := [][]float64{{2, 1, 0}, {0, 1, -1}, {1, 0, 3}}
	g := make([][]float64, len(f))
	for i, row := range f {
		g[i] = make([]float64, 3)
		for r := 0; r < 3; r++ {
			g[i][r] = dot(a[r], row)
		}
	}
	h1, _ := HScore(f, y)
	h2, _ := HScore(g, y)
	if !near(h1, h2, 1e-6) || h1 <= 0 || h1 > 2 {
		t.Fatalf("HScore not linear-invariant or out of [0, C-1]: %v vs %v", h1, h2)
	}
	// Rank-deficient features (duplicated column) still give a finite score
	// thanks to the ridge, equal to the score of the deduplicated features.
	dup := make([][]float64, len(f))
	for i, row := range f {
		dup[i] = append(append([]float64{}, row...), row[0])
	}
	h3, err := HScore(dup, y)
	if err != nil || !near(h3, h1, 1e-5) {
		t.Fatalf("HScore with duplicated column = %v, %v; want %v", h3, err, h1)
	}
}

func TestTransRate(t *testing.T) {
	// Centred 2-D features, one sample per class, ε = 1, n = 3, d = 2:
	// ZᵀZ = diag(6, 2) → R = ½ log det diag(1+4, 1+4/3) = ½ log(35/3).
	// Class rates (n_y = 1, scale d/(n_y ε²) = 2): z=(2,0): det diag(9,1) = 9;
	// z=(−1,±1): det [[3,∓2],[∓2,3]] = 5. R_c = (1/3)·½(log 9 + 2 log 5).
	f := [][]float64{{2, 0}, {-1, 1}, {-1, -1}}
	want := 0.5*math.Log(35.0/3) - (math.Log(9)+2*math.Log(5))/6
	got, err := TransRate(f, []int{0, 1, 2}, 1)
	if err != nil || !near(got, want, 1e-12) {
		t.Fatalf("TransRate = %v, %v; want %v", got, err, want)
	}
	// Translation invariant (features are centred first).
	shifted := [][]float64{{12, -3}, {9, -2}, {9, -4}}
	got2, _ := TransRate(shifted, []int{0, 1, 2}, 1)
	if !near(got2, want, 1e-12) {
		t.Fatalf("TransRate(shifted) = %v; want %v", got2, want)
	}
	// Well-separated classes beat mixed ones (same features, labels drawn
	// independently of the clusters).
	rng := rand.New(rand.NewPCG(3, 4))
	sep, y := clusters(rng, 90, 4, 3, 6)
	mixed := make([]int, len(y))
	for i := range mixed {
		mixed[i] = rng.IntN(3)
	}
	a, _ := TransRate(sep, y, 0)
	b, _ := TransRate(sep, mixed, 0)
	if !(a > b+0.5) || b < -1e-9 {
		t.Fatalf("TransRate separated %v, mixed %v", a, b)
	}
}

func rotate(f [][]float64, theta float64) [][]float64 {
	c, s := math.Cos(theta), math.Sin(theta)
	g := make([][]float64, len(f))
	for i, row := range f {
		g[i] = append([]float64{}, row...)
		g[i][0], g[i][1] = c*row[0]-s*row[1], s*row[0]+c*row[1]
	}
	return g
}

func TestLogMEProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	f, y := clusters(rng, 80, 5, 3, 4)
	base, err := LogME(f, y, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Invariant under orthogonal rotations of feature space (the prior on w
	// is isotropic, so evidence depends on F only through FFᵀ).
	if r, _ := LogME(rotate(f, 0.7), y, 3); !near(r, base, 1e-8) {
		t.Errorf("LogME rotated = %v, want %v", r, base)
	}
	// Invariant under renaming classes (mean over per-class evidences).
	perm := []int{2, 0, 1}
	py := make([]int, len(y))
	for i := range y {
		py[i] = perm[y[i]]
	}
	if r, _ := LogME(f, py, 3); !near(r, base, 1e-10) {
		t.Errorf("LogME relabelled = %v, want %v", r, base)
	}
	// Separable features beat pure noise features.
	noise := make([][]float64, len(f))
	for i := range noise {
		noise[i] = make([]float64, 5)
		for j := range noise[i] {
			noise[i][j] = rng.NormFloat64()
		}
	}
	if r, _ := LogME(noise, y, 3); !(base > r) {
		t.Errorf("LogME separable %v <= noise %v", base, r)
	}
	// The dual (D > n) path agrees with the primal path: pad features with
	// zero columns, which leave the evidence unchanged.
	small, ys := clusters(rng, 6, 3, 2, 3)
	wide := make([][]float64, len(small))
	for i, row := range small {
		wide[i] = append(append([]float64{}, row...), make([]float64, 7)...)
	}
	a, _ := LogME(small, ys, 2)
	b, err := LogME(wide, ys, 2)
	if err != nil || !near(a, b, 1e-8) {
		t.Errorf("LogME primal %v vs dual %v (%v)", a, b, err)
	}
}

func TestLogMEAgainstNumpy(t *testing.T) {
	const py = "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		t.Skip("no /usr/bin/python3")
	}
	if exec.Command(py, "-c", "import numpy").Run() != nil {
		t.Skip("numpy not available")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ n, d, k int }{{50, 4, 3}, {12, 20, 3}, {40, 8, 2}} {
		f, y := clusters(rng, c.n, c.d, c.k, 2)
		in, _ := json.Marshal(map[string]any{"f": f, "y": y, "c": c.k})
		cmd := exec.Command(py, "testdata/logme_ref.py")
		cmd.Stdin = bytes.NewReader(in)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("reference: %v", err)
		}
		want, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
		if err != nil {
			t.Fatal(err)
		}
		got, err := LogME(f, y, c.k)
		if err != nil || !near(got, want, 1e-7) {
			t.Errorf("n=%d d=%d: LogME = %v, %v; numpy %v", c.n, c.d, got, err, want)
		}
	}
}

// Every feature-based score ranks features aligned with the labels above the
// same features with shuffled labels.
func TestSeparableBeatsShuffled(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	f, y := clusters(rng, 120, 6, 4, 5)
	sh := append([]int{}, y...)
	rng.Shuffle(len(sh), func(i, j int) { sh[i], sh[j] = sh[j], sh[i] })
	scores := map[string]func([]int) (float64, error){
		"LogME":     func(l []int) (float64, error) { return LogME(f, l, 4) },
		"HScore":    func(l []int) (float64, error) { return HScore(f, l) },
		"TransRate": func(l []int) (float64, error) { return TransRate(f, l, 0) },
	}
	for name, s := range scores {
		a, err1 := s(y)
		b, err2 := s(sh)
		if err1 != nil || err2 != nil || !(a > b) {
			t.Errorf("%s: separable %v (%v) <= shuffled %v (%v)", name, a, err1, b, err2)
		}
	}
}

func TestValidation(t *testing.T) {
	f := [][]float64{{0}, {1}, {2}}
	calls := map[string]func() error{
		"LogME len":        func() error { _, e := LogME(f, []int{0, 1}, 2); return e },
		"LogME one class":  func() error { _, e := LogME(f, []int{1, 1, 1}, 2); return e },
		"LogME range":      func() error { _, e := LogME(f, []int{0, 1, 2}, 2); return e },
		"LogME NaN":        func() error { _, e := LogME([][]float64{{0}, {math.NaN()}}, []int{0, 1}, 2); return e },
		"LogME ragged":     func() error { _, e := LogME([][]float64{{0}, {1, 2}}, []int{0, 1}, 2); return e },
		"LogME empty":      func() error { _, e := LogME(nil, nil, 2); return e },
		"HScore one class": func() error { _, e := HScore(f, []int{0, 0, 0}); return e },
		"HScore Inf":       func() error { _, e := HScore([][]float64{{0}, {math.Inf(1)}}, []int{0, 1}); return e },
		"HScore constant":  func() error { _, e := HScore([][]float64{{1}, {1}}, []int{0, 1}); return e },
		"HScore negative":  func() error { _, e := HScore(f, []int{0, -1, 1}); return e },
		"TransRate len":    func() error { _, e := TransRate(f, []int{0}, 0); return e },
		"TransRate eps":    func() error { _, e := TransRate(f, []int{0, 1, 0}, math.NaN()); return e },
		"LEEP sum":         func() error { _, e := LEEP([][]float64{{0.5, 0.6}, {1, 0}}, []int{0, 1}, 2); return e },
		"LEEP negative":    func() error { _, e := LEEP([][]float64{{1.5, -0.5}, {1, 0}}, []int{0, 1}, 2); return e },
		"LEEP one class":   func() error { _, e := LEEP([][]float64{{1, 0}, {1, 0}}, []int{0, 0}, 2); return e },
		"NCE len":          func() error { _, e := NCE([]int{0}, []int{0, 1}); return e },
		"NCE one class":    func() error { _, e := NCE([]int{0, 1}, []int{1, 1}); return e },
		"NCE empty":        func() error { _, e := NCE(nil, nil); return e },
	}
	for name, call := range calls {
		if call() == nil {
			t.Errorf("%s: expected an error", name)
		}
	}
}
