package synth

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
)

// MapRow pairs a class of country A with the class of country B that means
// the same thing.
type MapRow struct {
	A, B    int // class IDs in A and B
	Meaning string
}

// ClassMap lists the classes A and B share, in A's ID order. Classes that
// exist in only one of them are absent: a model moving from A to B must
// learn those from scratch.
func ClassMap(a, b string) ([]MapRow, error) {
	ca, err := Catalogue(a)
	if err != nil {
		return nil, fmt.Errorf("class map: %w", err)
	}
	cb, err := Catalogue(b)
	if err != nil {
		return nil, fmt.Errorf("class map: %w", err)
	}
	var rows []MapRow
	for _, x := range ca {
		for _, y := range cb {
			if x.Meaning == y.Meaning {
				rows = append(rows, MapRow{A: x.ID, B: y.ID, Meaning: x.Meaning})
				break
			}
		}
	}
	return rows, nil
}

// WriteClassMapCSV writes the cross-country table: one row per meaning that
// any built-in country has, one column of class IDs per country (empty where
// the country lacks it), base country first.
func WriteClassMapCSV(w io.Writer) error {
	cs := countries()
	cats := make([][]Class, len(cs))
	var meanings []string
	seen := map[string]bool{}
	for i, c := range cs {
		cats[i] = classesOf(c, catalogue(c))
		for _, cl := range cats[i] {
			if !seen[cl.Meaning] {
				seen[cl.Meaning] = true
				meanings = append(meanings, cl.Meaning)
			}
		}
	}
	cw := csv.NewWriter(w)
	head := []string{"meaning"}
	for _, c := range cs {
		head = append(head, c.Code)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("write class map: %w", err)
	}
	for _, m := range meanings {
		row := []string{m}
		for i := range cs {
			cell := ""
			for _, cl := range cats[i] {
				if cl.Meaning == m {
					cell = strconv.Itoa(cl.ID)
				}
			}
			row = append(row, cell)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("write class map: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write class map: %w", err)
	}
	return nil
}

// WriteClassesCSV writes id,name,shape,meaning for the given classes.
func WriteClassesCSV(w io.Writer, classes []Class) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"id", "name", "shape", "meaning"}); err != nil {
		return fmt.Errorf("write classes: %w", err)
	}
	for _, c := range classes {
		if err := cw.Write([]string{strconv.Itoa(c.ID), c.Name, string(c.Shape), c.Meaning}); err != nil {
			return fmt.Errorf("write classes: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write classes: %w", err)
	}
	return nil
}
