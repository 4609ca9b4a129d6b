package synth

import (
	"fmt"
	"strings"
)

// Country is a built-in sign style. The base country ("be") is what Shift 0
// draws for every country, so a model trained on it meets the others as a
// controlled domain shift.
type Country struct {
	Code string // short lower-case name used by --country, e.g. "de"
	Name string // English name
	Note string // how its signs differ from the base style
	// Only lists the classes that exist in this country alone (by name).
	Only  []string
	style Style
}

// Style returns the country's full style (Shift 1).
func (c Country) Style() Style { return c.style }

// Base is the code of the base style country.
const Base = "be"

var (
	red    = RGB{0.80, 0.09, 0.13}
	blue   = RGB{0.00, 0.32, 0.66}
	yellow = RGB{0.98, 0.78, 0.05}
	white  = RGB{0.96, 0.96, 0.95}
	black  = RGB{0.07, 0.07, 0.08}
	grey   = RGB{0.50, 0.51, 0.53}
	amber  = RGB{0.98, 0.60, 0.05}
	green  = RGB{0.05, 0.60, 0.32}
)

// baseStyle is Belgian in spirit: round digits, plain pictograms, medium
// borders, white fills.
var baseStyle = Style{
	Red: red, Blue: blue, Yellow: yellow, White: white, Black: black, Grey: grey,
	Amber: amber, Green: green, WarnFill: white, DiscFill: white,
	RingWidth: 0.17, TriBorder: 0.15, TriCorner: 0.12, TriHeight: 0.88,
	StopRim: 0.05, BlueRim: 0.04, DiamondRim: 0.20, DiamondEdge: 0, SquareRatio: 1,
	DigitHeight: 0.58, DigitWeight: 0.14, DigitWidth: 1, DigitSlant: 0,
	PictoScale: 1, ArrowWidth: 0.22,
	Font: fontRound, Walker: 0, Car: 0, ArrowHead: 0, CurveHead: false, EndStripes: 3,
}

// countries lists the built-in styles, nearest to the base first. The order
// is a design intent (how many style parameters change and by how much), not
// a measured transfer distance.
func countries() []Country {
	at := baseStyle
	at.Red = RGB{0.84, 0.12, 0.14}
	at.Blue = RGB{0.02, 0.36, 0.70}
	at.RingWidth, at.TriBorder, at.TriCorner = 0.15, 0.12, 0.08
	at.DiamondEdge = 0.04
	at.DigitWeight, at.DigitWidth = 0.155, 0.94
	at.CurveHead, at.EndStripes = true, 5

	de := baseStyle
	de.Red = RGB{0.74, 0.06, 0.12}
	de.Blue = RGB{0.00, 0.29, 0.60}
	de.RingWidth, de.TriBorder, de.TriCorner, de.TriHeight = 0.21, 0.19, 0.15, 0.866
	de.StopRim, de.BlueRim, de.DiamondRim, de.DiamondEdge = 0.06, 0.05, 0.22, 0.045
	de.DigitHeight, de.DigitWeight, de.DigitWidth = 0.62, 0.13, 0.9
	de.Font, de.Car, de.CurveHead, de.EndStripes, de.OneWayWide = fontDIN, 1, true, 5, true

	it := baseStyle
	it.Red = RGB{0.87, 0.17, 0.10}
	it.Blue = RGB{0.00, 0.23, 0.52}
	it.RingWidth, it.TriBorder, it.TriCorner = 0.12, 0.11, 0.04
	it.StopRim, it.BlueRim, it.DiamondRim = 0.04, 0.0, 0.16
	it.DigitHeight, it.DigitWeight, it.DigitWidth = 0.62, 0.17, 1.1
	it.PictoScale, it.ArrowWidth = 1.08, 0.26
	it.Walker, it.ArrowHead, it.EndStripes = 1, 1, 1

	es := baseStyle
	es.Red = RGB{0.82, 0.04, 0.08}
	es.Blue = RGB{0.00, 0.42, 0.78}
	es.RingWidth, es.TriBorder, es.TriCorner, es.TriHeight = 0.23, 0.20, 0.10, 0.96
	es.BlueRim, es.DiamondEdge = 0.06, 0.03
	es.DigitHeight, es.DigitWeight, es.DigitWidth, es.DigitSlant = 0.64, 0.15, 0.82, 0.06
	es.PictoScale, es.ArrowWidth = 0.92, 0.2
	es.Font, es.Walker, es.Car, es.ArrowHead, es.CurveHead, es.EndStripes = fontAngular, 1, 1, 1, true, 4

	se := baseStyle
	se.Red = RGB{0.85, 0.11, 0.13}
	se.Blue = RGB{0.00, 0.37, 0.72}
	se.WarnFill, se.DiscFill = RGB{0.99, 0.80, 0.10}, RGB{0.99, 0.80, 0.10}
	se.RingWidth, se.TriBorder, se.TriCorner = 0.12, 0.10, 0.10
	se.BlueRim, se.DiamondRim = 0.05, 0.18
	se.DigitHeight, se.DigitWeight, se.DigitWidth = 0.56, 0.12, 0.9
	se.Font, se.Car, se.CurveHead, se.EndStripes, se.OneWayWide = fontDIN, 1, true, 3, true

	return []Country{
		{Code: "be", Name: "Belgium", style: baseStyle,
			Note: "base style: round stroke digits, striding pedestrian, boxy car, white fills, medium borders"},
		{Code: "at", Name: "Austria", style: at, Only: []string{"limit130"},
			Note: "near the base: brighter red and blue, thinner borders, sharper triangle corners, slightly condensed digits, arrowheads on curves, five end stripes"},
		{Code: "de", Name: "Germany", style: de, Only: []string{"zone30"},
			Note: "condensed DIN-like digits, thick borders, rounded equilateral triangles, rounded car, outlined priority diamond, wide one-way sign"},
		{Code: "it", Name: "Italy", style: it, Only: []string{"limit110"},
			Note: "thin borders and sharp triangle corners, wide heavy digits, coat-and-hat pedestrian, slim arrowheads, dark blue without rim, one broad end band"},
		{Code: "es", Name: "Spain", style: es, Only: []string{"limit90"},
			Note: "chamfered angular digits with a slant, very thick rings, tall triangles, coat-and-hat pedestrian, rounded car, light blue"},
		{Code: "se", Name: "Sweden", style: se, Only: []string{"elk"},
			Note: "far from the base: yellow fills on warning and prohibitory signs, thin borders, DIN-like digits, rounded car"},
	}
}

// Countries returns the built-in countries, base first.
func Countries() []Country { return countries() }

// CountryCodes returns the codes of the built-in countries, base first.
func CountryCodes() []string {
	cs := countries()
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Code
	}
	return out
}

// LookupCountry finds a built-in country by code (case-insensitive).
func LookupCountry(code string) (Country, error) {
	if code == "" {
		code = Base
	}
	for _, c := range countries() {
		if strings.EqualFold(c.Code, code) {
			return c, nil
		}
	}
	return Country{}, fmt.Errorf("unknown country %q: known countries are %s", code, strings.Join(CountryCodes(), ", "))
}
