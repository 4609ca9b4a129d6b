package report

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/internal/safefile"
)

// File names WriteAll uses in its folder, besides one .svg and one .png
// per Figure.Name.
const (
	CSVFile      = "results.csv"
	HTMLFile     = "report.html"
	MarkdownFile = "leaderboard.md" // the tables as Markdown, for pasting into documents
)

// WriteAll writes results.csv, every figure as SVG and PNG,
// leaderboard.md and report.html into dir, creating it if needed; a
// detector comparison's page shows the example detections that graft
// compare saved in dir (ReadExamples). Each file is written to a
// temporary file in dir and renamed into place, so a reader (or a second
// report run) never sees a half-written file. results.json is the
// caller's: it exists before any report does.
func WriteAll(dir string, r *experiment.Results) error {
	if err := safefile.CheckDir(dir); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	figs, err := Plots(r)
	if err != nil {
		return fmt.Errorf("report: plots: %w", err)
	}
	examples, err := ReadExamples(dir, r)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	write := func(name string, fill func(io.Writer) error) error {
		if err := safefile.Write(filepath.Join(dir, name), fill); err != nil {
			return fmt.Errorf("report: %w", err)
		}
		return nil
	}
	if err := write(CSVFile, func(w io.Writer) error { return WriteCSV(w, r) }); err != nil {
		return err
	}
	for _, f := range figs {
		if err := write(f.Name+".svg", writeBytes(f.SVG)); err != nil {
			return err
		}
		if err := write(f.Name+".png", writeBytes(f.PNG)); err != nil {
			return err
		}
	}
	if err := write(MarkdownFile, func(w io.Writer) error { return Markdown(w, r) }); err != nil {
		return err
	}
	// The page last: when it is there, everything it describes is too.
	return write(HTMLFile, func(w io.Writer) error { return HTML(w, r, figs, examples...) })
}

func writeBytes(b []byte) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	}
}
