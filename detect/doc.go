// Package detect is the machinery of single-shot detectors (SSD, Liu et
// al. 2016; SSDLite, Sandler et al. 2018) that is not a network layer:
// default boxes tiled over feature maps, the matching of ground truth to
// them, box coding with variances, the multibox loss with hard-negative
// mining, and post-processing (per-class non-maximum suppression, score
// threshold, top-k).
//
// Every definition follows torchvision's SSD (torchvision/models/detection:
// ssd.py, anchor_utils.py, _utils.py; torchvision.ops.boxes) so that a
// torchvision detector's weights give the same boxes in graft; the tests
// compare with values torchvision computed (testdata/make_fixtures.py).
//
// Boxes are (x1, y1, x2, y2) in pixels of the network's input, as
// torchvision's are.
//
// The networks are Models: an nn.Model's named stages (backbone, extra
// feature layers, and "head" with the per-map predictors) plus the taps
// that say which stages' outputs are the feature maps, and the default
// boxes. Built-ins come from New (ssd300_vgg16, ssdlite320_mobilenet_v3_large
// with torchvision's parameter names, so its state_dicts load through
// onnx.LoadPretrained(m.Model, …); ssd_smallcnn for tests and the CPU
// demo), and FromClassifier puts a detector on any classifier's body.
package detect
