package cli

import "github.com/spf13/cobra"

// newPretrainCmd is graft train under the name transfer learning uses for
// it: training the source model that strategies later adapt. Same flags.
func newPretrainCmd(g *globals) *cobra.Command {
	cmd := newTrainCmd(g)
	cmd.Use = "pretrain --arch NAME --train DATA [--val DATA] --epochs N --out CKPT"
	cmd.Short = "Train a source model to transfer from (graft train under another name)"
	cmd.Example = `  graft synth --country be --per-class 100 --out be-signs
  graft pretrain --arch smallcnn --train be-signs --epochs 15 --out be`
	return cmd
}
