package synth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/graftml/graft/data"
)

func TestScenesWriteReadsBackAsCOCO(t *testing.T) {
	s, err := NewScenes(SceneConfig{Country: "de", Classes: []string{"stop", "limit50", "crossing", "one-way", "zone30"}, Images: 6, Width: 160, Height: 120, Seed: 3, Difficulty: 0.7})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := WriteScenes(context.Background(), s, dir, nil); err != nil {
		t.Fatal(err)
	}
	d, err := data.OpenCOCO(filepath.Join(dir, SceneAnnotations), data.DetectionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Classes(), ",") != strings.Join(s.Classes(), ",") || d.Len() != s.Len() {
		t.Fatalf("read back %d images of %v, want %d of %v", d.Len(), d.Classes(), s.Len(), s.Classes())
	}
	boxes := 0
	for i := range s.Len() {
		got, want := d.Boxes(i), s.Boxes(i)
		if len(got) != len(want) {
			t.Fatalf("image %d: %d boxes read back, %d drawn", i, len(got), len(want))
		}
		for k := range got {
			g, w := got[k], want[k]
			if g.Class != w.Class || math.Abs(g.X1-w.X1)+math.Abs(g.Y1-w.Y1)+math.Abs(g.X2-w.X2)+math.Abs(g.Y2-w.Y2) > 1e-9 {
				t.Errorf("image %d box %d: read back %+v, drawn %+v", i, k, g, w)
			}
		}
		boxes += len(got)
		im, err := d.Image(i)
		if err != nil {
			t.Fatal(err)
		}
		orig, _ := s.Image(i)
		for j, v := range orig.Pix {
			if q := float32(quant(v)) / 255; math.Abs(float64(im.Pix[j]-q)) > 1e-6 {
				t.Fatalf("image %d pixel %d: file has %v, render %v", i, j, im.Pix[j], q)
			}
		}
	}
	if boxes < s.Len() {
		t.Errorf("%d boxes in %d scenes; want at least one sign per scene on average", boxes, s.Len())
	}
}

// TestSceneBoxesFitSigns draws every class alone on a flat canvas, turned
// and tilted, and checks that the painted pixels fill the box: none more
// than a pixel outside it and every edge touched within a pixel and a half.
func TestSceneBoxesFitSigns(t *testing.T) {
	for _, code := range []string{"be", "de", "se"} {
		s, err := NewScenes(SceneConfig{Country: code, Images: 1, Width: 160, Height: 160, Shift: 1})
		if err != nil {
			t.Fatal(err)
		}
		for k := range s.defs {
			for _, tc := range []struct{ size, yaw, pitch, roll float64 }{{14, 0, 0, 0}, {60, 35, -10, 8}, {90, -30, 12, -5}} {
				sg := streetSign{def: k, cx: 80, cy: 80, size: tc.size, yaw: tc.yaw, pitch: tc.pitch, roll: tc.roll, useCountry: true}
				st := s.signStyle(&sg)
				box, ok := placeBox(signOutline(&s.defs[k], &st), &sg, 160, 160)
				if !ok {
					t.Fatalf("%s %s: does not fit", code, s.defs[k].name)
				}
				sg.box = box
				sc := streetPool.Get().(*streetScratch)
				sc.p.resize(160, 160)
				fillPlanes(sc.p.cv, 160*160, RGB{0.5, 0.5, 0.5})
				sg.footY = sg.cy // no pole
				s.drawSign(sc, &sg, 1, 2)
				x0, y0, x1, y1 := 1e9, 1e9, -1e9, -1e9
				for y := range 160 {
					for x := range 160 {
						i := y*160 + x
						if math.Abs(float64(sc.p.cv[i]-0.5))+math.Abs(float64(sc.p.cv[160*160+i]-0.5))+math.Abs(float64(sc.p.cv[2*160*160+i]-0.5)) > 0.06 {
							x0, y0, x1, y1 = math.Min(x0, float64(x)), math.Min(y0, float64(y)), math.Max(x1, float64(x+1)), math.Max(y1, float64(y+1))
						}
					}
				}
				streetPool.Put(sc)
				if x0 < box.X1-1 || y0 < box.Y1-1 || x1 > box.X2+1 || y1 > box.Y2+1 ||
					x0 > box.X1+1.5 || y0 > box.Y1+1.5 || x1 < box.X2-1.5 || y1 < box.Y2-1.5 {
					t.Errorf("%s %s %+v: painted (%g,%g)-(%g,%g), box (%g,%g)-(%g,%g)", code, s.defs[k].name, tc, x0, y0, x1, y1, box.X1, box.Y1, box.X2, box.Y2)
				}
			}
		}
	}
}

