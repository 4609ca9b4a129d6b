package cli

import (
	"context"
	"fmt"
	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/detect"
	"io"
	"path/filepath"

	"github.com/graftml/graft/internal/safefile"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
	"github.com/spf13/cobra"
)

// ExportOptions are graft export's flags.
type ExportOptions struct {
	Checkpoint string
	ONNX       string
	Size       int
	Opset      int64
	Threads    int
}

func newExportCmd(g *globals) *cobra.Command {
	o := ExportOptions{}
	cmd := &cobra.Command{
		Use:   "export CKPT --onnx OUT.onnx",
		Short: "Write a checkpoint as an ONNX model",
		Long: `Write a checkpoint as an ONNX model for inference elsewhere (onnxruntime,
TensorRT, a browser). Built-in architectures are written layer by layer;
imported graphs as their own graph with the current weights. The input is
"input" [N, C, H, W] with a free batch size, the output "logits"; the
checkpoint's preprocessing, class names and stages go into the file's
metadata (metadata_props), so graft import of the file gives back the same
stages (freeze:2 means the same layers) and class names.

A detector exports its raw outputs without NMS: "bbox_regression" [N, A, 4]
and "cls_logits" [N, A, C] for the A default boxes (class 0 the
background). Decode them with the default boxes (their parameters are in
the metadata, graft.detector) and SSD's coder, variances 0.1 and 0.2, then
softmax, a score threshold and per-class NMS.`,
		Example: `  graft export signs --onnx signs.onnx
  graft export vgg-run --onnx vgg.onnx --size 224`,
		Args: cobra.ExactArgs(1),
		RunE: runE(g, &o, runExport, func(cmd *cobra.Command, args []string) {
			o.Checkpoint = args[0]
		}),
	}
	f := cmd.Flags()
	f.StringVar(&o.ONNX, "onnx", "", "ONNX file to write (required)")
	f.IntVar(&o.Size, "size", 0, withNote("size", "of the input fixed in the graph (default: the checkpoint's preprocessing size)"))
	f.Int64Var(&o.Opset, "opset", 13, "ONNX operator set, 11 to 17")
	threadsFlag(f, &o.Threads)
	return cmd
}

func runExport(ctx context.Context, o ExportOptions, g *globals, stdout, stderr io.Writer) error {
	if o.ONNX == "" {
		return fmt.Errorf("--onnx is required: the file to write")
	}
	if err := safefile.CheckDir(filepath.Dir(o.ONNX)); err != nil {
		return fmt.Errorf("--onnx: %w", err)
	}
	if err := torch.SetNumThreads(max(o.Threads, 1)); err != nil {
		return err
	}
	if meta, err := checkpoint.ReadMeta(o.Checkpoint); err == nil && detect.IsDetector(meta) {
		return exportDetector(o, g, stdout)
	}
	ck, err := onnx.Checkpoints.Load(o.Checkpoint)
	if err != nil {
		return err
	}
	defer ck.Model.Free()
	pre := ck.Meta.Preprocess
	opts := onnx.ExportOptions{Opset: o.Opset, Preprocess: &pre, Classes: ck.Meta.Classes}
	switch {
	case o.Size > 0:
		opts.Height, opts.Width = o.Size, o.Size
	case pre.Size > 0:
		opts.Height, opts.Width = pre.Size, pre.Size
	case pre.Height > 0:
		opts.Height, opts.Width = pre.Height, pre.Width
	}
	m, err := onnx.Export(ck.Model, opts)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(o.ONNX, m); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, map[string]any{"checkpoint": o.Checkpoint, "onnx": o.ONNX, "arch": ck.Meta.Arch,
			"opset": o.Opset, "nodes": len(m.Graph.Nodes), "height": opts.Height, "width": opts.Width})
	}
	if !g.quiet {
		fmt.Fprintf(stdout, "wrote %s: %s, %d nodes, opset %d\n", o.ONNX, ck.Meta.Arch, len(m.Graph.Nodes), o.Opset)
	}
	return nil
}

// exportDetector writes a detector's raw outputs, box regression (N, A, 4)
// and class logits (N, A, C), without NMS (onnx.ExportDetector says how
// to decode them).
func exportDetector(o ExportOptions, g *globals, stdout io.Writer) error {
	m, meta, err := detect.Load(onnx.Checkpoints, o.Checkpoint)
	if err != nil {
		return err
	}
	defer m.Free()
	pre := detectorInput(meta, m)
	opts := onnx.ExportOptions{Opset: o.Opset, Preprocess: &pre, Classes: meta.Classes, Height: pre.Size, Width: pre.Size}
	if o.Size > 0 {
		opts.Height, opts.Width = o.Size, o.Size
	}
	om, err := onnx.ExportDetector(m, opts)
	if err != nil {
		return err
	}
	if err := onnx.WriteFile(o.ONNX, om); err != nil {
		return err
	}
	if g.json {
		return writeJSON(stdout, map[string]any{"checkpoint": o.Checkpoint, "onnx": o.ONNX, "arch": meta.Arch,
			"opset": o.Opset, "nodes": len(om.Graph.Nodes), "height": opts.Height, "width": opts.Width, "outputs": []string{"bbox_regression", "cls_logits"}})
	}
	if !g.quiet {
		fmt.Fprintf(stdout, "wrote %s: detector %s, %d nodes, opset %d; outputs bbox_regression and cls_logits, no NMS\n", o.ONNX, meta.Arch, len(om.Graph.Nodes), o.Opset)
	}
	return nil
}
