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
// Open reads a DATA spec, the one grammar every graft command takes (see
// SpecHelp): a folder, fashion-mnist[:DIR], cifar10:DIR, gtsrb:DIR or
// idx:IMAGES,LABELS, with ?classes=LIST to keep some classes. OpenTraining
// adds what training needs: two classes at least, every image of a folder
// decoded once up front.
//
// Class naming in folders: named folders are classes in lexical order.
// Numbered folders (00, 01, …) are labelled by their number, so that a
// model's class k stays folder k across data sets that lack some classes;
// a classes.csv beside them (id,name,…, as graft synth writes) names them,
// so that predictions say "stop" rather than "08". Numbers missing from the
// sequence (00, 01, 08) are kept as classes with no image — the model gets
// nine outputs, six never trained towards — because refusing would break
// every subset of a numbered set, and renumbering would break the class
// IDs shared with the source set; Gaps lists them so that the commands say
// so on the terminal, with the fix (renumber the folders from 0 without
// gaps, or give every class an image).
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
