package report

import "strings"

// The HTML side of table: cells carry their CSS class, and flag columns
// become badges so that "tie", "cut off" and "diverged" catch the eye.

type htmlCell struct {
	Text   string
	Class  string
	Badges []badge
}

type badge struct{ Text, Kind string }

type htmlRow struct {
	Class string
	Cells []htmlCell
}

// badgeColumns are the columns whose values are flags, not data.
var badgeColumns = map[string]bool{"notes": true, "status": true, "converged": true}

func (t *table) HTMLHead() []htmlCell {
	out := make([]htmlCell, len(t.Header))
	for i, h := range t.Header {
		out[i] = htmlCell{Text: h, Class: t.cellClass(i)}
	}
	return out
}

func (t *table) HTMLRows() []htmlRow {
	out := make([]htmlRow, len(t.Rows))
	for r, cells := range t.Rows {
		row := htmlRow{}
		switch t.Mark[r] {
		case markWinner:
			row.Class = "winner"
		case markTie:
			row.Class = "tie"
		}
		for i, c := range cells {
			hc := htmlCell{Text: c, Class: t.cellClass(i)}
			if badgeColumns[t.Header[i]] {
				hc.Badges = badges(c)
				if hc.Badges != nil {
					hc.Text = ""
				}
			}
			row.Cells = append(row.Cells, hc)
		}
		out[r] = row
	}
	return out
}

// badges splits a flags cell; plain values ("ok", "yes") stay text.
func badges(s string) []badge {
	var out []badge
	for _, f := range strings.Split(s, ", ") {
		switch {
		case f == "winner":
			out = append(out, badge{f, "win"})
		case f == "tie":
			out = append(out, badge{f, "tie"})
		case strings.HasPrefix(f, "cut off"):
			out = append(out, badge{f, "warn"})
		case strings.Contains(f, "diverged") || strings.Contains(f, "failed"):
			out = append(out, badge{f, "bad"})
		}
	}
	return out
}

// DiagClass marks the diagonal of a confusion table (its first column is
// the row label, hence the offset).
func (t *table) DiagClass(row, col int) string {
	if row == col-1 {
		return "diag"
	}
	return ""
}
