package doctor

import (
	"strings"
	"testing"
)

func TestChecksHelp(t *testing.T) {
	lines := strings.Split(ChecksHelp(), "\n")
	if len(lines) != len(Checks) {
		t.Fatalf("%d lines for %d checks", len(lines), len(Checks))
	}
	for i, c := range Checks {
		if want := "  " + c.Name; !strings.HasPrefix(lines[i], want) || !strings.HasSuffix(lines[i], c.Doc) {
			t.Errorf("line %q, want %s … %s", lines[i], c.Name, c.Doc)
		}
	}
}
