// Package safefile writes files so that a reader never sees half of one: the
// content goes to a temporary file in the same directory, is synced, and is
// renamed over the target only when complete. Every file graft writes goes
// through here, so one test of this path (see InjectFault) covers them all.
package safefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Write creates or replaces path with what fill writes. If fill fails, or
// the process dies, the previous file (if any) is untouched and no
// temporary file is left behind by a clean failure; a process killed while
// writing leaves its .NAME.tmp-* file, which nothing reads.
func Write(path string, fill func(w io.Writer) error) error {
	return write(path, true, func(f io.Writer) error {
		bw := bufio.NewWriterSize(f, 1<<20)
		if err := fill(bw); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// WriteBytes replaces path with b atomically.
func WriteBytes(path string, b []byte) error {
	return write(path, true, func(f io.Writer) error {
		_, err := f.Write(b)
		return err
	})
}

// WriteBytesNoSync is WriteBytes without fsync of the file or its folder.
// Readers still see the whole file or none, and a killed process leaves
// the previous version; only a power cut or OS crash may lose the file or
// leave it empty. It is for data that can be regenerated, such as a
// synthetic data set's thousands of small images, where syncing each one
// would dominate the run time.
func WriteBytesNoSync(path string, b []byte) error {
	return write(path, false, func(f io.Writer) error {
		_, err := f.Write(b)
		return err
	})
}

func write(path string, durable bool, fill func(f io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	pattern := "." + filepath.Base(path) + ".tmp-*"
	fault := faults.Load()
	var tmp *os.File
	if ferr := fault.at(OpCreate, path); ferr != nil {
		err = &os.PathError{Op: "open", Path: filepath.Join(dir, pattern), Err: ferr}
	} else {
		tmp, err = os.CreateTemp(dir, pattern)
	}
	if err != nil {
		return explain(path, err, "is the folder there and writable?")
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	var w io.Writer = tmp
	if fault != nil {
		w = &faultWriter{tmp, path, fault}
	}
	if err = fill(w); err != nil {
		return explain(path, err, "")
	}
	// CreateTemp makes owner-only files; graft's outputs are for sharing.
	if err = tmp.Chmod(0o644); err != nil {
		return explain(path, err, "")
	}
	if durable {
		if ferr := fault.at(OpSync, path); ferr != nil {
			err = &os.PathError{Op: "sync", Path: tmp.Name(), Err: ferr}
		} else {
			err = tmp.Sync()
		}
		if err != nil {
			return explain(path, err, "")
		}
	}
	if err = tmp.Close(); err != nil {
		return explain(path, err, "")
	}
	if ferr := fault.at(OpRename, path); ferr != nil {
		err = &os.LinkError{Op: "rename", Old: tmp.Name(), New: path, Err: ferr}
	} else {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return explain(path, err, "")
	}
	// The rename is durable once the folder is synced: without it a power
	// cut may bring back the previous version (never a part of one). Some
	// file systems refuse to sync a folder; the file is written all the same.
	if durable {
		if d, derr := os.Open(dir); derr == nil {
			d.Sync()
			d.Close()
		}
	}
	return nil
}

// CheckDir makes sure dir exists (creating it) and is writable, so a long
// run fails at its start rather than at its first save.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		parent := filepath.Dir(dir)
		if pe, ok := err.(*os.PathError); ok {
			parent = filepath.Dir(pe.Path) // where MkdirAll was refused
		}
		return fmt.Errorf("cannot create output folder %s: %w%s", dir, unwrapPathErr(err), fix(err, parent))
	}
	var probe *os.File
	err := faults.Load().at(OpCreate, dir)
	if err == nil {
		probe, err = os.CreateTemp(dir, ".graft-write-test-*")
	}
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w%s", dir, unwrapPathErr(err), fix(err, ""))
	}
	probe.Close()
	os.Remove(probe.Name())
	return nil
}

// explain wraps a failed write of path, dropping the temporary file's name
// (the user never asked for it) and naming the fix for the failures a user
// can fix; otherwise it adds hint, if any.
func explain(path string, err error, hint string) error {
	how := fix(err, filepath.Dir(path))
	if how == "" && hint != "" {
		how = " (" + hint + ")"
	}
	return fmt.Errorf("cannot write %s: %w%s", path, unwrapPathErr(err), how)
}

// fix names what the user can do about err, writing in dir (named unless
// ""); "" when there is nothing specific to say.
func fix(err error, dir string) string {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return "; free disk space, or write to another disk"
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		if dir == "" {
			return "; check the folder's permissions, or write elsewhere"
		}
		return fmt.Sprintf("; check the folder's permissions (%s), or write elsewhere", dir)
	case errors.Is(err, syscall.EROFS):
		return "; the disk is read-only: write elsewhere"
	}
	return ""
}

func unwrapPathErr(err error) error {
	switch e := err.(type) {
	case *os.PathError:
		return e.Err
	case *os.LinkError:
		return e.Err
	}
	return err
}
