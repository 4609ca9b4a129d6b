package data

import (
	"strings"
	"testing"
)

func TestSameClasses(t *testing.T) {
	for _, tt := range []struct {
		name      string
		model, ds []string
		want      string // a part of the error; "" for none
	}{
		{"equal", []string{"a", "b"}, []string{"a", "b"}, ""},
		{"prefix", []string{"a", "b", "c"}, []string{"a", "b"}, ""},
		{"numbers match any name", []string{"stop", "yield"}, []string{"0", "1"}, ""},
		{"model numbered", []string{"0", "1"}, []string{"stop", "yield"}, ""},
		{"more classes", []string{"a"}, []string{"a", "b"}, "the set has 2 classes but the model knows 1 (a)"},
		{"other name", []string{"a", "b"}, []string{"a", "c"}, `the set: class 1 is "c", the model's class 1 is "b"`},
		{"number in the wrong place", []string{"a", "b"}, []string{"a", "0"}, `class 1 is "0"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := SameClasses(tt.model, tt.ds, "the set")
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestShortList(t *testing.T) {
	if got := strings.Join(ShortList([]string{"a", "b", "c"}, 2), ","); got != "a,b,…" {
		t.Errorf("ShortList cut = %q", got)
	}
	s := []string{"a", "b"}
	if got := strings.Join(ShortList(s, 2), ","); got != "a,b" {
		t.Errorf("ShortList whole = %q", got)
	}
}

func TestUnnamedClasses(t *testing.T) {
	names := UnnamedClasses(3)
	if strings.Join(names, ",") != "class0,class1,class2" {
		t.Fatalf("UnnamedClasses(3) = %v", names)
	}
	for _, tt := range []struct {
		names []string
		n     int
		want  int
	}{
		{names, 3, 3},
		{nil, 7, 7},
		{[]string{"class0", "stop"}, 2, -1},
		{[]string{"class1", "class0"}, 2, -1},
	} {
		if got := UnnamedCount(tt.names, tt.n); got != tt.want {
			t.Errorf("UnnamedCount(%v, %d) = %d, want %d", tt.names, tt.n, got, tt.want)
		}
	}
}

func TestEvalClasses(t *testing.T) {
	named, unnamed := []string{"cat", "dog"}, UnnamedClasses(2)
	for _, tt := range []struct {
		name      string
		names, ds []string
		n         int
		want      string // the classes joined, or part of the error
		ok        bool
	}{
		{"named model keeps its names", named, []string{"x", "y"}, 2, "cat,dog", true},
		{"unnamed model takes the data's", unnamed, named, 2, "cat,dog", true},
		{"no names at all takes the data's", nil, named, 2, "cat,dog", true},
		{"data named class0… is named data", unnamed, UnnamedClasses(3), 2, "class0,class1", true},
		{"counts differ", unnamed, []string{"a", "b", "c"}, 2, "m has 2 classes without names (class0…class1: imported without --labels) and d has 3 classes", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EvalClasses(tt.names, tt.n, tt.ds, "m", "d")
			switch {
			case tt.ok && err != nil:
				t.Fatal(err)
			case tt.ok && strings.Join(got, ",") != tt.want:
				t.Errorf("got %v, want %s", got, tt.want)
			case !tt.ok && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
