// Package metrics scores a model's predictions against the truth.
//
// For classifiers: accuracy, per-class accuracy and F1, and the confusion
// matrix (Confusion).
//
// For detectors: COCO's bounding-box evaluation (EvaluateCOCO: mAP@[.5:.95],
// AP50, AP75, AP and AR by area range and detection limit, per-class AP and
// interpolated precision–recall curves) and Pascal VOC's at IoU 0.5
// (EvaluateVOC: the 11-point VOC2007 and the all-point VOC2010+ AP, per-class
// AP and raw precision–recall curves). They follow the reference
// implementations, pycocotools' COCOeval and the devkit's voc_eval, down to
// their thresholds' float values and numpy's summation order, so graft's
// numbers can be compared with published ones; each function's doc says
// where the input they take differs from the reference's.
//
// Boxes are (x1, y1, x2, y2) corners in pixels (Box). Every image named by a
// ground truth or a detection takes part in an evaluation; an image with
// detections but no ground truth is an image without objects, so its
// detections are false positives. Ground truth is crowd-free.
package metrics
