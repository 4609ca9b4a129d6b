package doctor

import (
	"fmt"
	"strings"
)

// ChecksHelp lists the checks, a name and its doc a line, indented for a
// command's help.
func ChecksHelp() string {
	var b strings.Builder
	for _, c := range Checks {
		fmt.Fprintf(&b, "  %-14s %s\n", c.Name, c.Doc)
	}
	return strings.TrimRight(b.String(), "\n")
}
