package metrics

import "testing"

func TestBoxIoU(t *testing.T) {
	cases := []struct {
		name string
		a, b Box
		want float64
	}{
		{"same", big, big, 1},
		// 80×100 overlap over 10,000 + 10,000 − 8,000.
		{"shifted 20", big, xywh(20, 0, 100, 100), 8000.0 / 12000},
		{"inside", big, xywh(0, 0, 100, 75), .75},
		{"touching", big, xywh(100, 0, 100, 100), 0},
		{"apart", big, xywh(300, 300, 10, 10), 0},
		{"zero area", big, xywh(10, 10, 0, 0), 0},
		{"both zero area", xywh(10, 10, 0, 0), xywh(10, 10, 0, 0), 0},
		// VOC's pixels 1..10 and 6..15 in x, 1..10 in y: the devkit's
		// overlap is (10−6+1)·10 / (100 + 100 − 50) = 1/3.
		{"VOC +1 pixels", BoxVOC(1, 1, 10, 10), BoxVOC(6, 1, 15, 10), 1.0 / 3},
		{"negative coordinates", xywh(-50, -50, 100, 100), xywh(-50, -50, 100, 50), .5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.IoU(tc.b); got != tc.want {
				t.Errorf("IoU = %v, want %v", got, tc.want)
			}
			if got := tc.b.IoU(tc.a); got != tc.want {
				t.Errorf("IoU reversed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestBoxConversions(t *testing.T) {
	if got, want := BoxXYWH(10, 20, 30, 40), (Box{10, 20, 40, 60}); got != want {
		t.Errorf("BoxXYWH = %v, want %v", got, want)
	}
	// VOC's xmin=1..xmax=10 covers 10 pixels.
	if got := BoxVOC(1, 1, 10, 20).Area(); got != 200 {
		t.Errorf("BoxVOC(1, 1, 10, 20).Area() = %v, want 10·20", got)
	}
}
