// Package cli holds graft's subcommands. Each file defines one subcommand:
// a cobra command that only parses flags into an options struct and calls a
// plain run function, so the behaviour is testable without a process.
// Every run function has one signature (runFunc); flags that several
// commands take come from flags.go, alone or in groups (Engine,
// Adaptation), with one meaning and one default each. The work is the
// library's: a command maps its flags, checks them with the shared
// validators, calls into the packages and prints what they return.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/graftml/graft/internal/buildinfo"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// globals are the flags every subcommand shares.
type globals struct {
	quiet bool
	json  bool
}

// runFunc is every command's run function: the options its flags fill,
// the global flags, and where to print.
type runFunc[O any] func(ctx context.Context, o O, g *globals, stdout, stderr io.Writer) error

// runE is a command's RunE: bind, when given, copies arguments (and what
// only the command knows, such as which flags were set) into the options,
// then run runs with them.
func runE[O any](g *globals, o *O, run runFunc[O], bind ...func(cmd *cobra.Command, args []string)) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		for _, b := range bind {
			b(cmd, args)
		}
		return run(cmd.Context(), *o, g, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
}

// newRoot builds the command tree. Subcommands are listed here by hand so the
// whole CLI is visible in one place (no init() registration).
func newRoot(stdout, stderr io.Writer) *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "graft",
		Short: "Adapt pretrained image models to new data, and measure which way works best",
		Long: `graft trains, evaluates and adapts image classifiers on libtorch.

It answers "should I fine-tune, freeze some layers, use the network as a
feature extractor or train from scratch?" by running the candidates on your
data and measuring them.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.Version(),
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print no progress bars or chatter")
	root.PersistentFlags().BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	for _, sub := range subcommands(g) {
		root.AddCommand(sub)
	}
	return root
}

// Main runs graft with args and returns the process exit code. Errors are
// printed as one line; no panic escapes as a stack trace.
func Main(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "graft: internal error: %v\n(this is a bug; please report it with the command you ran)\n", r)
			code = 3
		}
	}()
	if err := torch.CheckShim(); err != nil {
		fmt.Fprintf(stderr, "graft: %v\n", err)
		return 1
	}
	// Keep freed activations in the heap between steps (1 GiB at most):
	// measured ~30% faster training on the small CNN here.
	torch.TuneAllocator(1 << 30)
	// Imported ONNX models keep their graph beside their weights; this
	// lets every command load and save them like built-ins.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "graft: interrupted; %s\n", resumeHint(root, args))
			return 130
		}
		fmt.Fprintf(stderr, "graft: %v\n", err)
		return 1
	}
	return 0
}

// resumeHint says how to continue an interrupted command: commands that
// resume by themselves when rerun (compare, advise, demo) have no --resume
// to name; train, which starts over unless told, does.
func resumeHint(root *cobra.Command, args []string) string {
	how := "rerun the same command"
	if cmd, _, err := root.Find(args); err == nil && cmd.Flags().Lookup("resume") != nil {
		how += " with --resume"
	}
	return how + " to continue where it stopped"
}
