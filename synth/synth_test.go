package synth

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/graftml/graft/data"
)

func mustNew(t *testing.T, cfg Config) *Set {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	return s
}

func mustImage(t *testing.T, s *Set, i int) *data.Image {
	t.Helper()
	im, err := s.Image(i)
	if err != nil {
		t.Fatalf("Image(%d): %v", i, err)
	}
	return im
}

func TestDeterminism(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"clean", Config{Country: "be", PerClass: 2, Size: 24, Seed: 1}},
		{"medium", Config{Country: "de", PerClass: 2, Size: 32, Seed: 2, Shift: 0.5, Difficulty: 0.5}},
		{"hard odd size", Config{Country: "se", PerClass: 2, Size: 17, Seed: 3, Shift: 1, Difficulty: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustNew(t, tc.cfg), mustNew(t, tc.cfg)
			other := tc.cfg
			other.Seed += 100
			c := mustNew(t, other)
			// Render a's samples concurrently to catch shared scratch state.
			got := make([]*data.Image, a.Len())
			var wg sync.WaitGroup
			for i := range a.Len() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i], _ = a.Image(i)
				}()
			}
			wg.Wait()
			differs := 0
			for i := range a.Len() {
				if got[i] == nil {
					t.Fatalf("sample %d failed", i)
				}
				if !slices.Equal(got[i].Pix, mustImage(t, b, i).Pix) {
					t.Fatalf("%s: same seed rendered different pixels", a.Source(i))
				}
				if !slices.Equal(got[i].Pix, mustImage(t, c, i).Pix) {
					differs++
				}
			}
			// Clean samples of one class are identical whatever the seed.
			if tc.cfg.Difficulty > 0 && differs < a.Len() {
				t.Errorf("only %d of %d samples changed with the seed", differs, a.Len())
			}
		})
	}
}

func TestSelectionDoesNotChangeSamples(t *testing.T) {
	all := mustNew(t, Config{Country: "it", PerClass: 2, Size: 24, Seed: 5, Shift: 1, Difficulty: 0.8})
	one := mustNew(t, Config{Country: "it", Classes: []string{"stop"}, PerClass: 2, Size: 24, Seed: 5, Shift: 1, Difficulty: 0.8})
	k := slices.Index(all.Classes(), "stop")
	for j := range 2 {
		a := mustImage(t, all, j*len(all.Classes())+k)
		b := mustImage(t, one, j)
		if !slices.Equal(a.Pix, b.Pix) {
			t.Errorf("sample %d of stop differs when other classes are selected", j)
		}
	}
}

func TestRenderMatchesSet(t *testing.T) {
	s := mustNew(t, Config{Country: "es", Classes: []string{"limit90"}, PerClass: 3, Size: 20, Seed: 9, Shift: 0.7, Difficulty: 0.6})
	want, err := s.NRGBA(2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Render(Sample{Country: "es", Class: "limit90", Index: 2, Seed: 9, Size: 20, Shift: 0.7, Difficulty: 0.6})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Pix, want.Pix) {
		t.Error("Render and Set.NRGBA disagree")
	}
}

// TestEveryCountryRendersEveryClass checks each class draws something
// sign-like in every country: finite values in range, and the clean sign's
// centre region differs from the plain background.
func TestEveryCountryRendersEveryClass(t *testing.T) {
	for _, code := range CountryCodes() {
		t.Run(code, func(t *testing.T) {
			cat, err := Catalogue(code)
			if err != nil {
				t.Fatal(err)
			}
			if len(cat) < 30 {
				t.Errorf("%d classes, want at least 30", len(cat))
			}
			for _, d := range []float64{0, 1} {
				s := mustNew(t, Config{Country: code, PerClass: 1, Size: 24, Seed: 11, Shift: 1, Difficulty: d})
				for i := range s.Len() {
					im := mustImage(t, s, i)
					for _, v := range im.Pix {
						if !(v >= 0 && v <= 1) {
							t.Fatalf("%s: value %v out of [0,1]", s.Source(i), v)
						}
					}
					if d == 0 && signPixels(im) < 20 {
						t.Errorf("%s: only %d pixels differ from the background", s.Source(i), signPixels(im))
					}
				}
			}
		})
	}
}

