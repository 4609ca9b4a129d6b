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
		if _, _, err := Demo(context.Background(), tt.o, DemoHooks{}); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q…", tt.o, err, tt.want)
		}
	}
}
