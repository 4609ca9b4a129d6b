package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// ImportOptions are graft import's flags.
type ImportOptions struct {
	Source  string
	Out     string
	Size    int
	Classes int
	Labels  string
	Stages  string
	Arch    string
	Naming  string
	Drop    bool
	Norm    string
	Mean    string
	Std     string
	Threads int
}

func newImportCmd(g *globals) *cobra.Command {
	o := ImportOptions{}
	cmd := &cobra.Command{
		Use:   "import MODEL --out CKPT [flags]",
		Short: "Bring a pretrained model in: an ONNX graph, or PyTorch/safetensors weights",
		Long: `Turn a pretrained model into a graft checkpoint that train, transfer, eval,
predict and export accept.

MODEL is either
  an ONNX image classifier (.onnx): its graph becomes a trainable model whose
    parameters keep the ONNX initializer names, cut into stages (stem,
    stage1…N, head) at resolution changes — or as a graft export records
    them, with their names and class names — with a replaceable classifier;
    the checkpoint keeps the graph beside the weights (CKPT.graph.onnx);
  or weights for a built-in architecture (--arch): a PyTorch state_dict as
    torch.save writes it (.pth, .pt, .bin) or a .safetensors file, under
    torchvision's or timm's names.

Preprocessing travels with the checkpoint: the input size and channels come
from the graph (or --size), the normalisation from the model's metadata,
else ImageNet's for RGB (override with --norm, or --mean/--std).

Class names come from --labels, else from a graft export's metadata, else
they are class0…classN-1, which eval takes as the data's own names when the
class counts agree.`,
		Example: `  graft import resnet18.onnx --out r18
  graft import mobilenet.onnx --size 160 --num-classes 43 --out signs-base
  graft import net.onnx --stages layer1,layer2,layer3 --out net
  graft import resnet50-weights.pth --arch resnet50 --out r50
  graft import timm-mobilenetv2.safetensors --arch mobilenet_v2 --num-classes 10 --drop-classifier --out mb`,
		Args: cobra.ExactArgs(1),
		RunE: runE(g, &o, runImport, func(cmd *cobra.Command, args []string) {
			o.Source = args[0]
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.Out, "out", "", withNote("out", "the checkpoint to write (required)"))
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the model's input (required when the graph leaves it open)"))
	f.IntVar(&o.Classes, "num-classes", 0, "replace the classifier with a fresh one for this many classes")
	// --classes was --num-classes before synth's --classes (names) made it
	// mean two things; kept so that scripts still run.
	f.IntVar(&o.Classes, "classes", 0, "")
	_ = f.MarkDeprecated("classes", "use --num-classes") // the flag exists: cannot fail
	f.StringVar(&o.Labels, "labels", "", "file of class names, one per line (sets --num-classes)")
	f.StringVar(&o.Stages, "stages", "", "ONNX: comma-separated nodes (or module prefixes like layer1) to end stages after")
	f.StringVar(&o.Arch, "arch", "", withNote("arch", "weights only: the one they are for"))
	f.StringVar(&o.Naming, "naming", "", "weights: parameter names, torchvision or timm (default: detected)")
	f.BoolVar(&o.Drop, "drop-classifier", false, "weights: keep a fresh classifier when the class counts differ")
	f.StringVar(&o.Norm, "norm", "", withNote("norm", "instead of the model's"))
	f.StringVar(&o.Mean, "mean", "", "per-channel mean on [0,1] pixels, comma-separated (with --std)")
	f.StringVar(&o.Std, "std", "", "per-channel std, comma-separated (with --mean)")
	threadsFlag(f, &o.Threads)
	return cmd
}

func runImport(ctx context.Context, o ImportOptions, g *globals, stdout, stderr io.Writer) error {
	if o.Out == "" {
		return fmt.Errorf("--out is required: the checkpoint to write")
	}
	if err := torch.SetNumThreads(max(o.Threads, 1)); err != nil {
		return err
	}
	var classes []string
	if o.Labels != "" {
		var err error
		if classes, err = data.ReadLabels(o.Labels); err != nil {
			return fmt.Errorf("--labels: %w", err)
		}
		if o.Classes != 0 && o.Classes != len(classes) {
			return fmt.Errorf("--num-classes %d but --labels %s lists %d classes", o.Classes, o.Labels, len(classes))
		}
		o.Classes = len(classes)
	}
	if o.Classes == 1 || o.Classes < 0 {
		return fmt.Errorf("--num-classes %d: a classifier needs at least 2 classes", o.Classes)
	}
	if dir := filepath.Dir(o.Out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	if onnx.IsGraphFile(o.Source) {
		return importONNX(o, classes, g, stdout)
	}
	return importWeights(o, classes, g, stdout)
}

// applyNorm overrides the normalisation with --norm or --mean/--std.
func applyNorm(pre data.Preprocess, o ImportOptions) (data.Preprocess, error) {
	var mean, std []float32
	if o.Mean != "" || o.Std != "" {
		if o.Norm != "" {
			return pre, fmt.Errorf("--norm and --mean/--std both given; use one")
		}
		var err error
		if mean, err = floats(o.Mean, "--mean"); err != nil {
			return pre, err
		}
		if std, err = floats(o.Std, "--std"); err != nil {
			return pre, err
		}
	}
	return pre.WithNorm(o.Norm, mean, std)
}

func floats(s, flag string) ([]float32, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is required with --mean/--std", flag)
	}
	var out []float32
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", flag, p)
		}
		out = append(out, float32(v))
	}
	return out, nil
}

