// Package safefile writes files so that a reader never sees half of one: the
// content goes to a temporary file in the same directory, is synced, and is
// renamed over the target only when complete.
package safefile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write creates or replaces path with what fill writes. If fill fails, or
// the process dies, the previous file (if any) is untouched and no
// temporary file is left behind by a clean failure; a process killed while
// writing leaves its .NAME.tmp-* file, which nothing reads.
func Write(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w (is the folder there and writable?)", path, unwrapPathErr(err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = fill(bw); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable once the folder is synced: without it a power
	// cut may bring back the previous version (never a part of one). Some
	// file systems refuse to sync a folder; the file is written all the same.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes replaces path with b atomically.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// CheckDir makes sure dir exists (creating it) and is writable, so a long
// run fails at its start rather than at its first save.
func CheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create output folder %s: %w", dir, unwrapPathErr(err))
	}
	f, err := os.CreateTemp(dir, ".graft-write-test-*")
	if err != nil {
		return fmt.Errorf("output folder %s is not writable: %w", dir, unwrapPathErr(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
