package detect

import (
	"reflect"
	"testing"

	"github.com/graftml/graft/data"
)

func TestTargetsOf(t *testing.T) {
	boxes := [][]data.Box{
		{{X1: 1, Y1: 2, X2: 10, Y2: 12, Class: 0}, {X1: 0, Y1: 0, X2: 5, Y2: 5, Class: 2, Crowd: true}, {X1: 3, Y1: 3, X2: 9, Y2: 9, Class: 1}},
		nil, // an image with no boxes is a target with none
	}
	got, err := TargetsOf(boxes, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{Boxes: []Box{{1, 2, 10, 12}, {3, 3, 9, 9}}, Labels: []int{1, 2}}, {}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("targets %+v, want %+v (labels shifted by one for the background, the crowd left out)", got, want)
	}
	if _, err := TargetsOf([][]data.Box{{{X2: 1, Y2: 1, Class: 3}}}, 3); err == nil {
		t.Error("class 3 of 3 accepted")
	}
}