func signPixels(im *data.Image) int {
	n := im.H * im.W
	bg := [3]float32{flatBackground.R, flatBackground.G, flatBackground.B}
	count := 0
	for y := im.H / 4; y < 3*im.H/4; y++ {
		for x := im.W / 4; x < 3*im.W/4; x++ {
			var d float64
			for c := range 3 {
				d += math.Abs(float64(im.Pix[c*n+y*im.W+x] - bg[c]))
			}
			if d > 0.1 {
				count++
			}
		}
	}
	return count
}

func TestCatalogues(t *testing.T) {
	base, err := Catalogue(Base)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range CountryCodes() {
		cat, _ := Catalogue(code)
		names := map[string]bool{}
		for i, c := range cat {
			if c.ID != i {
				t.Errorf("%s: class %q has ID %d at position %d", code, c.Name, c.ID, i)
			}
			if names[c.Name] {
				t.Errorf("%s: duplicate class name %q", code, c.Name)
			}
			names[c.Name] = true
			if i < len(sharedDefs) && (c.Name != base[i].Name || c.Meaning != base[i].Meaning) {
				t.Errorf("%s: shared class %d is %q, base has %q", code, i, c.Name, base[i].Name)
			}
		}
	}
}

func TestShiftZeroIsBase(t *testing.T) {
	for _, code := range CountryCodes() {
		for _, d := range []float64{0, 0.7} {
			cfg := Config{Country: code, Classes: []string{"limit50", "pedestrians", "end-restrictions", "one-way", "no-overtaking"}, PerClass: 2, Size: 24, Seed: 4, Difficulty: d}
			shifted := mustNew(t, cfg)
			cfg.Country = Base
			base := mustNew(t, cfg)
			for i := range base.Len() {
				if !slices.Equal(mustImage(t, shifted, i).Pix, mustImage(t, base, i).Pix) {
					t.Errorf("%s difficulty %g: %s at shift 0 differs from the base style", code, d, shifted.Source(i))
				}
			}
		}
	}
}

func TestShiftOneDiffersFromBase(t *testing.T) {
	for _, code := range CountryCodes()[1:] {
		cfg := Config{Country: code, PerClass: 1, Size: 24, Seed: 4, Shift: 1}
		shifted := mustNew(t, cfg)
		cfg.Shift = 0
		base := mustNew(t, cfg)
		same := 0
		for i := range base.Len() {
			if slices.Equal(mustImage(t, shifted, i).Pix, mustImage(t, base, i).Pix) {
				t.Logf("%s looks like the base", shifted.Source(i))
				same++
			}
		}
		if same > 0 {
			t.Errorf("%s: %d classes look exactly like the base style at shift 1", code, same)
		}
	}
}

func TestBlendEndpoints(t *testing.T) {
	for _, c := range Countries() {
		if got := Blend(baseStyle, c.Style(), 0, false); got != baseStyle {
			t.Errorf("%s: Blend at 0 is not the base style", c.Code)
		}
		if got := Blend(baseStyle, c.Style(), 1, true); got != c.Style() {
			t.Errorf("%s: Blend at 1 is not the country style", c.Code)
		}
	}
}

