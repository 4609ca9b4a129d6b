package cli

import (
	"io"
	"strings"
	"testing"
)

// An interrupted command says how to continue, and names --resume exactly
// where the command has it: `compare --resume` must not be suggested to a
// command that refuses it.
func TestResumeHint(t *testing.T) {
	root := newRoot(io.Discard, io.Discard)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"compare", "--base", "b", "--out", "o"}, "rerun the same command to continue where it stopped"},
		{[]string{"advise", "--base", "b"}, "rerun the same command to continue where it stopped"},
		{[]string{"train", "--train", "t", "--out", "o"}, "rerun the same command with --resume to continue where it stopped"},
	} {
		if got := resumeHint(root, tc.args); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.args[0], got, tc.want)
		}
	}
	for _, cmd := range root.Commands() {
		hint := resumeHint(root, []string{cmd.Name()})
		if has := cmd.Flags().Lookup("resume") != nil; has != strings.Contains(hint, "--resume") {
			t.Errorf("%s: has --resume %v, but the hint says %q", cmd.Name(), has, hint)
		}
	}
}
