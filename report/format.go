package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// humanCount writes a parameter count as a reader compares them: 11.2M,
// 5.1k, 850. Three significant figures are plenty to tell strategies apart.
func humanCount(n int64) string {
	units := []struct {
		div    float64
		suffix string
	}{{1e3, "k"}, {1e6, "M"}, {1e9, "B"}}
	v := math.Abs(float64(n))
	if v < 1e3 {
		return strconv.FormatInt(n, 10)
	}
	i := 0
	for i+1 < len(units) && v >= units[i+1].div {
		i++
	}
	x := float64(n) / units[i].div
	// Rounding can carry into the next unit: 999,960 is 1.0M, not 1000k.
	if math.Abs(x) >= 999.5 && i+1 < len(units) {
		i++
		x = float64(n) / units[i].div
	}
	if math.Abs(x) >= 100 {
		return fmt.Sprintf("%.0f%s", x, units[i].suffix)
	}
	return fmt.Sprintf("%.1f%s", x, units[i].suffix)
}

// pct formats a 0–1 accuracy as a percentage with one decimal.
func pct(x float64) string { return fmt.Sprintf("%.1f", 100*x) }

// points formats a difference of two 0–1 accuracies in percentage points.
func points(d float64) string { return fmt.Sprintf("%.1f", 100*d) }

// signedPoints is points with an explicit sign, for margins and their
// intervals: "+4.2", "−1.1" (a true minus sign, as in print). A value
// that rounds to zero is "0.0" whatever its sign.
func signedPoints(d float64) string {
	s := fmt.Sprintf("%+.1f", 100*d)
	if s == "+0.0" || s == "-0.0" {
		return "0.0"
	}
	return strings.Replace(s, "-", "\u2212", 1)
}

// lr writes a learning rate the way it is typed on a command line.
func lr(x float64) string {
	if x == 0 {
		return "—"
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}

// seconds picks a precision that keeps short and long times readable.
func seconds(s float64) string { return compact(s) }

// compact writes a non-negative quantity (seconds, GFLOP) to about three
// significant figures without an exponent: 1772, 26.4, 0.46, 0.013 (cached
// features make some epochs take milliseconds, and a head on them a few
// MFLOP).
func compact(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10:
		return fmt.Sprintf("%.1f", x)
	case x >= 0.1 || x == 0:
		return fmt.Sprintf("%.2f", x)
	default:
		return fmt.Sprintf("%.3f", x)
	}
}

func rate(x float64) string { return fmt.Sprintf("%.0f", x) }

// shotsTitle names a shots setting in headings.
func shotsTitle(shots int) string {
	switch shots {
	case 0:
		return "All training images"
	case 1:
		return "1 image per class"
	}
	return fmt.Sprintf("%d images per class", shots)
}

// shotsShort names a shots setting on axes and in tables.
func shotsShort(shots int) string {
	if shots == 0 {
		return "all"
	}
	return strconv.Itoa(shots)
}

// shotsSlug names a shots setting in file names.
func shotsSlug(shots int) string {
	if shots == 0 {
		return "all"
	}
	return strconv.Itoa(shots) + "-shot"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
