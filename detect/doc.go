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
package detect
