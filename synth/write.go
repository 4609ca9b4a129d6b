package synth

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
)

// WriteTree writes s as an image-folder tree under dir: one folder per class
// named by its zero-padded ID, holding NNNNNN.png per sample (NNNNNN is the
// sample's index within its class), plus classes.csv (id,name,shape,meaning
// of the written classes) and classmap.csv (the cross-country ID table, see
// WriteClassMapCSV). Every file is written to a temporary name in its folder
// and renamed, so an interrupted run never leaves a truncated file behind.
// progress, if not nil, is called after each image with the count so far.
func WriteTree(ctx context.Context, s *Set, dir string, progress func(done, total int)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", dir, err)
	}
	for _, c := range s.classes {
		sub := filepath.Join(dir, c.Dir())
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("create class folder %q: %w", sub, err)
		}
	}
	var buf bytes.Buffer
	if err := WriteClassesCSV(&buf, s.classes); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "classes.csv"), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := WriteClassMapCSV(&buf); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "classmap.csv"), buf.Bytes()); err != nil {
		return err
	}
	return writeImages(ctx, s, dir, progress)
}

func writeImages(ctx context.Context, s *Set, dir string, progress func(done, total int)) error {
	total := s.Len()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		next, done atomic.Int64
		mu         sync.Mutex
		firstErr   error
		wg         sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	workers := min(runtime.GOMAXPROCS(0), max(total, 1))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var enc bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				img, err := s.NRGBA(i)
				if err != nil {
					fail(err)
					return
				}
				enc.Reset()
				if err := png.Encode(&enc, img); err != nil {
					fail(fmt.Errorf("encode %s: %w", s.Source(i), err))
					return
				}
				k := s.Label(i)
				path := filepath.Join(dir, s.classes[k].Dir(), fmt.Sprintf("%06d.png", s.SampleIndex(i)))
				if err := writeAtomic(path, enc.Bytes()); err != nil {
					fail(err)
					return
				}
				n := int(done.Add(1))
				if progress != nil {
					mu.Lock()
					progress(n, total)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// WritePNG encodes img to path atomically.
func WritePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encode %q: %w", path, err)
	}
	return writeAtomic(path, buf.Bytes())
}

// writeAtomic writes b to a temporary file next to path and renames it into
// place, so readers see either no file or the whole file. It does not fsync:
// a data set can be regenerated from its seed, and syncing every one of
// thousands of small files would dominate the run time.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %q: %w", path, err)
	}
	tmp := f.Name()
	// CreateTemp makes owner-only files; data sets are for sharing.
	werr := f.Chmod(0o644)
	if werr == nil {
		_, werr = f.Write(b)
	}
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %q: %w", path, werr)
	}
	return nil
}
