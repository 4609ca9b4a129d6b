package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// maxNumericClass bounds numeric class folder names: beyond it the names are
// more likely dates or IDs than class numbers, and a gap-filled class list
// that long would make an absurd classifier head.
const maxNumericClass = 9999

// Folder is an image-folder tree: root/<class>/**/<image>. Images are decoded
// lazily on each Image call, so opening a large tree is cheap.
type Folder struct {
	root    string
	classes []string
	gaps    []string // numbered classes with no folder; see OpenFolder
	paths   []string
	labels  []int
}

// imageExts are the extensions OpenFolder collects; matching is
// case-insensitive. Decoding itself sniffs the content.
var imageExts = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".ppm": true, ".pgm": true,
	".pnm": true, ".bmp": true,
}

func isImageName(name string) bool {
	return !strings.HasPrefix(name, ".") && imageExts[strings.ToLower(filepath.Ext(name))]
}

// OpenFolder lists an image-folder tree in which each subfolder of root is a
// class. Subfolders are searched recursively; hidden entries and files that
// are not PNG, JPEG, PPM/PGM or BMP are ignored.
//
// If every class folder is named by an integer (GTSRB's 00000, 00001, …) the
// label is that integer, so labels survive missing classes: folders 0, 1 and
// 3 give labels 0, 1, 3 and four classes, "2" having no samples (Gaps lists
// them, for the caller to say so). A classes.csv in root with id and name
// columns (graft synth writes one) then names the numbered classes: the row
// whose id is a folder's number gives that class its name. Otherwise
// folders are sorted by name and numbered from 0, and classes.csv is not
// read.
func OpenFolder(root string) (*Folder, error) {
	const fix = "pass the folder that holds one subfolder per class"
	st, err := os.Stat(root)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("open image folder %s: no such directory; %s", root, fix)
	case err != nil:
		return nil, fmt.Errorf("open image folder: %w", err)
	case !st.IsDir():
		return nil, fmt.Errorf("open image folder %s: not a directory; %s, not a file", root, fix)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("open image folder: %w", err)
	}
	var names []string
	loose := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		// Stat follows symlinks, so linked class folders work.
		st, err := os.Stat(filepath.Join(root, e.Name()))
		if err != nil {
			continue
		}
		if st.IsDir() {
			names = append(names, e.Name())
		} else if isImageName(e.Name()) {
			loose++
		}
	}
	if len(names) == 0 {
		hint := ""
		if loose > 0 {
			hint = fmt.Sprintf(" (it holds %d images directly)", loose)
		}
		return nil, fmt.Errorf("image folder %s has no class folders%s; put each class's images in its own subfolder, e.g. %s",
			root, hint, filepath.Join(root, "cat", "1.png"))
	}
	classes, labelOf, numeric := classNames(names)
	var gaps []int
	if numeric {
		present := map[int]bool{}
		for _, l := range labelOf {
			present[l] = true
		}
		for i := range classes {
			if !present[i] {
				gaps = append(gaps, i)
			}
		}
		if err := nameClasses(filepath.Join(root, classesCSV), classes); err != nil {
			return nil, err
		}
	}
	// Samples are listed in label order so Source order matches Classes.
	slices.SortStableFunc(names, func(a, b string) int { return labelOf[a] - labelOf[b] })
	f := &Folder{root: root, classes: classes}
	for _, g := range gaps {
		f.gaps = append(f.gaps, classes[g])
	}
	for _, name := range names {
		dir := filepath.Join(root, name)
		paths, err := listImages(dir)
		if err != nil {
			return nil, fmt.Errorf("open image folder: %w", err)
		}
		if len(paths) == 0 {
			return nil, fmt.Errorf("class folder %s has no images (PNG, JPEG, PPM/PGM, BMP); remove it or add images", dir)
		}
		f.paths = append(f.paths, paths...)
		for range paths {
			f.labels = append(f.labels, labelOf[name])
		}
	}
	if len(names) < 2 {
		hint := "add another class folder"
		if sub, _ := os.ReadDir(filepath.Join(root, names[0])); countDirs(sub) >= 2 {
			// A common slip: pointing one level above the class folders.
			hint = "if its subfolders are the classes, pass " + filepath.Join(root, names[0])
		}
		return nil, fmt.Errorf("image folder %s has only one class (%s); a classifier needs at least 2 classes; %s", root, names[0], hint)
	}
	return f, nil
}

// classNames orders class folders and maps each to its label; see OpenFolder.
// names arrive sorted lexically from os.ReadDir. numeric says the labels
// are the folders' numbers.
func classNames(names []string) (classes []string, labelOf map[string]int, numeric bool) {
	labelOf = make(map[string]int, len(names))
	numeric, width, top := true, len(names[0]), -1
	seen := map[int]bool{}
	for _, n := range names {
		v, err := strconv.Atoi(n)
		if err != nil || v < 0 || v > maxNumericClass || strings.HasPrefix(n, "+") || seen[v] {
			numeric = false
			break
		}
		seen[v] = true
		top = max(top, v)
		if len(n) != width {
			width = 0
		}
	}
	if !numeric {
		names = slices.Clone(names)
		slices.Sort(names)
		for i, n := range names {
			labelOf[n] = i
		}
		return names, labelOf, false
	}
	classes = make([]string, top+1)
	for i := range classes {
		// Gaps take the zero-padded form the present folders use.
		classes[i] = fmt.Sprintf("%0*d", width, i)
	}
	for _, n := range names {
		v, _ := strconv.Atoi(n)
		classes[v] = n
		labelOf[n] = v
	}
	return classes, labelOf, true
}

// listImages walks dir recursively in lexical order.
func listImages(dir string) ([]string, error) {
	var out []string
	// The trailing separator makes WalkDir follow dir itself when it is a
	// symlink; entries inside are still joined and cleaned normally.
	start := dir + string(filepath.Separator)
	err := filepath.WalkDir(start, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == start {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isImageName(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		out = append(out, path)
		return nil
	})
	return out, err
}

// Root is the folder OpenFolder was given.
func (f *Folder) Root() string      { return f.root }
func (f *Folder) Len() int          { return len(f.paths) }
func (f *Folder) Classes() []string { return f.classes }
func (f *Folder) Label(i int) int   { return f.labels[i] }
func (f *Folder) Source(i int) string {
	return f.paths[i]
}

// Image decodes sample i; a failure is an *ErrSample naming the file.
func (f *Folder) Image(i int) (*Image, error) {
	im, err := readImage(f.paths[i])
	if err != nil {
		return nil, &ErrSample{Source: f.paths[i], Err: err}
	}
	return im, nil
}

func countDirs(entries []fs.DirEntry) int {
	n := 0
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}
