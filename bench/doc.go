// Package bench measures graft's training and inference throughput (images
// per second) and peak memory on the CPU, next to PyTorch running the same
// networks, and checks that a long training run does not leak memory.
//
// # What is measured
//
// Each Case is a network with a batch size and an input side: by default the
// small CNN (batch 64, 32×32) and ResNet-18 (batch 32, 64×64), 10 classes,
// on 2 intra-op threads. For each case and mode:
//
//   - train: Adam (lr 1e-3), cross-entropy, one scope per step, the input
//     batch copied from a Go slice into a tensor every step and the loss read
//     back, as fit's training loop does. The input values are random but
//     fixed for the run, like bench/peer.py's.
//   - infer: the model in eval mode under NoGrad, one scope per batch.
//
// Throughput is batch × timed steps / wall time, after untimed warm-up steps.
//
// # Peak memory and processes
//
// A process's peak RSS only grows, so in one process the peak after the
// second measurement also covers the first. Measure runs in the calling
// process and says so; MeasureIsolated re-executes graft (graft bench
// --internal-case SPEC) once per case and mode, and RunPeer runs one Python
// process per case and mode, so both peaks are that measurement's own and
// comparable: each covers the runtime, libtorch, the model and the work.
// Peaks are getrusage's ru_maxrss in MiB (reported as "MB"), exactly what
// peer.py reads.
//
// # The PyTorch peer
//
// peer.py is embedded in the binary and written to a temporary file for each
// run, so graft bench works from any directory; it needs a Python with torch
// (and torchvision for ResNet-18), by default Debian's /usr/bin/python3.
//
// # Memory growth
//
// TrackRSS (and RSSGrowth) trains the small CNN for 2,000 steps on a fresh
// random batch every step and samples the resident set (VmRSS) along the
// way: after the first 200 steps the allocators have reached their working
// set, and it must then stay flat (under 5 % growth to the end).
package bench
