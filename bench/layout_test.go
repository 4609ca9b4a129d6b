package bench

import "testing"

func TestLayout(t *testing.T) {
	for _, tc := range []struct {
		flag   string
		want   Layout
		cl     map[string]bool // model → NHWC?
		header string
	}{
		{"", LayoutAuto, map[string]bool{"smallcnn": true, "resnet18": true, "vgg11": false, "ssd_smallcnn": true, "ssdlite320_mobilenet_v3_large": true, "ssd300_vgg16": false}, "each architecture's layout (smallcnn NHWC, resnet18 NHWC)"},
		{"AUTO", LayoutAuto, nil, "each architecture's layout (smallcnn NHWC, resnet18 NHWC)"},
		{"nchw", LayoutNCHW, map[string]bool{"smallcnn": false, "resnet18": false, "ssd_smallcnn": false}, "NCHW"},
		{" nhwc", LayoutNHWC, map[string]bool{"smallcnn": true, "vgg11": true}, "NHWC"},
	} {
		l, err := ParseLayout(tc.flag)
		if err != nil || l != tc.want {
			t.Fatalf("ParseLayout(%q) = %q, %v; want %q", tc.flag, l, err, tc.want)
		}
		for m, want := range tc.cl {
			if got := l.ChannelsLast(m); got != want {
				t.Errorf("%s: %s NHWC = %v, want %v", l, m, got, want)
			}
		}
		if got := l.describe([]string{"smallcnn", "resnet18"}); got != tc.header {
			t.Errorf("%s: header %q, want %q", l, got, tc.header)
		}
	}
	if _, err := ParseLayout("nhcw"); err == nil {
		t.Error("a misspelt layout was accepted")
	}
}
