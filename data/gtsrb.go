package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// GTSRBClasses are the 43 German Traffic Sign Recognition Benchmark class
// names in ClassId order.
var GTSRBClasses = []string{
	"Speed limit (20km/h)", "Speed limit (30km/h)", "Speed limit (50km/h)",
	"Speed limit (60km/h)", "Speed limit (70km/h)", "Speed limit (80km/h)",
	"End of speed limit (80km/h)", "Speed limit (100km/h)", "Speed limit (120km/h)",
	"No passing", "No passing for vehicles over 3.5 metric tons",
	"Right-of-way at the next intersection", "Priority road", "Yield", "Stop",
	"No vehicles", "Vehicles over 3.5 metric tons prohibited", "No entry",
	"General caution", "Dangerous curve to the left", "Dangerous curve to the right",
	"Double curve", "Bumpy road", "Slippery road", "Road narrows on the right",
	"Road work", "Traffic signals", "Pedestrians", "Children crossing",
	"Bicycles crossing", "Beware of ice/snow", "Wild animals crossing",
	"End of all speed and passing limits", "Turn right ahead", "Turn left ahead",
	"Ahead only", "Go straight or right", "Go straight or left", "Keep right",
	"Keep left", "Roundabout mandatory", "End of no passing",
	"End of no passing by vehicles over 3.5 metric tons",
}

const gtsrbTestCSV = "GT-final_test.csv"

// maxGTSRBClassID bounds ClassId: a class name is made for every ID up to
// the highest, so a damaged row must not ask for billions of them.
const maxGTSRBClassID = 1<<16 - 1

// GTSRB is the German Traffic Sign Recognition Benchmark in its original
// layout, read through its annotation CSVs so the sign's region of interest
// is known.
type GTSRB struct {
	dir     string // the Images folder or test folder that was opened
	items   []gtsrbItem
	classes []string
	crop    bool
}

type gtsrbItem struct {
	path           string
	label          int
	x1, y1, x2, y2 int
}

