package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// classesCSV is the file beside numbered class folders that names them.
const classesCSV = "classes.csv"

// nameClasses renames classes (indexed by folder number) from the id and
// name columns of the CSV at path; no file leaves them as they are. Rows
// beyond the classes present are ignored (a classes.csv of a larger set
// names a subset's folders as well); an empty name keeps the number.
func nameClasses(path string, classes []string) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("class names: %w", err)
	}
	defer f.Close()
	const fix = "fix it, or remove it to name the classes by their folder numbers"
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("class names %s: %v; %s", path, err, fix)
	}
	idCol, nameCol := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(strings.ToLower(h)) {
		case "id":
			idCol = i
		case "name":
			nameCol = i
		}
	}
	if idCol < 0 || nameCol < 0 {
		return fmt.Errorf("class names %s: the first line must name an id and a name column (as graft synth writes: id,name,shape,meaning); %s", path, fix)
	}
	named := make([]string, len(classes))
	usedBy := map[string]int{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("class names %s: %v; %s", path, err, fix)
		}
		if len(rec) <= max(idCol, nameCol) {
			return fmt.Errorf("class names %s, line %d: expected %d columns; %s", path, line, len(header), fix)
		}
		id, err := strconv.Atoi(strings.TrimSpace(rec[idCol]))
		if err != nil || id < 0 {
			return fmt.Errorf("class names %s, line %d: id %q is not a class number; %s", path, line, rec[idCol], fix)
		}
		name := strings.TrimSpace(rec[nameCol])
		if id >= len(classes) || name == "" {
			continue
		}
		if prev, dup := usedBy[name]; dup && prev != id {
			return fmt.Errorf("class names %s: classes %d and %d are both named %q; %s", path, prev, id, name, fix)
		}
		usedBy[name] = id
		named[id] = name
	}
	for id, name := range named {
		if name == "" {
			continue
		}
		// A name must not collide with another class's number either:
		// class maps and --classes accept both.
		for other, c := range classes {
			if other != id && named[other] == "" && c == name {
				return fmt.Errorf("class names %s: class %d is named %q, which is class %d's folder; %s", path, id, name, other, fix)
			}
		}
	}
	for id, name := range named {
		if name != "" {
			classes[id] = name
		}
	}
	return nil
}
