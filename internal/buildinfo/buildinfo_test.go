package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestCommitOf(t *testing.T) {
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name     string
		settings []debug.BuildSetting
		stamp    string
		want     string
	}{
		{"vcs", []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}}, "v1-3-gabc", "0123456789ab"},
		{"vcs dirty", []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}, "", "0123456789ab-dirty"},
		{"no vcs, stamped", []debug.BuildSetting{{Key: "-buildvcs", Value: "false"}}, "f895e96-dirty", "f895e96-dirty"},
		{"neither", nil, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := commitOf(tc.settings, tc.stamp); got != tc.want {
				t.Errorf("commitOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVersionPrefersStamp(t *testing.T) {
	defer func(s string) { Stamp = s }(Stamp)
	Stamp = ""
	if v := Version(); v == "" {
		t.Errorf("unstamped Version is empty, want a module version or \"dev\"")
	}
	Stamp = "v9.9.9-1-gabcdef0"
	if v := Version(); v != Stamp {
		t.Errorf("Version = %q, want the stamp %q", v, Stamp)
	}
}
