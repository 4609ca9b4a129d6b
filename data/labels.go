package data

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ReadLabels reads class names from a file, one a line (blank lines
// skipped), as torchvision's and Keras's label files list them: the names
// a model imported without its own get, in its output order. A name listed
// twice or fewer than two names is an error naming the file.
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" {
			continue
		}
		if seen[l] {
			return nil, fmt.Errorf("%s: class %q is listed twice", path, l)
		}
		seen[l] = true
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s lists %d classes; a classifier needs at least 2", path, len(out))
	}
	return out, nil
}

// WithNorm is p normalised as a user asked: by a named normalisation, or
// by per-channel mean and std on [0,1] pixels; neither keeps p's. Both at
// once is an error, as is a result that Validate refuses.
func (p Preprocess) WithNorm(norm string, mean, std []float32) (Preprocess, error) {
	if norm != "" && (mean != nil || std != nil) {
		return p, fmt.Errorf("--norm and --mean/--std both given; use one")
	}
	if norm != "" {
		p.Norm, p.Mean, p.Std = norm, nil, nil
	}
	if mean != nil || std != nil {
		p.Norm, p.Mean, p.Std = "", mean, std
	}
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}
