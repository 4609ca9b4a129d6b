package synth

import (
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
)

// SceneAnnotations is the COCO file WriteScenes writes beside images/.
const SceneAnnotations = "annotations.json"

// cocoOut is the subset of COCO's detection format that WriteScenes
// writes; field order is fixed so the same set gives the same bytes.
type cocoOut struct {
	Info        cocoInfo          `json:"info"`
	Images      []cocoImageOut    `json:"images"`
	Annotations []cocoAnnOut      `json:"annotations"`
	Categories  []cocoCategoryOut `json:"categories"`
}

type cocoInfo struct {
	Description string `json:"description"`
}

type cocoImageOut struct {
	ID       int    `json:"id"`
	FileName string `json:"file_name"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

type cocoAnnOut struct {
	ID         int        `json:"id"`
	ImageID    int        `json:"image_id"`
	CategoryID int        `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	IsCrowd    int        `json:"iscrowd"`
}

type cocoCategoryOut struct {
	ID            int    `json:"id"`
	Name          string `json:"name"`
	Supercategory string `json:"supercategory"`
}

// WriteScenes writes s under dir as a COCO detection set: images/NNNNNN.png
// and annotations.json (file_names relative to it, image ids from 1,
// category ids the classes' catalogue IDs so sets of two countries agree,
// bbox [x, y, width, height] in pixels to 1/100), plus classes.csv and
// classmap.csv as WriteTree writes them. data.OpenCOCO reads it back with
// the same classes and boxes. Files are written atomically; progress, if
// not nil, is called after each image.
func WriteScenes(ctx context.Context, s *Scenes, dir string, progress func(done, total int)) error {
	imgDir := filepath.Join(dir, "images")
	if err := os.MkdirAll(imgDir, 0o755); err != nil {
		return fmt.Errorf("create output folder %q: %w", imgDir, err)
	}
	if err := writeTables(dir, s.classes); err != nil {
		return err
	}
	if err := writeScenes(ctx, s, imgDir, progress); err != nil {
		return err
	}
	js, err := sceneCOCO(s)
	if err != nil {
		return err
	}
	return writeSetFile(filepath.Join(dir, SceneAnnotations), js)
}

func sceneFile(i int) string { return fmt.Sprintf("%06d.png", i) }

// sceneCOCO is the annotation file of s.
func sceneCOCO(s *Scenes) ([]byte, error) {
	c := s.cfg
	out := cocoOut{
		Info: cocoInfo{Description: fmt.Sprintf("graft synth --scenes: country %s, %dx%d, seed %d, shift %g, difficulty %g, signs %d..%d px, up to %d per image",
			s.country.Code, c.Width, c.Height, c.Seed, c.Shift, c.Difficulty, c.MinSign, c.MaxSign, c.MaxSigns)},
		Images:      []cocoImageOut{},
		Annotations: []cocoAnnOut{},
	}
	for _, cl := range s.classes {
		out.Categories = append(out.Categories, cocoCategoryOut{ID: cl.ID, Name: cl.Name, Supercategory: string(cl.Shape)})
	}
	for i := range s.Len() {
		out.Images = append(out.Images, cocoImageOut{ID: i + 1, FileName: "images/" + sceneFile(i), Width: c.Width, Height: c.Height})
		for _, b := range s.Boxes(i) {
			w, h := b.W(), b.H()
			out.Annotations = append(out.Annotations, cocoAnnOut{
				ID: len(out.Annotations) + 1, ImageID: i + 1, CategoryID: s.classes[b.Class].ID,
				BBox: [4]float64{b.X1, b.Y1, round2(w), round2(h)}, Area: round2(w * h),
			})
		}
	}
	js, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return nil, fmt.Errorf("encode scene annotations: %w", err)
	}
	return append(js, '\n'), nil
}

func round2(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }

// writeScenes renders and encodes the images on every core; the first
// error stops the others. Textures and sensor noise leave deflate little
// to find: the fastest level makes files as small as the default, sooner.
func writeScenes(ctx context.Context, s *Scenes, dir string, progress func(done, total int)) error {
	return encodeAll(ctx, s.Len(), s.NRGBA, s.Source, func(i int) string { return filepath.Join(dir, sceneFile(i)) },
		png.Encoder{CompressionLevel: png.BestSpeed}, progress)
}
