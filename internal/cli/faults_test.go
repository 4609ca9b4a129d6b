package cli

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/internal/safefile"
)

// fault fails one step of one write, the first that matches, through
// safefile's hook; every later step goes through.
type fault struct {
	op    string
	file  string // only the write of this file (base name); "" for any
	files bool   // skip CheckDir's probe of a folder
	errno syscall.Errno

	mu  sync.Mutex // synth writes from several goroutines
	hit string     // the path that failed
}

func (f *fault) inject(op, path string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hit != "" || op != f.op || (f.file != "" && filepath.Base(path) != f.file) {
		return nil
	}
	if fi, err := os.Stat(path); f.files && err == nil && fi.IsDir() {
		return nil
	}
	f.hit = path
	return f.errno
}

func (f *fault) name() string {
	switch {
	case f.file != "":
		return f.op + " " + f.file
	case f.files:
		return f.op + " file"
	}
	return f.op
}

// fixFor is what the message must tell the user to do.
var fixFor = map[syscall.Errno]string{
	syscall.ENOSPC: "free disk space",
	syscall.EACCES: "check the folder's permissions",
}

// TestWriteFaults: every command that writes files, with a full disk or a
// refused permission at the first create, write, sync or rename (and at
// the files a command writes last), fails with one line naming the file
// and the fix, does not panic, and leaves no partial file.
func TestWriteFaults(t *testing.T) {
	dir := t.TempDir()
	train, test := filepath.Join(dir, "train"), filepath.Join(dir, "test")
	writeSet(t, train, 3, 8)
	writeSet(t, test, 3, 2)
	base := trainBase(t, train, filepath.Join(dir, "base", "m"), 1)
	model := filepath.Join(dir, "base", "m.onnx")
	if code, _, errs := run(t, "export", base, "--onnx", model, "--threads", "1", "--quiet"); code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	trainArgs := func(cmd string) func(string) []string {
		return func(out string) []string {
			return []string{cmd, "--train", train, "--size", "16", "--epochs", "1", "--batch", "16", "--refit", "never",
				"--out", filepath.Join(out, "m"), "--quiet"}
		}
	}
	commands := []struct {
		name  string
		args  func(out string) []string
		files []string // written late: a fault there comes after other files are done
	}{
		{"train", trainArgs("train"), []string{"m.json"}},
		{"pretrain", trainArgs("pretrain"), nil},
		{"transfer", func(out string) []string {
			return []string{"transfer", "--base", base, "--strategy", "probe", "--train", train, "--epochs", "1", "--val-split", "0",
				"--out", filepath.Join(out, "m"), "--quiet"}
		}, []string{"m.json"}},
		{"compare", func(out string) []string {
			return []string{"compare", "--base", base, "--train", train, "--test", test, "--strategies", "probe", "--shots", "all",
				"--seeds", "1", "--epochs", "1", "--lr-grid", "1e-2", "--threads", "1", "--out", out, "--quiet"}
		}, []string{"results.json", "report.html", "leaderboard.md"}},
		{"export", func(out string) []string {
			return []string{"export", base, "--onnx", filepath.Join(out, "m.onnx"), "--threads", "1", "--quiet"}
		}, nil},
		{"import", func(out string) []string {
			return []string{"import", model, "--out", filepath.Join(out, "m"), "--quiet"}
		}, []string{"m.json"}},
		{"synth", func(out string) []string {
			return []string{"synth", "--country", "de", "--classes", "stop,yield", "--per-class", "2", "--size", "16", "--out", out}
		}, []string{"000001.png"}},
		{"lr-find", func(out string) []string {
			return []string{"lr-find", "--base", base, "--train", train, "--strategy", "probe", "--steps", "6", "--batch", "8",
				"--threads", "1", "--plot", filepath.Join(out, "lr"), "--quiet"}
		}, []string{"lr.png"}},
	}
	for _, c := range commands {
		faults := []*fault{
			{op: safefile.OpCreate, errno: syscall.EACCES},
			{op: safefile.OpCreate, files: true, errno: syscall.ENOSPC},
			{op: safefile.OpWrite, errno: syscall.ENOSPC},
			{op: safefile.OpSync, errno: syscall.ENOSPC},
			{op: safefile.OpRename, errno: syscall.EACCES},
		}
		for _, f := range c.files {
			faults = append(faults, &fault{op: safefile.OpWrite, file: f, errno: syscall.ENOSPC})
		}
		for _, f := range faults {
			t.Run(c.name+"/"+f.name(), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out")
				restore := safefile.InjectFault(f.inject)
				code, _, errs := run(t, c.args(out)...)
				restore()
				if code == 3 || strings.Contains(errs, "panic") || strings.Contains(errs, "goroutine ") {
					t.Fatalf("panic or internal error: %s", errs)
				}
				switch {
				case f.hit == "" && f.file != "":
					t.Errorf("the command never wrote %s (exit %d: %s)", f.file, code, errs)
				case f.hit == "" && code != 0:
					t.Errorf("exit %d with no fault injected: %s", code, errs)
				case f.hit != "" && code == 0:
					t.Errorf("exit 0 after a failed %s of %s", f.op, f.hit)
				case f.hit != "":
					msg := strings.TrimSpace(errs)
					t.Log(msg)
					if !strings.HasPrefix(msg, "graft: ") || strings.Contains(msg, "\n") ||
						!strings.Contains(msg, f.hit) || !strings.Contains(msg, fixFor[f.errno]) {
						t.Errorf("message %q should be one line naming %s and saying %q", msg, f.hit, fixFor[f.errno])
					}
				}
				checkWhole(t, out)
			})
		}
	}
}

// checkWhole fails t for any temporary file left under dir and any JSON,
// safetensors or PNG file there that does not parse.
func checkWhole(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		name := d.Name()
		if strings.Contains(name, ".tmp-") || strings.HasPrefix(name, ".graft-write-test-") {
			t.Errorf("temporary file left: %s", path)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Error(err)
			return nil
		}
		switch filepath.Ext(name) {
		case ".json":
			if !json.Valid(b) {
				t.Errorf("%s is not valid JSON", path)
			}
		case ".safetensors":
			if _, err := checkpoint.ReadSafetensors(path); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		case ".png":
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", path, err)
			}
		}
		return nil
	})
}
