package cli

import "github.com/spf13/cobra"

// subcommands lists every graft subcommand, in the order --help shows them.
func subcommands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newDemoCmd(g),
		newTrainCmd(g),
		newPretrainCmd(g),
		newTransferCmd(g),
		newLRFindCmd(g),
		newDoctorCmd(g),
		newCompareCmd(g),
		newAdviseCmd(g),
		newEvalCmd(g),
		newPredictCmd(g),
		newDetectCmd(g),
		newImportCmd(g),
		newExportCmd(g),
		newSynthCmd(g),
		newBenchCmd(g),
	}
}
