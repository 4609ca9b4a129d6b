// Package doctor checks a planned transfer for the pitfalls that quietly
// ruin one, before any epoch is spent:
//
//	preprocessing   inputs unlike the base model's: normalisation, channel
//	                order, input size
//	learning-rate   a rate past the point where a short range test's loss
//	                blows up, which wrecks the pretrained features
//	batchnorm       frozen BatchNorm statistics far from the target's
//	labels          labels outside the class list, empty classes, train and
//	                test sets that name their classes differently
//	imbalance       a largest class many times the smallest
//	duplicates      test images that are (nearly) training images
//	too-small       too few images per class for the chosen strategy
//
// Each Finding says what is wrong, the measured evidence, and the fix.
// Thresholds are named constants with the reason for their value; they are
// meant for real photographs and any other domain, not tuned to synthetic
// data.
package doctor
