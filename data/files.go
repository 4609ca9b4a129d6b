package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files is an unlabelled data set of image files, what a model predicts
// on: one class, "?", and every label 0.
type Files []string

func (f Files) Len() int            { return len(f) }
func (f Files) Classes() []string   { return []string{"?"} }
func (f Files) Label(int) int       { return 0 }
func (f Files) Source(i int) string { return f[i] }
func (f Files) Image(i int) (*Image, error) {
	im, err := LoadImage(f[i])
	if err != nil {
		return nil, &ErrSample{Source: f[i], Err: err}
	}
	return im, nil
}

// ImageFiles lists the images inputs name: a file as itself, whatever its
// extension, and a folder as the image files anywhere below it (by
// extension, in walking order). No image at all is an error.
func ImageFiles(inputs []string) (Files, error) {
	var out Files
	for _, in := range inputs {
		st, err := os.Stat(in)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return nil, fmt.Errorf("image %s: %w", in, err)
		}
		if !st.IsDir() {
			out = append(out, in)
			continue
		}
		err = filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && imageExts[strings.ToLower(filepath.Ext(p))] {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", in, err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no images found in %s (PNG, JPEG, PPM/PGM, BMP)", strings.Join(inputs, ", "))
	}
	return out, nil
}
