package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/data"
	"github.com/graftml/graft/onnx"
	"github.com/graftml/graft/torch"
)

// openTrainSet opens a --train argument for training (data.OpenTraining).
func openTrainSet(spec string, workers int) (data.Dataset, error) {
	ds, err := data.OpenTraining(spec, workers)
	if err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	return ds, nil
}

// openTrain is openTrainSet for a command that adapts to --train: it also
// says on stderr where numbered class folders skip numbers (noteGaps).
func openTrain(g *globals, stderr io.Writer, spec string, workers int) (data.Dataset, error) {
	ds, err := openTrainSet(spec, workers)
	if err != nil {
		return nil, err
	}
	noteGaps(stderr, g.quiet, "--train", ds)
	return ds, nil
}

// load starts the engine and loads a checkpoint with its model on the
// engine's device.
func (e Engine) load(path string) (*checkpoint.Checkpoint, torch.Device, error) {
	dev, err := e.start()
	if err != nil {
		return nil, dev, err
	}
	ck, err := onnx.Checkpoints.Load(path)
	if err != nil {
		return nil, dev, err
	}
	if dev != torch.CPU {
		if err := ck.Model.To(dev, false); err != nil {
			ck.Model.Free()
			return nil, dev, err
		}
	}
	return ck, dev, nil
}

// openTest opens the evaluation data a flag names: the test part of sets
// that ship both.
func openTest(flag, spec string) (data.Dataset, error) {
	ds, err := data.Open(spec, data.TestPart)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return ds, nil
}

// noteGaps says on w that numbered class folders skip numbers: those
// classes stay in the model with no image (see package data).
func noteGaps(w io.Writer, quiet bool, flag string, ds data.Dataset) {
	gaps := data.Gaps(ds)
	if quiet || len(gaps) == 0 {
		return
	}
	fmt.Fprintf(w, "note: %s's numbered class folders skip %s: the model keeps those %d of its %d classes, with no image to learn them from; renumber the folders 0..%d without gaps to drop them\n",
		flag, strings.Join(data.ShortList(gaps, 8), ", "), len(gaps), len(ds.Classes()), len(ds.Classes())-len(gaps)-1)
}
