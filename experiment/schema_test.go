package experiment

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/graftml/graft/fit"
)

// TestSchemaDocumented keeps docs/results-schema.md in step with the
// types: every JSON field results.json can hold must be documented.
func TestSchemaDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/results-schema.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Slice || ty.Kind() == reflect.Pointer {
			ty = ty.Elem()
		}
		if ty.Kind() != reflect.Struct || seen[ty] {
			return
		}
		seen[ty] = true
		for i := 0; i < ty.NumField(); i++ {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("field %s.%s (json %q) is not documented in docs/results-schema.md", ty.Name(), f.Name, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(Results{}))
	walk(reflect.TypeOf(fit.EpochStats{}))
}
