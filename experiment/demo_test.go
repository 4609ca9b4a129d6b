package experiment

import (
	"context"
	"strings"
	"testing"
)

// A country synth does not know stops the demo before it trains, naming
// the flag.
func TestDemoUnknownCountry(t *testing.T) {
	for _, tt := range []struct {
		o    DemoOptions
		want string
	}{
		{DemoOptions{Out: t.TempDir(), Source: "xx", Target: "se"}, "--source: "},
		{DemoOptions{Out: t.TempDir(), Source: "be", Target: "xx"}, "--target: "},
	} {
		for name, demo := range map[string]func(context.Context, DemoOptions, DemoHooks) (*Results, string, error){"classify": Demo, "detect": DemoDetect} {
			if _, _, err := demo(context.Background(), tt.o, DemoHooks{}); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("%s %+v: %v, want %q…", name, tt.o, err, tt.want)
			}
		}
	}
}
