package cli

import (
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// defaultExceptions are the only flags whose default may differ between
// commands (their meaning may not). Each is a budget or a choice that is
// the command's own.
var defaultExceptions = map[string]string{
	// train trains one model on a set of its own, without early stopping
	// unless asked; compare, transfer and advise share one transfer budget.
	"epochs":   "train's budget is not a transfer's",
	"patience": "train stops early only when asked; transfers share compare's rule",
	// lr-find's steps are its mini-batches, bench's its timed steps.
	"steps": "a command's own amount of work",
	// bench's cases each have their own batch size; its --batch overrides them all.
	"batch": "bench's 0 keeps each case's own",
	// transfer defaults to lpft, the safe adaptation; doctor and lr-find
	// to finetune, the one that trains every weight (lr-find knows only
	// finetune and probe).
	"strategy": "the command's own typical choice",
	// transfer trains at --lr unless given a grid; compare and advise
	// always search one.
	"lr-grid": "transfer searches only when asked",
	// demo runs with no flags at all, so it names its folder.
	"out": "demo needs no flag to run",
	// train builds the small CNN unless told; import's weights are for
	// the architecture they were trained as, which only the user knows.
	"arch": "import has no architecture to assume",
}

// meaning is what a flag's usage says it is: the text before the first
// semicolon (what follows is the command's own note), without parenthesised
// remarks such as "(required)" or "(Adam)".
func meaning(usage string) string {
	u, _, _ := strings.Cut(strings.ToLower(usage), ";")
	u = regexp.MustCompile(`\([^)]*\)`).ReplaceAllString(u, "")
	return strings.Join(strings.Fields(u), " ")
}

type flagUse struct{ cmd, def, usage string }

// flagUses lists every command's flags by name.
func flagUses(root *cobra.Command) map[string][]flagUse {
	uses := map[string][]flagUse{}
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Deprecated != "" {
				return // an old name kept for scripts: not a meaning
			}
			uses[f.Name] = append(uses[f.Name], flagUse{c.Name(), f.DefValue, f.Usage})
		})
	}
	return uses
}

// A flag name has one meaning and one default across every command.
func TestFlagsHaveOneMeaning(t *testing.T) {
	uses := flagUses(newRoot(io.Discard, io.Discard))
	var names []string
	for n := range uses {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		first := uses[name][0]
		for _, u := range uses[name][1:] {
			if meaning(u.usage) != meaning(first.usage) {
				t.Errorf("--%s means %q in %s but %q in %s: use one meaning (flagMeaning), or rename one", name, meaning(first.usage), first.cmd, meaning(u.usage), u.cmd)
			}
			if _, ok := defaultExceptions[name]; !ok && u.def != first.def {
				t.Errorf("--%s defaults to %q in %s but %q in %s", name, first.def, first.cmd, u.def, u.cmd)
			}
		}
	}
	for name := range defaultExceptions {
		defs := map[string]bool{}
		for _, u := range uses[name] {
			defs[u.def] = true
		}
		if len(defs) < 2 {
			t.Errorf("--%s is in defaultExceptions but has one default: drop it from the list", name)
		}
	}
}

func TestMeaning(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"batch size", "batch size"},
		{"source checkpoint to adapt (required); several, comma-separated", "source checkpoint to adapt"},
		{"learning rate (Adam unless --optimizer); the peak", "learning rate"},
		{"Data-loading  goroutines (default: one per core)", "data-loading goroutines"},
	} {
		if got := meaning(tt.in); got != tt.want {
			t.Errorf("meaning(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// README's command list names every command, and only flags the command
// has; a bracketed optional flag with a literal value shows its default.
func TestReadmeCommandList(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, list, ok := strings.Cut(readme, "## The command line\n\n```\n")
	if !ok {
		t.Fatal("README.md has no command list under \"## The command line\"")
	}
	list, _, _ = strings.Cut(list, "```")
	root := newRoot(io.Discard, io.Discard)
	listed := map[string]bool{}
	placeholder := regexp.MustCompile(`^[A-Z]`) // CKPT, N, LIST…
	flagRe := regexp.MustCompile(`(\[)?--([a-z][a-z0-9-]*)(?: ([^\s\]|]+)(\|[^\s\]]+)?)?`)
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[0] != "graft" {
			t.Errorf("README command list: %q is not a graft command line", line)
			continue
		}
		cmd, _, err := root.Find([]string{fields[1]})
		if err != nil || cmd == root {
			t.Errorf("README lists graft %s, which does not exist", fields[1])
			continue
		}
		listed[cmd.Name()] = true
		for _, m := range flagRe.FindAllStringSubmatch(line, -1) {
			bracketed, name, value := m[1] != "", m[2], m[3]
			f := cmd.Flags().Lookup(name)
			if f == nil {
				f = cmd.InheritedFlags().Lookup(name)
			}
			if f == nil {
				t.Errorf("README: graft %s --%s: no such flag", cmd.Name(), name)
				continue
			}
			// A literal value (not a placeholder like N or CKPT) in
			// brackets is the default the flag has when left out.
			if bracketed && value != "" && !placeholder.MatchString(value) && value != f.DefValue {
				t.Errorf("README: graft %s [--%s %s], but its default is %s", cmd.Name(), name, value, f.DefValue)
			}
		}
	}
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && c.Name() != "help" && c.Name() != "completion" && !listed[c.Name()] {
			t.Errorf("README's command list leaves out graft %s", c.Name())
		}
	}
	// Every flag README mentions anywhere is one some command has.
	known := map[string]bool{"help": true, "version": true}
	root.PersistentFlags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	for _, c := range root.Commands() {
		c.Flags().VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
	}
	for _, m := range regexp.MustCompile("(?:^|[\\s`(\\[])--([a-z][a-z0-9-]*)").FindAllStringSubmatch(readme, -1) {
		if !known[m[1]] {
			t.Errorf("README mentions --%s, which no graft command has", m[1])
		}
	}
}

// The same mistake gets the same message from every command.
func TestSameMistakeSameMessage(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		flag, value, want string
	}{
		{"--batch", "0", "--batch 0: must be at least 1"},
		{"--batch", "-5", "--batch -5: must be at least 1"},
		{"--epochs", "-1", "--epochs -1: must be at least 1"},
	} {
		for _, args := range [][]string{
			{"train", "--train", dir, "--out", dir + "/m"},
			{"transfer", "--base", "b", "--train", dir, "--out", dir + "/m"},
			{"compare", "--base", "b", "--train", dir, "--test", dir, "--out", dir + "/c"},
		} {
			code, _, errs := run(t, append(args, tt.flag, tt.value)...)
			if code == 0 || !strings.Contains(errs, tt.want) {
				t.Errorf("graft %s %s %s: exit %d, %q; want %q", args[0], tt.flag, tt.value, code, strings.TrimSpace(errs), tt.want)
			}
		}
	}
}