func TestScenesLayout(t *testing.T) {
	s, err := NewScenes(SceneConfig{Country: "it", Images: 60, Seed: 9, Difficulty: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	sizes := map[string]int{}
	several, classes := 0, map[int]bool{}
	for i := range s.Len() {
		bs := s.Boxes(i)
		if len(bs) > 1 {
			several++
		}
		for k, b := range bs {
			if b.X1 < 0 || b.Y1 < 0 || b.X2 > float64(cfg.Width) || b.Y2 > float64(cfg.Height) {
				t.Errorf("image %d: box %+v outside %dx%d", i, b, cfg.Width, cfg.Height)
			}
			side := math.Max(b.W(), b.H())
			if side < 0.5*float64(cfg.MinSign) || side > 1.2*float64(cfg.MaxSign) {
				t.Errorf("image %d: box %+v is %g px, outside %d..%d", i, b, side, cfg.MinSign, cfg.MaxSign)
			}
			switch {
			case side < 32:
				sizes["small"]++
			case side < 64:
				sizes["medium"]++
			default:
				sizes["large"]++
			}
			classes[b.Class] = true
			if k > 0 && math.Max(bs[k-1].W(), bs[k-1].H()) > side+0.2*side {
				t.Errorf("image %d: boxes not ordered far (small) to near", i)
			}
		}
	}
	if several < s.Len()/3 || len(classes) < 20 || sizes["small"] == 0 || sizes["medium"] == 0 || sizes["large"] == 0 {
		t.Errorf("%d of %d scenes with several signs, %d classes, sizes %v: want several per scene, many classes, all sizes", several, s.Len(), len(classes), sizes)
	}
	easy, _ := NewScenes(SceneConfig{Country: "it", Images: 60, Seed: 9, Difficulty: 0})
	for i := range s.Len() {
		if len(easy.Boxes(i)) == 0 || easy.Boxes(i)[0].Class == -1 {
			t.Fatalf("easy image %d has no sign", i)
		}
	}
}

func TestSceneConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg  SceneConfig
		want string
	}{
		{SceneConfig{Country: "xx"}, "xx"},
		{SceneConfig{Width: 32}, "64 to 4096"},
		{SceneConfig{MaxSign: 200}, "at most 144 px"},
		{SceneConfig{MinSign: 30, MaxSign: 20}, "min <= max"},
		{SceneConfig{MaxSigns: 40}, "1 to 32"},
		{SceneConfig{Difficulty: 2}, "difficulty"},
		{SceneConfig{Images: -1}, "negative"},
		{SceneConfig{Classes: []string{"nope"}}, "unknown class"},
	} {
		if _, err := NewScenes(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
	if s, err := NewScenes(SceneConfig{Width: 100, Height: 80}); err != nil || s.Config().MaxSign != 48 {
		t.Errorf("small scene: %v; want the largest sign lowered to 60 %% of 80 px", err)
	}
}

func TestSceneSheet(t *testing.T) {
	s, err := NewScenes(SceneConfig{Images: 3, Width: 96, Height: 64, Seed: 2, MaxSign: 30})
	if err != nil {
		t.Fatal(err)
	}
	img, err := SceneSheet(s, SceneSheetOptions{Columns: 2})
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*10+2*96+8 || b.Dy() != 2*10+24+2*64+8 {
		t.Errorf("sheet %v, want 2 columns and 2 rows of 96x64", b)
	}
	// The first box's outline is in its class's colour.
	b := s.Boxes(0)[0]
	c := img.NRGBAAt(10+int(math.Floor(b.X1))-1, 10+24+int(math.Floor(b.Y1)+math.Ceil(b.Y2))/2)
	if c != boxColours[b.Class%len(boxColours)] {
		t.Errorf("box outline colour %v, want %v", c, boxColours[b.Class%len(boxColours)])
	}
}

// TestGoldenScenes pins the bytes of a few scenes and of the annotation
// file, as TestGoldenPixels does for signs: same seed, same bytes.
func TestGoldenScenes(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skipf("golden pixels are recorded on amd64, not %s", runtime.GOARCH)
	}
	var b strings.Builder
	for _, tc := range []SceneConfig{
		{Country: "be", Images: 3, Seed: 1, Difficulty: 0},
		{Country: "de", Images: 3, Seed: 1, Shift: 1, Difficulty: 0.5},
		{Country: "es", Images: 2, Seed: 7, Shift: 0.5, Difficulty: 1, Width: 200, Height: 150},
	} {
		s, err := NewScenes(tc)
		if err != nil {
			t.Fatal(err)
		}
		js, err := sceneCOCO(s)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s seed=%d shift=%g difficulty=%g annotations %x\n", tc.Country, tc.Seed, tc.Shift, tc.Difficulty, sha256.Sum256(js))
		for i := range s.Len() {
			img, _ := s.NRGBA(i)
			fmt.Fprintf(&b, "%s seed=%d shift=%g difficulty=%g image %d %x\n", tc.Country, tc.Seed, tc.Shift, tc.Difficulty, i, sha256.Sum256(img.Pix))
		}
	}
	path := filepath.Join("testdata", "scenes.golden")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenScenes -update to create it)", err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Errorf("scenes changed:\n got %s\nwant %s", gl[i], wl[i])
			}
		}
		t.Error("scene bytes changed; if that is intended, run go test ./synth -run TestGoldenScenes -update and say so in the commit message")
	}
}
