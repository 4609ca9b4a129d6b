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

	"github.com/graftml/graft/internal/safefile"
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
	if err := writeTables(dir, s.classes); err != nil {
		return err
	}
	return writeImages(ctx, s, dir, progress)
}

// writeTables writes classes.csv (the classes' IDs and names) and
// classmap.csv into dir, as every data set synth writes carries them.
func writeTables(dir string, classes []Class) error {
	var buf bytes.Buffer
	if err := WriteClassesCSV(&buf, classes); err != nil {
		return err
	}
	if err := writeSetFile(filepath.Join(dir, "classes.csv"), buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	if err := WriteClassMapCSV(&buf); err != nil {
		return err
	}
	return writeSetFile(filepath.Join(dir, "classmap.csv"), buf.Bytes())
}

func writeImages(ctx context.Context, s *Set, dir string, progress func(done, total int)) error {
	return encodeAll(ctx, s.Len(), s.NRGBA, s.Source, func(i int) string {
		return filepath.Join(dir, s.classes[s.Label(i)].Dir(), fmt.Sprintf("%06d.png", s.SampleIndex(i)))
	}, png.Encoder{}, progress)
}

// encodeAll renders images 0..total-1 on every core (render), encodes them
// as PNG with enc and writes each to path(i); source names an image in
// errors. The first error stops the others.
func encodeAll(ctx context.Context, total int, render func(i int) (*image.NRGBA, error), source, path func(i int) string,
	enc png.Encoder, progress func(done, total int)) error {
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
	for range min(runtime.GOMAXPROCS(0), max(total, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return
				}
				img, err := render(i)
				if err != nil {
					fail(err)
					return
				}
				buf.Reset()
				if err := enc.Encode(&buf, img); err != nil {
					fail(fmt.Errorf("encode %s: %w", source(i), err))
					return
				}
				if err := writeSetFile(path(i), buf.Bytes()); err != nil {
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
	return safefile.WriteBytes(path, buf.Bytes())
}

// writeSetFile writes one file of a data set through safefile without
// fsync: a data set can be regenerated from its seed, and syncing every one
// of thousands of small files would dominate the run time. Readers still
// see the whole file or none.
func writeSetFile(path string, b []byte) error {
	return safefile.WriteBytesNoSync(path, b)
}
