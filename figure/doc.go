// Package figure renders gonum plots to SVG and PNG, and draws labelled
// boxes on images (DrawBoxes: a detector's findings). It is a leaf: it
// knows nothing of strategies, experiments or reports, so that packages
// which only draw a chart (lrfind's loss curve, bench's freeze:K curve)
// do not import the experiment stack through report.
//
// Report draws its figures in its own house style on top of RenderFunc;
// the standalone plots keep gonum's layout and go through Standalone.
package figure
