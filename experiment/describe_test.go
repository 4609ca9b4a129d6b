package experiment

import (
	"bytes"
	"strings"
	"testing"
)

func TestCommandLine(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"/usr/bin/graft", "compare", "--out", "x"}, "graft compare --out x"},
		{[]string{"graft", "--train", "my data/", "--base", "it's"}, `graft --train 'my data/' --base 'it'\''s'`},
		{[]string{"graft", "--train", "fashion-mnist?classes=$x"}, `graft --train 'fashion-mnist?classes=$x'`},
	} {
		if got := CommandLine(tt.args); got != tt.want {
			t.Errorf("CommandLine(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestDescribeProtocol(t *testing.T) {
	for _, tt := range []struct {
		name string
		c    Config
		want []string
	}{
		{"refit", Config{Protocol: ProtocolRefit, Folds: 3, ValFraction: 0.2, ShotsStrict: true},
			[]string{"protocol refit: rate and length chosen on up to 3 validation folds of 20% of the shots"}},
		{"holdout grouped", Config{Protocol: ProtocolHoldout, ValFraction: 0.1, ShotsStrict: true, Spec: Spec{Groups: "GTSRB tracks"}},
			[]string{"protocol holdout: 10% of the shots validate", "grouping: GTSRB tracks — no group is on both sides of a split"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.c.DescribeProtocol(&b)
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %q, want %d lines", b.String(), len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(lines[i], w) {
					t.Errorf("line %d: %q, want %q…", i, lines[i], w)
				}
			}
		})
	}
}
