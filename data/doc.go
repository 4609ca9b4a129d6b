// Package data reads labelled image collections and turns them into training
// batches. It is pure Go: nothing here needs libtorch.
//
// A Dataset is random access: Len, Classes, Label (without decoding), Image
// (decoding on demand) and Source (for error messages). Implementations:
//
//   - Folder: root/<class>/<images> trees of PNG, JPEG, PPM/PGM or BMP;
//   - IDX: MNIST and Fashion-MNIST files, gzipped or not;
//   - CIFAR: CIFAR-10 binary batches;
//   - GTSRB: the German Traffic Sign benchmark with its ROI annotations;
//   - InMemory: images already in memory (synthetic data, tests);
//   - Subset: a view of another Dataset (KShot, StratifiedSplit).
//
// Images are CHW float32 in [0,1]. A Preprocess (size, channels, resize
// mode, normalisation) fits them to a model's input and travels with the
// model; an Augment describes random training distortions. A Loader
// combines them, building batches ahead on worker goroutines with results
// that depend only on the seed and the epoch.
//
// Ownership: Image returns a new image the caller may modify. A Batch
// belongs to the consumer until its Release.
package data