func importONNX(o ImportOptions, classes []string, g *globals, stdout io.Writer) error {
	if o.Arch != "" || o.Naming != "" || o.Drop {
		return fmt.Errorf("--arch, --naming and --drop-classifier are for weights files; %s is an ONNX graph", o.Source)
	}
	opts := onnx.ImportOptions{Size: o.Size, Classes: o.Classes, NormGiven: o.Norm != "" || o.Mean != "" || o.Std != ""}
	if o.Stages != "" {
		for _, s := range strings.Split(o.Stages, ",") {
			if s = strings.TrimSpace(s); s != "" {
				opts.Stages = append(opts.Stages, s)
			}
		}
	}
	m, info, err := onnx.Import(o.Source, opts)
	if err != nil {
		return err
	}
	defer m.Free()
	pre, err := applyNorm(info.Preprocess, o)
	if err != nil {
		return err
	}
	info.Preprocess = pre
	if classes == nil && len(info.Classes) == m.NumClasses {
		classes = info.Classes
	}
	unnamed := classes == nil
	if unnamed {
		classes = data.UnnamedClasses(m.NumClasses)
	}
	if err := onnx.Checkpoints.Save(o.Out, m, checkpoint.Meta{Classes: classes, Preprocess: pre}, nil); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, struct {
			Checkpoint string `json:"checkpoint"`
			onnx.Info
		}{o.Out, info})
	}
	if g.quiet {
		return nil
	}
	onnx.WriteImport(stdout, m, info)
	if unnamed {
		fmt.Fprintf(stdout, "note: %s\n", unnamedNote(m.NumClasses))
	}
	fmt.Fprintf(stdout, "wrote %s (+ %s)\n", o.Out, filepath.Base(onnx.GraphPath(o.Out)))
	return nil
}

func importWeights(o ImportOptions, classes []string, g *globals, stdout io.Writer) error {
	if o.Arch == "" {
		return fmt.Errorf("%s holds weights, not a graph: say which built-in architecture they are for with --arch (%s)", o.Source, strings.Join(arch.Names(), ", "))
	}
	if o.Stages != "" {
		return fmt.Errorf("--stages is for ONNX graphs; built-in architectures have their stages")
	}
	if _, err := arch.Lookup(o.Arch); err != nil {
		return fmt.Errorf("--arch: %w", err)
	}
	m, pre, rep, err := onnx.ImportWeights(o.Source, onnx.WeightsImport{Arch: o.Arch, Classes: o.Classes,
		Naming: onnx.Naming(o.Naming), DropClassifier: o.Drop, Size: o.Size})
	if err != nil {
		return err
	}
	defer m.Free()
	n := m.NumClasses
	if pre, err = applyNorm(pre, o); err != nil {
		return err
	}
	unnamed := classes == nil
	if unnamed {
		classes = data.UnnamedClasses(n)
	}
	if err := onnx.Checkpoints.Save(o.Out, m, checkpoint.Meta{Classes: classes, Preprocess: pre}, nil); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, struct {
			Checkpoint string                `json:"checkpoint"`
			Arch       string                `json:"arch"`
			Classes    int                   `json:"classes"`
			Report     checkpoint.LoadReport `json:"report"`
		}{o.Out, o.Arch, n, rep})
	}
	if !g.quiet {
		fmt.Fprintf(stdout, "loaded %d tensors from %s into %s (%d classes)\n", rep.Loaded, o.Source, o.Arch, n)
		if len(rep.Skipped) > 0 {
			fmt.Fprintf(stdout, "not loaded: %s\n", strings.Join(rep.Skipped, "; "))
		}
		if unnamed {
			fmt.Fprintf(stdout, "note: %s\n", unnamedNote(n))
		}
		fmt.Fprintf(stdout, "wrote %s\n", o.Out)
	}
	return nil
}

func unnamedNote(n int) string {
	return fmt.Sprintf("the file names no classes: they are class0…class%d (give --labels FILE, one name a line, to name them)", n-1)
}