func TestClassMap(t *testing.T) {
	codes := CountryCodes()
	for _, a := range codes {
		for _, b := range codes {
			rows, err := ClassMap(a, b)
			if err != nil {
				t.Fatal(err)
			}
			ca, _ := Catalogue(a)
			cb, _ := Catalogue(b)
			ca2, _ := LookupCountry(a)
			inMap := map[string]bool{}
			for _, r := range rows {
				if ca[r.A].Meaning != r.Meaning || cb[r.B].Meaning != r.Meaning {
					t.Errorf("%s->%s: row %+v does not match the catalogues", a, b, r)
				}
				inMap[ca[r.A].Name] = true
			}
			for _, d := range sharedDefs {
				if !inMap[d.name] {
					t.Errorf("%s->%s: shared class %q is missing", a, b, d.name)
				}
			}
			for _, only := range ca2.Only {
				if inMap[only] != (a == b) {
					t.Errorf("%s->%s: country-only class %q present=%v", a, b, only, inMap[only])
				}
			}
			back, _ := ClassMap(b, a)
			if len(back) != len(rows) {
				t.Errorf("%s<->%s: %d rows one way, %d the other", a, b, len(rows), len(back))
			}
		}
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want []string
	}{
		{"country", Config{Country: "xx"}, []string{`unknown country "xx"`, "be, at, de"}},
		{"class", Config{Classes: []string{"limit30", "limit45"}}, []string{`unknown class "limit45"`, "limit30", "stop"}},
		{"other country's class", Config{Country: "de", Classes: []string{"elk"}}, []string{`unknown class "elk"`}},
		{"size", Config{Size: 4}, []string{"size 4 px"}},
		{"shift", Config{Shift: 1.5}, []string{"shift 1.5"}},
		{"difficulty", Config{Difficulty: math.NaN()}, []string{"difficulty NaN"}},
		{"per class", Config{PerClass: -1}, []string{"per-class count -1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestClassSelection(t *testing.T) {
	cat, _ := Catalogue("de")
	for _, tc := range []struct {
		sel  []string
		want []int
	}{
		{nil, nil},
		{[]string{"all"}, nil},
		{[]string{"stop", "1", "01", " limit20 "}, []int{0, 1, 8}},
		{[]string{"zone30"}, []int{40}},
	} {
		got, err := selectClasses(cat, tc.sel)
		if err != nil {
			t.Fatalf("%q: %v", tc.sel, err)
		}
		if tc.want == nil {
			if len(got) != len(cat) {
				t.Errorf("%q: %d classes, want all %d", tc.sel, len(got), len(cat))
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, want %v", tc.sel, got, tc.want)
		}
	}
}

func TestDatasetContract(t *testing.T) {
	s := mustNew(t, Config{Country: "at", Classes: []string{"limit130", "yield", "stop"}, PerClass: 4, Size: 16, Seed: 1})
	if s.Len() != 12 {
		t.Fatalf("Len = %d, want 12", s.Len())
	}
	if got := s.Classes(); !slices.Equal(got, []string{"stop", "yield", "limit130"}) {
		t.Errorf("Classes = %v", got)
	}
	counts := make([]int, 3)
	for i := range s.Len() {
		counts[s.Label(i)]++
		im := mustImage(t, s, i)
		if im.C != 3 || im.H != 16 || im.W != 16 || len(im.Pix) != 3*16*16 {
			t.Fatalf("image %d has shape %dx%dx%d", i, im.C, im.H, im.W)
		}
	}
	if !slices.Equal(counts, []int{4, 4, 4}) {
		t.Errorf("label counts %v, want balanced", counts)
	}
	if got := s.Source(4); got != "synth:at/09-yield#1" {
		t.Errorf("Source(4) = %q", got)
	}
	_, err := s.Image(12)
	var es *data.ErrSample
	if !errors.As(err, &es) {
		t.Errorf("out-of-range Image error %v is not a *data.ErrSample", err)
	}
}

func TestSplitDisjoint(t *testing.T) {
	train, test, err := Split(Config{Country: "de", Classes: []string{"stop"}, PerClass: 3, Size: 16, Seed: 2, Difficulty: 0.5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range train.Len() {
		seen[train.Source(i)] = true
	}
	for i := range test.Len() {
		if seen[test.Source(i)] {
			t.Errorf("%s is in both train and test", test.Source(i))
		}
		for j := range train.Len() {
			if slices.Equal(mustImage(t, test, i).Pix, mustImage(t, train, j).Pix) {
				t.Errorf("test %d equals train %d", i, j)
			}
		}
	}
	if _, _, err := Split(Config{}, 0); err == nil {
		t.Error("Split with an empty test set gave no error")
	}
}

func TestSheet(t *testing.T) {
	img, err := Sheet("se", SheetOptions{Size: 16, Variants: 2, Columns: 7, Shift: 1, Difficulty: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 7*2*16 || b.Dy() < 6*16 {
		t.Errorf("sheet is only %v", b)
	}
	if _, err := Sheet("zz", SheetOptions{}); err == nil || !strings.Contains(err.Error(), "known countries") {
		t.Errorf("unknown country error = %v", err)
	}
}
