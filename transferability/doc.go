// Package transferability implements training-free transferability scores:
// given a pretrained model's outputs on a labelled target data set, each
// estimates how well the model would transfer to the target task, without
// fine-tuning. They are intended for ranking candidate transfer set-ups
// (e.g. in `graft advise`); only the ordering between candidates scored on
// the same target data is meaningful. Larger is better for every score.
//
// Scores on penultimate-layer features (n×D, one row per sample):
//
//   - LogME: You, Liu, Wang, Long. "LogME: Practical Assessment of
//     Pre-trained Models for Transfer Learning." ICML 2021.
//   - HScore: Bao, Li, Huang, Zhang, Zheng, Zamir, Guibas. "An
//     Information-Theoretic Approach to Transferability in Task Transfer
//     Learning." ICIP 2019.
//   - TransRate: Huang, Huang, Rong, Yang, Wei. "Frustratingly Easy
//     Transferability Estimation." ICML 2022.
//
// Scores on the source classifier's outputs:
//
//   - LEEP (softmax probabilities): Nguyen, Hassner, Seeger, Archambeau.
//     "LEEP: A New Measure to Evaluate Transferability of Learned
//     Representations." ICML 2020.
//   - NCE (hard predictions): Tran, Nguyen, Hassner. "Transferability and
//     Hardness of Supervised Classification Tasks." ICCV 2019.
//
// All functions are pure, take plain Go slices, validate their inputs
// (matching lengths, rectangular finite matrices, labels in range, at least
// two classes present) and use natural logarithms. The small dense linear
// algebra (Jacobi eigendecomposition, Cholesky) is implemented in the package;
// cost is O(n·D² + D³) for the feature scores (O(n²·D + n³) for LogME when
// D > n).
package transferability
