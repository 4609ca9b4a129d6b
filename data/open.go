package data

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// SpecHelp documents the forms a DATA spec takes, for command help.
const SpecHelp = `a folder of class folders (PNG/JPEG/PPM/BMP), or
  fashion-mnist[:DIR]       Fashion-MNIST (IDX files; default /usr/share/datasets/fashion-mnist)
  cifar10:DIR               CIFAR-10 binary batches
  gtsrb:DIR                 GTSRB's Final_Training or Final_Test layout
  idx:IMAGES,LABELS         any IDX image/label pair
  any of these + ?classes=5-9 keeps those classes only, relabelled from 0`

// Part chooses the part of a data set that ships a training and a test
// part (Fashion-MNIST, CIFAR-10); other sets ignore it.
type Part int

const (
	TrainPart Part = iota
	TestPart
)

// Open opens the data set a DATA spec names (see SpecHelp): a folder of
// class folders, fashion-mnist[:DIR], cifar10:DIR, gtsrb:DIR or
// idx:IMAGES,LABELS, each optionally followed by ?classes=LIST.
func Open(spec string, part Part) (Dataset, error) {
	if base, query, ok := strings.Cut(spec, "?classes="); ok {
		ds, err := Open(base, part)
		if err != nil {
			return nil, err
		}
		list, err := ParseClassList(query)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		sub, err := SelectClasses(ds, list)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		return sub, nil
	}
	kind, arg, _ := strings.Cut(spec, ":")
	if IsDetectionSpec(spec) {
		return nil, fmt.Errorf("%s is a detection data set (boxes, not one class per image); this command takes a classification set: %s", spec, SpecHelp)
	}
	switch kind {
	case "fashion-mnist":
		if arg == "" {
			arg = DefaultFashionMNISTDir
		}
		return FashionMNIST(arg, part == TrainPart)
	case "cifar10":
		return OpenCIFAR10(arg, part == TrainPart)
	case "gtsrb":
		return OpenGTSRB(arg, true)
	case "idx":
		imgs, labels, ok := strings.Cut(arg, ",")
		if !ok {
			return nil, fmt.Errorf("idx data set %q: expected idx:IMAGES,LABELS", spec)
		}
		return OpenIDX(imgs, labels, nil)
	}
	if _, err := os.Stat(spec); err != nil {
		return nil, fmt.Errorf("data set %s not found: give a folder of class folders, or fashion-mnist[:DIR], cifar10:DIR, gtsrb:DIR, idx:IMAGES,LABELS", spec)
	}
	return OpenFolder(filepath.Clean(spec))
}

// OpenTraining opens a spec to train on: at least two classes, and (for
// image folders) every file decoded once up front on workers goroutines,
// so that a bad file fails now rather than an hour into training.
func OpenTraining(spec string, workers int) (Dataset, error) {
	ds, err := Open(spec, TrainPart)
	if err != nil {
		return nil, err
	}
	if n := len(ds.Classes()); n < 2 {
		return nil, fmt.Errorf("%s has %d class: a classifier needs at least 2", spec, n)
	}
	if err := CheckFiles(ds, workers); err != nil {
		return nil, err
	}
	return ds, nil
}

// checkFilesMax is the largest image folder CheckFiles decodes: beyond it
// the check would take minutes, and a bad file is reported when reached.
const checkFilesMax = 50000

// CheckFiles decodes every image of an image-folder data set of up to
// 50,000 images (Check); other data sets, read from a few files whose
// structure was checked on opening, pass.
func CheckFiles(ds Dataset, workers int) error {
	if _, isFolder := ds.(*Folder); !isFolder || ds.Len() > checkFilesMax {
		return nil
	}
	return Check(ds, workers)
}

// NativeShape decodes the first sample to learn the data's channels and
// size, which set the defaults of the preprocessing.
func NativeShape(ds Dataset) (c, h, w int, err error) {
	if ds.Len() == 0 {
		return 0, 0, 0, fmt.Errorf("data set is empty")
	}
	im, err := ds.Image(0)
	if err != nil {
		return 0, 0, 0, err
	}
	return im.C, im.H, im.W, nil
}

// Gaps lists the classes of ds that are numbers missing among numbered
// class folders (00, 01, 08 leave 02–07): they are classes of the model
// with no image. Views (Subset, ClassSubset) report their base's gaps
// among the classes they keep; other data sets have none.
func Gaps(ds Dataset) []string {
	switch d := ds.(type) {
	case *Folder:
		return d.gaps
	case *Subset:
		return Gaps(d.Base)
	case *ClassSubset:
		gaps := Gaps(d.Base)
		var out []string
		for _, name := range d.Classes() {
			for _, g := range gaps {
				if g == name {
					out = append(out, name)
				}
			}
		}
		return out
	}
	return nil
}
