package experiment

import (
	"fmt"
	"io"
	"strings"
)

// DescribeProtocol says in a few lines how c's runs choose and what they
// test, which grouping keeps images apart, and which classes have fewer
// images than the shots ask for (unless ShotsStrict refuses them): what a
// terminal shows before a comparison starts.
func (c Config) DescribeProtocol(w io.Writer) {
	if c.Protocol == ProtocolHoldout {
		fmt.Fprintf(w, "protocol holdout: %.0f%% of the shots validate; the best validation epoch's weights are tested\n", 100*c.ValFraction)
	} else {
		fmt.Fprintf(w, "protocol refit: rate and length chosen on up to %d validation folds of %.0f%% of the shots, then trained on every shot and tested\n", c.Folds, 100*c.ValFraction)
	}
	if c.Spec.Groups != "" {
		fmt.Fprintf(w, "grouping: %s — no group is on both sides of a split\n", c.Spec.Groups)
	}
	if c.ShotsStrict {
		return
	}
	for _, sc := range ShortClassesOf(c.Train, c.Shots) {
		names := strings.Join(sc.Classes[:min(5, sc.Count)], ", ")
		if sc.Count > 5 {
			names += ", …"
		}
		fmt.Fprintf(w, "%d shots: %d classes have fewer images and give all they have (fewest %d): %s\n", sc.Shots, sc.Count, sc.Fewest, names)
	}
}

// CommandLine is args (os.Args of a graft run) as a command to paste back
// into a shell: the program as "graft", arguments with spaces or quotes
// single-quoted. No args give "".
func CommandLine(args []string) string {
	if len(args) == 0 {
		return ""
	}
	parts := []string{"graft"}
	for _, a := range args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}
