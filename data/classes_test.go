package data

import "testing"

func TestSelectClasses(t *testing.T) {
	var ims []*Image
	var labels []int
	for i := 0; i < 12; i++ {
		ims = append(ims, NewImage(1, 2, 2))
		labels = append(labels, i%4)
	}
	ds, _ := NewInMemory(ims, labels, []string{"a", "b", "c", "d"})
	list, err := ParseClassList("3,1-2")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := SelectClasses(ds, list)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Len() != 9 || sub.Classes()[0] != "d" || sub.Label(0) != 1 || sub.Label(2) != 0 {
		t.Errorf("len %d classes %v labels %d %d", sub.Len(), sub.Classes(), sub.Label(0), sub.Label(2))
	}
	for _, bad := range []string{"x", "3-1", ""} {
		if _, err := ParseClassList(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := SelectClasses(ds, []int{0, 9}); err == nil {
		t.Error("class 9 of 4 accepted")
	}
}
