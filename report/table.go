package report

import (
	"io"
	"strings"
	"unicode/utf8"
)

type align int

const (
	alignLeft align = iota
	alignRight
)

// table is a rendered-agnostic table: the terminal, Markdown and HTML
// outputs all come from the same cells so they cannot disagree.
type table struct {
	Header []string
	Align  []align
	Rows   [][]string
	Mark   []mark // rows to highlight: the winner, or those tied for first
}

// mark highlights a row.
type mark int

const (
	markNone   mark = iota
	markWinner      // "*" in the terminal's margin; bold in Markdown
	markTie         // tied for first: "=" in the margin; bold in Markdown
)

func (t *table) add(m mark, cells ...string) {
	t.Rows = append(t.Rows, cells)
	t.Mark = append(t.Mark, m)
}

func (t *table) widths() []int {
	w := make([]int, len(t.Header))
	for _, row := range append([][]string{t.Header}, t.Rows...) {
		for i, c := range row {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	return w
}

// text writes aligned columns; a marked row starts with "*" (winner) or
// "=" (tied for first) in the margin, which is all a terminal reliably
// shows.
func (t *table) text(w io.Writer) error {
	widths := t.widths()
	var b strings.Builder
	line := func(m mark, cells []string) {
		var l strings.Builder
		switch m {
		case markWinner:
			l.WriteString("* ")
		case markTie:
			l.WriteString("= ")
		default:
			l.WriteString("  ")
		}
		for i, c := range cells {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			if i > 0 {
				l.WriteString("  ")
			}
			if t.Align[i] == alignRight {
				l.WriteString(pad + c)
			} else {
				l.WriteString(c + pad)
			}
		}
		// An empty or short last column would leave trailing blanks.
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	line(markNone, t.Header)
	rule := make([]string, len(widths))
	for i, n := range widths {
		rule[i] = strings.Repeat("-", n)
	}
	line(markNone, rule)
	for i, row := range t.Rows {
		line(t.Mark[i], row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdown writes a GitHub-flavoured table; marked rows are bold.
func (t *table) markdown(w io.Writer) error {
	var b strings.Builder
	row := func(cells []string, bold bool) {
		b.WriteString("|")
		for _, c := range cells {
			c = mdEscape(c)
			if bold && c != "" {
				c = "**" + c + "**"
			}
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	row(t.Header, false)
	b.WriteString("|")
	for _, a := range t.Align {
		if a == alignRight {
			b.WriteString("---:|")
		} else {
			b.WriteString("---|")
		}
	}
	b.WriteString("\n")
	for i, cells := range t.Rows {
		row(cells, t.Mark[i] != markNone)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a cell from breaking the table or turning into markup.
func mdEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(s)
}

// wrapColumns hold prose that would make a table too wide on one line.
var wrapColumns = map[string]bool{"lr search (val. acc. %)": true, detectLRSearchHeader: true}

// detectLRSearchHeader is the runs table's learning-rate column for
// detectors, whose validation score is mAP@0.5.
const detectLRSearchHeader = "lr search (val. mAP@0.5 %)"

// cellClass tells the HTML template how to align and wrap a column.
func (t *table) cellClass(i int) string {
	switch {
	case t.Align[i] == alignRight:
		return "num"
	case wrapColumns[t.Header[i]]:
		return "prose"
	}
	return ""
}
