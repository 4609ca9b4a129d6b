// Package buildinfo says which graft made a file: its version, its source
// commit and the command line, as results.json and checkpoint sidecars
// record them. The commit is graft's own, from the build, never that of
// the directory graft happens to run in.
package buildinfo

import (
	"os"
	"runtime/debug"
)

// Stamp is what the build stamped in: scripts/setup.sh links
// `git describe --always --dirty` of graft's checkout in with
//
//	go build -ldflags "-X github.com/graftml/graft/internal/buildinfo.Stamp=$version"
//
// because graft's builds run with -buildvcs=false (GOFLAGS), which leaves
// the Go toolchain's own VCS stamp out. Empty when the build stamped none.
var Stamp = ""

// Version is graft's version: the stamp, else the module version Go
// recorded (a `go install …@v1.2.3` build), else "dev".
func Version() string {
	if Stamp != "" {
		return Stamp
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// Commit is graft's source commit: the revision Go stamps when it builds
// from a checkout with VCS stamping on (12 hex digits, "-dirty" when the
// tree had changes), else the stamp (git describe names the commit), else
// "" when the build does not say.
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return Stamp
	}
	return commitOf(info.Settings, Stamp)
}

// commitOf reads the VCS settings of a build, falling back to stamp.
func commitOf(settings []debug.BuildSetting, stamp string) string {
	rev, dirty := "", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return stamp
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// Command is the command line of this process, as it was given: what
// graft's CLI was run with.
func Command() []string {
	return append([]string(nil), os.Args...)
}