// OpenGTSRB opens either layout of GTSRB:
//   - training: Final_Training/Images/000NN/GT-000NN.csv with the .ppm files
//     beside each CSV; root may be the download's top folder, Final_Training
//     or Final_Training/Images;
//   - test: one folder holding the .ppm files and GT-final_test.csv (from
//     GTSRB_Final_Test_GT.zip); root may be that folder or a parent holding
//     Final_Test/Images.
//
// With cropROI each image is cut to its annotated sign region (Roi.X2/Roi.Y2
// exclusive, which leaves GTSRB's margin symmetric). Labels are ClassId and
// there are 43 classes, or more if a ClassId is higher.
func OpenGTSRB(root string, cropROI bool) (*GTSRB, error) {
	if _, err := os.Stat(root); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open GTSRB %s: no such directory; pass the folder the GTSRB zip files were extracted into", root)
		}
		return nil, fmt.Errorf("open GTSRB: %w", err)
	}
	var train, test []string
	for _, p := range []string{"", "Final_Training/Images", "Images", "GTSRB/Final_Training/Images"} {
		if dir := filepath.Join(root, p); isGTSRBTrain(dir) {
			train = append(train, dir)
			break
		}
	}
	for _, p := range []string{"", "Final_Test/Images", "Images", "GTSRB/Final_Test/Images"} {
		if dir := filepath.Join(root, p); isFile(filepath.Join(dir, gtsrbTestCSV)) || isFile(filepath.Join(dir, "GT-final_test.test.csv")) {
			test = append(test, dir)
			break
		}
	}
	switch {
	case len(train) > 0 && len(test) > 0:
		return nil, fmt.Errorf("%s holds both the GTSRB training and test sets; pass %s for training or %s for test", root, train[0], test[0])
	case len(train) > 0:
		return openGTSRBTrain(train[0], cropROI)
	case len(test) > 0:
		return openGTSRBTest(test[0], cropROI)
	}
	return nil, fmt.Errorf("%s is not a GTSRB tree: want Final_Training/Images/000NN/GT-000NN.csv or a folder with %s; for plain class folders use OpenFolder", root, gtsrbTestCSV)
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// isGTSRBTrain reports whether dir holds class folders with GT-*.csv files.
func isGTSRBTrain(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() && isDigits(e.Name()) && isFile(filepath.Join(dir, e.Name(), "GT-"+e.Name()+".csv")) {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func openGTSRBTrain(dir string, crop bool) (*GTSRB, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open GTSRB: %w", err)
	}
	d := &GTSRB{dir: dir, crop: crop}
	for _, e := range entries {
		if !e.IsDir() || !isDigits(e.Name()) {
			continue
		}
		csvPath := filepath.Join(dir, e.Name(), "GT-"+e.Name()+".csv")
		if !isFile(csvPath) {
			return nil, fmt.Errorf("GTSRB class folder %s has no %s; restore it from GTSRB_Final_Training_Images.zip or open the tree with OpenFolder, which needs no annotations",
				filepath.Join(dir, e.Name()), filepath.Base(csvPath))
		}
		items, err := readGTSRBCSV(csvPath)
		if err != nil {
			return nil, err
		}
		d.items = append(d.items, items...)
	}
	return d.finish()
}

func openGTSRBTest(dir string, crop bool) (*GTSRB, error) {
	csvPath := filepath.Join(dir, gtsrbTestCSV)
	if !isFile(csvPath) {
		return nil, fmt.Errorf("%s has GT-final_test.test.csv, which has no labels; download GTSRB_Final_Test_GT.zip and put its %s in that folder", dir, gtsrbTestCSV)
	}
	items, err := readGTSRBCSV(csvPath)
	if err != nil {
		return nil, err
	}
	d := &GTSRB{dir: dir, crop: crop, items: items}
	return d.finish()
}

func (d *GTSRB) finish() (*GTSRB, error) {
	if len(d.items) == 0 {
		return nil, fmt.Errorf("GTSRB folder %s lists no images in its CSV files; extract the archive again", d.dir)
	}
	top := 0
	for _, it := range d.items {
		top = max(top, it.label)
	}
	d.classes = GTSRBClasses
	if top >= len(GTSRBClasses) {
		d.classes = append([]string(nil), GTSRBClasses...)
		for i := len(GTSRBClasses); i <= top; i++ {
			d.classes = append(d.classes, strconv.Itoa(i))
		}
	}
	return d, nil
}

// readGTSRBCSV parses a semicolon-separated annotation file, finding columns
// by header name so column order does not matter.
func readGTSRBCSV(path string) ([]gtsrbItem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read GTSRB annotations: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = ';'
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: read header: %v; the file is damaged, extract it again", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))] = i
	}
	names := []string{"Filename", "Roi.X1", "Roi.Y1", "Roi.X2", "Roi.Y2", "ClassId"}
	for _, n := range names {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("%s has no %s column (header %q); want GTSRB annotations with %s",
				path, n, strings.Join(header, ";"), strings.Join(names, ";"))
		}
	}
	dir := filepath.Dir(path)
	var items []gtsrbItem
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v; the file is damaged, extract it again", path, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		field := func(n string) string {
			if i := col[n]; i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		var v [5]int
		for i, n := range names[1:] {
			v[i], err = strconv.Atoi(field(n))
			if err != nil || v[i] < 0 {
				return nil, fmt.Errorf("%s line %d: %s is %q, want a non-negative integer", path, line, n, field(n))
			}
		}
		it := gtsrbItem{path: filepath.Join(dir, field("Filename")), x1: v[0], y1: v[1], x2: v[2], y2: v[3], label: v[4]}
		if it.label > maxGTSRBClassID {
			return nil, fmt.Errorf("%s line %d: ClassId %d is above %d; GTSRB has 43 classes, fix the row", path, line, it.label, maxGTSRBClassID)
		}
		if field("Filename") == "" {
			return nil, fmt.Errorf("%s line %d: empty Filename", path, line)
		}
		if it.x2 <= it.x1 || it.y2 <= it.y1 {
			return nil, fmt.Errorf("%s line %d: empty region of interest (%d,%d)-(%d,%d); fix the row or remove it", path, line, it.x1, it.y1, it.x2, it.y2)
		}
		items = append(items, it)
	}
	return items, nil
}

func (d *GTSRB) Len() int            { return len(d.items) }
func (d *GTSRB) Classes() []string   { return d.classes }
func (d *GTSRB) Label(i int) int     { return d.items[i].label }
func (d *GTSRB) Source(i int) string { return d.items[i].path }

// Image decodes sample i, cut to its region of interest when the set was
// opened with cropROI.
func (d *GTSRB) Image(i int) (*Image, error) {
	it := d.items[i]
	im, err := readImage(it.path)
	if err != nil {
		return nil, &ErrSample{Source: it.path, Err: err}
	}
	if !d.crop {
		return im, nil
	}
	out, err := im.Crop(it.x1, it.y1, it.x2, it.y2)
	if err != nil {
		return nil, &ErrSample{Source: it.path, Err: fmt.Errorf("region of interest: %w", err)}
	}
	return out, nil
}
