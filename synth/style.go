package synth

// RGB is a paint colour in sRGB, components in [0,1].
type RGB struct{ R, G, B float32 }

func lerpRGB(a, b RGB, t float64) RGB {
	// a*(1-t) + b*t is exact at both ends, which Shift 0 and 1 rely on.
	u, v := float32(t), float32(1-t)
	return RGB{a.R*v + b.R*u, a.G*v + b.G*u, a.B*v + b.B*u}
}

func lerp(a, b, t float64) float64 { return a*(1-t) + b*t }

// Style is everything that makes one country's signs look like that
// country's: paint colours, proportions, the stroke font and pictogram
// variants. Lengths are in sign radii (the sign spans [-1,1]).
//
// Continuous fields are interpolated by Blend; discrete ones (font,
// pictogram variants, stripe count, one-way shape) cannot be averaged, so each
// rendered sample takes all of them from either the base or the country
// style, the country with probability Shift. A data set at Shift 0.3 is then
// 30 % country glyphs and pictograms, with colours and proportions 30 % of
// the way there.
type Style struct {
	Red, Blue, Yellow, White, Black, Grey RGB
	Amber, Green                          RGB // traffic-light pictogram

	WarnFill RGB // fill of warning and yield triangles
	DiscFill RGB // fill of prohibitory discs

	RingWidth   float64 // red ring of prohibitory discs
	TriBorder   float64 // red border of warning triangles
	TriCorner   float64 // corner radius of triangles
	TriHeight   float64 // triangle height over width (0.866: equilateral)
	StopRim     float64 // white rim of the stop octagon
	BlueRim     float64 // white rim of blue discs and squares
	DiamondRim  float64 // white border of the priority diamond
	DiamondEdge float64 // dark outline of the priority diamond, 0 for none
	SquareRatio float64 // height over width of blue information signs

	DigitHeight float64 // digit height over the inner disc diameter
	DigitWeight float64 // stroke width over digit height
	DigitWidth  float64 // glyph width scale applied to the font
	DigitSlant  float64 // horizontal shear of glyphs
	PictoScale  float64 // pictogram size inside triangles
	ArrowWidth  float64 // shaft width of arrows on blue signs

	Font       int  // index into fonts
	Walker     int  // pedestrian silhouette: 0 striding, 1 coat and hat
	Car        int  // car silhouette: 0 boxy, 1 rounded
	ArrowHead  int  // 0 broad triangle, 1 slim barbed
	CurveHead  bool // curve warnings end in an arrowhead
	EndStripes int  // diagonal stripes on end-of-restriction signs
	OneWayWide bool // one-way is a wide rectangle with a sideways arrow
}

// Blend returns the style t of the way from base to target for continuous
// fields (t is clamped to [0,1]). Discrete fields come from target when
// useTarget is set, from base otherwise; see Style.
func Blend(base, target Style, t float64, useTarget bool) Style {
	t = min(max(t, 0), 1)
	s := base
	if useTarget {
		s = target
	}
	c := func(a, b RGB) RGB { return lerpRGB(a, b, t) }
	s.Red, s.Blue, s.Yellow = c(base.Red, target.Red), c(base.Blue, target.Blue), c(base.Yellow, target.Yellow)
	s.White, s.Black, s.Grey = c(base.White, target.White), c(base.Black, target.Black), c(base.Grey, target.Grey)
	s.Amber, s.Green = c(base.Amber, target.Amber), c(base.Green, target.Green)
	s.WarnFill, s.DiscFill = c(base.WarnFill, target.WarnFill), c(base.DiscFill, target.DiscFill)
	f := func(a, b float64) float64 { return lerp(a, b, t) }
	s.RingWidth = f(base.RingWidth, target.RingWidth)
	s.TriBorder = f(base.TriBorder, target.TriBorder)
	s.TriCorner = f(base.TriCorner, target.TriCorner)
	s.TriHeight = f(base.TriHeight, target.TriHeight)
	s.StopRim = f(base.StopRim, target.StopRim)
	s.BlueRim = f(base.BlueRim, target.BlueRim)
	s.DiamondRim = f(base.DiamondRim, target.DiamondRim)
	s.DiamondEdge = f(base.DiamondEdge, target.DiamondEdge)
	s.SquareRatio = f(base.SquareRatio, target.SquareRatio)
	s.DigitHeight = f(base.DigitHeight, target.DigitHeight)
	s.DigitWeight = f(base.DigitWeight, target.DigitWeight)
	s.DigitWidth = f(base.DigitWidth, target.DigitWidth)
	s.DigitSlant = f(base.DigitSlant, target.DigitSlant)
	s.PictoScale = f(base.PictoScale, target.PictoScale)
	s.ArrowWidth = f(base.ArrowWidth, target.ArrowWidth)
	return s
}
