package safefile

import (
	"os"
	"sync/atomic"
)

// The steps of a write at which InjectFault can make it fail.
const (
	OpCreate = "create" // creating the temporary file; CheckDir's probe too, with the folder as path
	OpWrite  = "write"  // each write to the temporary file
	OpSync   = "sync"   // syncing it (WriteBytesNoSync does not)
	OpRename = "rename" // renaming it over the target
)

type faultFunc func(op, path string) error

var faults atomic.Pointer[faultFunc]

// InjectFault is for tests: until restore is called, every write asks f
// before each step (op is one of the Op constants, path the file being
// written), and when f returns an error (say syscall.ENOSPC) that step
// fails with it as the system call would have, and the write cleans up as
// it would after a real failure. f may be called from several goroutines
// at once. Without a hook the cost is one atomic load per write. Calls
// nest: restore brings back the hook that was there before.
func InjectFault(f func(op, path string) error) (restore func()) {
	ff := faultFunc(f)
	prev := faults.Swap(&ff)
	return func() { faults.Store(prev) }
}

// at is the error injected at op on a write of path, nil when none.
func (f *faultFunc) at(op, path string) error {
	if f == nil {
		return nil
	}
	return (*f)(op, path)
}

// faultWriter fails writes to the temporary file when the hook says so.
type faultWriter struct {
	f     *os.File
	path  string
	fault *faultFunc
}

func (w *faultWriter) Write(p []byte) (int, error) {
	if err := w.fault.at(OpWrite, w.path); err != nil {
		return 0, &os.PathError{Op: "write", Path: w.f.Name(), Err: err}
	}
	return w.f.Write(p)
}
