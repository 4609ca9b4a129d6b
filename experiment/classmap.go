package experiment

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// ReadClassMap reads a CSV of "target,source" rows — class names or
// numeric IDs, an optional header — and returns, for every target class,
// the source class whose head row it starts from (-1 for none).
func ReadClassMap(path string, target, source []string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("class map: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.Comment = '#'
	out := make([]int, len(target))
	for i := range out {
		out[i] = -1
	}
	find := func(names []string, v string) int {
		v = strings.TrimSpace(v)
		for i, n := range names {
			if n == v {
				return i
			}
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n < len(names) {
			return n
		}
		return -1
	}
	line := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("class map %s: %w", path, err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("class map %s, line %d: expected target,source", path, line)
		}
		t, s := find(target, rec[0]), find(source, rec[1])
		if line == 1 && (t < 0 || s < 0) {
			continue // a header
		}
		if t < 0 {
			return nil, fmt.Errorf("class map %s, line %d: %q is not a target class", path, line, rec[0])
		}
		if s < 0 {
			return nil, fmt.Errorf("class map %s, line %d: %q is not a class of the base model", path, line, rec[1])
		}
		out[t] = s
	}
	return out, nil
}
