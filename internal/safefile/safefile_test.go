package safefile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteReplacesOnlyWhenComplete(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.txt")
	if err := WriteBytes(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "one" {
		t.Errorf("failed write changed the file to %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestUnwritable(t *testing.T) {
	// A path below a plain file is unwritable even for root, who ignores
	// permission bits.
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, nil, 0o644)
	err := WriteBytes(filepath.Join(file, "x"), []byte("y"))
	if err == nil || !strings.Contains(err.Error(), file) {
		t.Errorf("err = %v, want one naming %s", err, file)
	}
	if err := CheckDir(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "plain") {
		t.Errorf("CheckDir err = %v", err)
	}
}

// A write that fails at any step, for the two failures a user can fix,
// says which file and what to do, leaves the previous version and leaves
// no temporary file.
func TestInjectedFaults(t *testing.T) {
	for _, op := range []string{OpCreate, OpWrite, OpSync, OpRename} {
		for _, c := range []struct {
			errno syscall.Errno
			fix   string
		}{
			{syscall.ENOSPC, "free disk space"},
			{syscall.EACCES, "check the folder's permissions"},
		} {
			t.Run(op+"/"+c.errno.Error(), func(t *testing.T) {
				dir := t.TempDir()
				p := filepath.Join(dir, "results.json")
				if err := WriteBytes(p, []byte("old")); err != nil {
					t.Fatal(err)
				}
				var calls []string
				restore := InjectFault(func(o, path string) error {
					calls = append(calls, o)
					if o == op && path == p {
						return c.errno
					}
					return nil
				})
				defer restore()
				err := Write(p, func(w io.Writer) error {
					_, err := io.WriteString(w, "new content")
					return err
				})
				restore()
				if !errors.Is(err, c.errno) {
					t.Fatalf("err = %v, want %v (hook saw %v)", err, c.errno, calls)
				}
				msg := err.Error()
				if !strings.Contains(msg, p) || !strings.Contains(msg, c.fix) || strings.Contains(msg, ".tmp-") {
					t.Errorf("message %q should name %s and say %q, and not name the temporary file", msg, p, c.fix)
				}
				if b, _ := os.ReadFile(p); string(b) != "old" {
					t.Errorf("failed write changed the file to %q", b)
				}
				if entries, _ := os.ReadDir(dir); len(entries) != 1 {
					t.Errorf("files left: %v", entries)
				}
			})
		}
	}
}

func TestInjectedFaultsNoSyncAndCheckDir(t *testing.T) {
	dir := t.TempDir()
	var ops []string
	restore := InjectFault(func(op, path string) error {
		ops = append(ops, op)
		if path == dir {
			return syscall.EACCES
		}
		return nil
	})
	defer restore()
	if err := WriteBytesNoSync(filepath.Join(dir, "a.png"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ops, ",") != "create,write,rename" {
		t.Errorf("WriteBytesNoSync steps %v, want create, write, rename", ops)
	}
	err := CheckDir(dir)
	if !errors.Is(err, syscall.EACCES) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "check the folder's permissions") {
		t.Errorf("CheckDir err = %v", err)
	}
	restore()
	if err := CheckDir(dir); err != nil {
		t.Errorf("after restore: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}
}
