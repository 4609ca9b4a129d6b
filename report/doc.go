// Package report turns the results of `graft compare` (experiment.Results,
// saved as results.json) into what people read: a leaderboard for the
// terminal and for Markdown, results.csv, plots as SVG and PNG, and a
// self-contained report.html that answers, in words, which transfer
// strategy worked best and why, as far as the numbers say.
//
// Everything here is a pure function of the Results: no training, no
// libtorch, no clock. The same results.json always gives the same bytes,
// whatever the order of its runs, so reports can be diffed and kept under
// version control. The one exception is the plots' exact bytes, which
// belong to the plotting library (gonum.org/v1/plot) and may change with
// its version.
//
// The report trusts results.json's summaries and winners where they are
// there and recomputes them from the runs where they are not (a partial
// file). Strategies keep their order from the spec, and with it their
// colour in every figure; shots settings go from few images to all.
//
// Typical use, after writing results.json:
//
//	report.Leaderboard(os.Stdout, res)
//	if err := report.WriteAll(outDir, res); err != nil { … }
package report
