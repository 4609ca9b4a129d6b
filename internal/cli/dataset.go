package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/torch"
)

// datasetHelp documents the forms a --train/--val/--test argument takes.
const datasetHelp = `a folder of class folders (PNG/JPEG/PPM/BMP), or
  fashion-mnist[:DIR]       Fashion-MNIST (IDX files; default /usr/share/datasets/fashion-mnist)
  cifar10:DIR               CIFAR-10 binary batches
  gtsrb:DIR                 GTSRB's Final_Training or Final_Test layout
  idx:IMAGES,LABELS         any IDX image/label pair
  any of these + ?classes=5-9 keeps those classes only, relabelled from 0`

// openDataset opens a data set argument; train selects the training or
// test part of sets that ship both.
func openDataset(spec string, train bool) (data.Dataset, error) {
	if base, query, ok := strings.Cut(spec, "?classes="); ok {
		ds, err := openDataset(base, train)
		if err != nil {
			return nil, err
		}
		list, err := data.ParseClassList(query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		sub, err := data.SelectClasses(ds, list)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		return sub, nil
	}
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "fashion-mnist":
		if arg == "" {
			arg = data.DefaultFashionMNISTDir
		}
		return data.FashionMNIST(arg, train)
	case "cifar10":
		return data.OpenCIFAR10(arg, train)
	case "gtsrb":
		return data.OpenGTSRB(arg, true)
	case "idx":
		imgs, labels, ok := strings.Cut(arg, ",")
		if !ok {
			return nil, fmt.Errorf("idx data set %q: expected idx:IMAGES,LABELS", spec)
		}
		return data.OpenIDX(imgs, labels, nil)
	}
	if _, err := os.Stat(spec); err != nil {
		return nil, fmt.Errorf("data set %s not found: give a folder of class folders, or fashion-mnist[:DIR], cifar10:DIR, gtsrb:DIR, idx:IMAGES,LABELS", spec)
	}
	return data.OpenFolder(filepath.Clean(spec))
}

// nativeShape decodes the first sample to learn the data's channels and
// size, which set the defaults of the preprocessing.
func nativeShape(ds data.Dataset) (c, h, w int, err error) {
	if ds.Len() == 0 {
		return 0, 0, 0, fmt.Errorf("data set is empty")
	}
	im, err := ds.Image(0)
	if err != nil {
		return 0, 0, 0, err
	}
	return im.C, im.H, im.W, nil
}

// sameClasses checks that an evaluation set labels classes as the model does.
func sameClasses(model, ds []string, what string) error {
	if len(ds) > len(model) {
		return fmt.Errorf("%s has %d classes but the model knows %d (%s): evaluate on data with the model's classes", what, len(ds), len(model), strings.Join(limitNames(model, 6), ", "))
	}
	for i := range ds {
		if ds[i] != model[i] && ds[i] != fmt.Sprint(i) && model[i] != fmt.Sprint(i) {
			return fmt.Errorf("%s: class %d is %q, the model's class %d is %q; class folders must match the training set's", what, i, ds[i], i, model[i])
		}
	}
	return nil
}

func limitNames(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), "…")
}

// openTrainSet opens a --train argument for training: at least two
// classes, and (for image folders) every file decoded once up front.
func openTrainSet(spec string, workers int) (data.Dataset, error) {
	ds, err := openDataset(spec, true)
	if err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	if n := len(ds.Classes()); n < 2 {
		return nil, fmt.Errorf("--train %s has %d class: a classifier needs at least 2", spec, n)
	}
	if err := checkFiles(ds, workers); err != nil {
		return nil, fmt.Errorf("--train: %w", err)
	}
	return ds, nil
}

// checkFiles decodes every image of a folder data set up front (up to
// 50,000 of them), so a bad file is reported now rather than an hour into
// training.
func checkFiles(ds data.Dataset, workers int) error {
	if _, isFolder := ds.(*data.Folder); !isFolder || ds.Len() > 50000 {
		return nil
	}
	return data.Check(ds, workers)
}

// parseAugment reads an --augment value.
func parseAugment(s string) (data.Augment, error) {
	if s == "" {
		s = "none"
	}
	a, err := data.AugmentPreset(s)
	if err != nil {
		return a, fmt.Errorf("--augment: %w", err)
	}
	return a, nil
}

// required reports the first empty required flag; pairs are value, flag.
func required(cmd string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == "" {
			return fmt.Errorf("%s is required (see graft %s --help)", pairs[i+1], cmd)
		}
	}
	return nil
}

// engine sets libtorch's thread count and resolves --device, the first
// step of every command that computes.
func engine(threads int, device string) (torch.Device, error) {
	if err := torch.SetNumThreads(max(threads, 1)); err != nil {
		return torch.CPU, err
	}
	dev, err := torch.ParseDevice(device)
	if err != nil {
		return torch.CPU, fmt.Errorf("--device: %w", err)
	}
	return dev, nil
}
