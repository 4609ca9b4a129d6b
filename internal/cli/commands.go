package cli

import "github.com/spf13/cobra"

// subcommands lists every graft subcommand, in the order --help shows them.
func subcommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newTrainCmd(g),
		newEvalCmd(g),
		newPredictCmd(g),
		newSynthCmd(g),
		newBenchCmd(g),
	}
}
