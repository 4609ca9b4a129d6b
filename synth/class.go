package synth

import (
	"fmt"
	"strconv"
	"strings"
)

// Shape is the outline of a sign.
type Shape string

const (
	Circle           Shape = "circle"
	Triangle         Shape = "triangle"
	InvertedTriangle Shape = "inverted-triangle"
	Octagon          Shape = "octagon"
	Diamond          Shape = "diamond"
	Square           Shape = "square"
	Rectangle        Shape = "rectangle"
)

// Class is one sign class of one country. ID is its label and folder name;
// shared classes carry the same ID in every country and country-only classes
// follow them, so IDs are dense from 0. Meaning is the cross-country key
// ClassMap joins on.
type Class struct {
	ID      int
	Name    string // short slug accepted by --classes, e.g. "limit30"
	Shape   Shape  // outline in the country's own style
	Meaning string
}

// Dir is the class's folder name: the ID zero-padded to two digits so folders
// sort numerically.
func (c Class) Dir() string { return fmt.Sprintf("%02d", c.ID) }

type classDef struct {
	name, meaning string
	shape         func(st *Style) Shape
	draw          func(p *painter, st *Style)
}

func shapeIs(s Shape) func(*Style) Shape { return func(*Style) Shape { return s } }

func limitDef(v string) classDef {
	return classDef{"limit" + v, "speed limit " + v + " km/h", shapeIs(Circle), func(p *painter, st *Style) { speedLimit(p, st, v) }}
}

// sharedDefs are the classes every built-in country has, in ID order.
// Appending keeps existing IDs; reordering would relabel saved data sets.
var sharedDefs = []classDef{
	limitDef("20"), limitDef("30"), limitDef("50"), limitDef("60"),
	limitDef("70"), limitDef("80"), limitDef("100"), limitDef("120"),
	{"stop", "stop and give way", shapeIs(Octagon), drawStop},
	{"yield", "give way", shapeIs(InvertedTriangle), drawYield},
	{"no-entry", "no entry for vehicles", shapeIs(Circle), drawNoEntry},
	{"no-overtaking", "no overtaking", shapeIs(Circle), drawNoOvertaking},
	{"priority-road", "priority road", shapeIs(Diamond), drawPriorityRoad},
	{"end-priority-road", "end of priority road", shapeIs(Diamond), drawEndPriorityRoad},
	{"danger", "general danger", shapeIs(Triangle), warning(pictoExclamation)},
	{"curve-left", "dangerous curve to the left", shapeIs(Triangle), warning(pictoCurve(false))},
	{"curve-right", "dangerous curve to the right", shapeIs(Triangle), warning(pictoCurve(true))},
	{"double-curve", "double curve, first to the left", shapeIs(Triangle), warning(pictoDoubleCurve)},
	{"road-works", "road works", shapeIs(Triangle), warning(pictoWorker)},
	{"pedestrians", "pedestrians", shapeIs(Triangle), warning(pictoWalkerSign)},
	{"children", "children", shapeIs(Triangle), warning(pictoChildren)},
	{"traffic-signals", "traffic signals", shapeIs(Triangle), warning(pictoTrafficLight)},
	{"road-narrows", "road narrows on both sides", shapeIs(Triangle), warning(pictoNarrows)},
	{"bumpy-road", "uneven road", shapeIs(Triangle), warning(pictoBumps)},
	{"intersection", "priority at the next intersection", shapeIs(Triangle), warning(pictoIntersection)},
	{"roundabout", "roundabout", shapeIs(Circle), mandatory(pictoRoundabout)},
	{"keep-right", "keep right", shapeIs(Circle), mandatory(pictoKeep(false))},
	{"keep-left", "keep left", shapeIs(Circle), mandatory(pictoKeep(true))},
	{"ahead-only", "ahead only", shapeIs(Circle), mandatory(pictoAhead)},
	{"turn-left", "turn left ahead", shapeIs(Circle), mandatory(pictoTurn(true))},
	{"turn-right", "turn right ahead", shapeIs(Circle), mandatory(pictoTurn(false))},
	{"no-vehicles", "no vehicles", shapeIs(Circle), drawNoVehicles},
	{"no-stopping", "no stopping", shapeIs(Circle), drawNoStopping},
	{"no-parking", "no parking", shapeIs(Circle), drawNoParking},
	{"no-u-turn", "no u-turn", shapeIs(Circle), drawNoUTurn},
	{"end-restrictions", "end of all restrictions", shapeIs(Circle), drawEndRestrictions},
	{"one-way", "one-way traffic", oneWayShape, drawOneWay},
	{"dead-end", "dead end", shapeIs(Square), drawDeadEnd},
	{"crossing", "pedestrian crossing", shapeIs(Square), drawCrossing},
	{"parking", "parking", shapeIs(Square), drawParking},
}

// onlyDefs are classes that exist in one country only (see Country.Only).
var onlyDefs = []classDef{
	limitDef("90"), limitDef("110"), limitDef("130"),
	{"zone30", "30 km/h zone", shapeIs(Rectangle), drawZone30},
	{"elk", "elk crossing", shapeIs(Triangle), warning(pictoElk)},
}

func oneWayShape(st *Style) Shape {
	if st.OneWayWide {
		return Rectangle
	}
	return Square
}

// catalogue returns the class definitions of a country in ID order.
func catalogue(c Country) []classDef {
	defs := append([]classDef(nil), sharedDefs...)
	for _, name := range c.Only {
		for _, d := range onlyDefs {
			if d.name == name {
				defs = append(defs, d)
			}
		}
	}
	return defs
}

func classesOf(c Country, defs []classDef) []Class {
	out := make([]Class, len(defs))
	for i, d := range defs {
		out[i] = Class{ID: i, Name: d.name, Shape: d.shape(&c.style), Meaning: d.meaning}
	}
	return out
}

// Catalogue lists the classes of a country in ID order.
func Catalogue(country string) ([]Class, error) {
	c, err := LookupCountry(country)
	if err != nil {
		return nil, err
	}
	return classesOf(c, catalogue(c)), nil
}

// selectClasses resolves a class selection (names or numeric IDs; empty or
// "all" for every class; "shared" for the classes every country has, so
// that sets of two countries label the same classes alike) to IDs in
// ascending order without duplicates.
func selectClasses(cat []Class, sel []string) ([]int, error) {
	if len(sel) == 1 && strings.EqualFold(strings.TrimSpace(sel[0]), "shared") {
		ids := make([]int, len(sharedDefs))
		for i := range ids {
			ids[i] = i
		}
		return ids, nil
	}
	if len(sel) == 0 || (len(sel) == 1 && strings.EqualFold(strings.TrimSpace(sel[0]), "all")) {
		ids := make([]int, len(cat))
		for i := range ids {
			ids[i] = i
		}
		return ids, nil
	}
	chosen := make([]bool, len(cat))
	for _, s := range sel {
		s = strings.TrimSpace(s)
		id, ok := -1, false
		if n, err := strconv.Atoi(s); err == nil && n >= 0 && n < len(cat) {
			id, ok = n, true
		}
		for _, c := range cat {
			if strings.EqualFold(c.Name, s) {
				id, ok = c.ID, true
			}
		}
		if !ok {
			names := make([]string, len(cat))
			for i, c := range cat {
				names[i] = c.Name
			}
			return nil, fmt.Errorf("unknown class %q: use \"all\", an id from 0 to %d, or one of %s", s, len(cat)-1, strings.Join(names, ", "))
		}
		chosen[id] = true
	}
	var ids []int
	for i, c := range chosen {
		if c {
			ids = append(ids, i)
		}
	}
	return ids, nil
}
