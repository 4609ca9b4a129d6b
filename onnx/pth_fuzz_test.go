package onnx

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/graftml/graft/internal/fuzzcheck"
)

// checkStateDict reads path with ReadStateDict and decodes every tensor
// it accepts: errors must name the file, and an accepted tensor must
// decode to as many values as its shape says.
func checkStateDict(t *testing.T, path string) {
	sd, err := ReadStateDict(path)
	fuzzcheck.ErrNames(t, err, path)
	if err != nil {
		return
	}
	for _, name := range sd.Names() {
		shape := sd.Shape(name)
		want, ok := safeNumel(shape)
		if !ok {
			t.Fatalf("%s: accepted shape %v, whose product overflows int64", name, shape)
		}
		x, err := sd.Tensor(name)
		if err != nil {
			t.Fatalf("%s: accepted but not decodable: %v", name, err)
		}
		if err := x.Err(); err != nil {
			t.Fatalf("%s: accepted but not decodable: %v", name, err)
		}
		if x.Numel() != want {
			t.Fatalf("%s: %d elements for shape %v", name, x.Numel(), shape)
		}
		x.Free()
	}
}

// FuzzReadStateDict feeds whole .pth files, zip and legacy, to
// ReadStateDict. Zip entries carry CRCs, so mutations of a zip mostly test
// the zip reader; FuzzStateDictPickle fuzzes the pickle inside one.
func FuzzReadStateDict(f *testing.F) {
	for _, p := range []string{"small.pth", "legacy.pth", "wrapped.pth", "module.pth"} {
		b, err := os.ReadFile(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	path := filepath.Join(f.TempDir(), "weights.pth")
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, len(b), func() { checkStateDict(t, path) })
	})
}

// FuzzStateDictPickle feeds the data.pkl of a zip-format .pth file to
// ReadStateDict, in an archive that holds small.pth's storages 0 to 4.
func FuzzStateDictPickle(f *testing.F) {
	entries := map[string][]byte{}
	for _, p := range []string{"small.pth", "wrapped.pth", "module.pth"} {
		zr, err := zip.OpenReader(filepath.Join("testdata", p))
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range zr.File {
			r, err := e.Open()
			if err != nil {
				f.Fatal(err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				f.Fatal(err)
			}
			_, rest, _ := strings.Cut(e.Name, "/")
			if rest == "data.pkl" {
				f.Add(b)
			} else if p == "small.pth" {
				entries[rest] = b
			}
		}
		zr.Close()
	}
	f.Add([]byte("\x80\x02}q\x00."))                                      // an empty dict
	f.Add([]byte("\x80\x02\x8a\x0a" + strings.Repeat("\xff", 10) + "Q.")) // a big integer as a persistent id

	path := filepath.Join(f.TempDir(), "weights.pth")
	f.Fuzz(func(t *testing.T, pkl []byte) {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		add := func(name string, b []byte) {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: "archive/" + name, Method: zip.Store})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(b)
		}
		add("data.pkl", pkl)
		for _, name := range []string{"byteorder", "version", "data/0", "data/1", "data/2", "data/3", "data/4"} {
			if b, ok := entries[name]; ok {
				add(name, b)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		fuzzcheck.Alloc(t, buf.Len(), func() { checkStateDict(t, path) })
	})
}
