// Package bench measures graft's training and inference throughput (images
// per second) and peak memory on the CPU or a CUDA device, next to PyTorch
// running the same networks, and checks that a long training run does not
// leak memory.
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
//   - infer: the model in eval mode under NoGrad, one scope per batch, run
//     as graft predict runs it: each BatchNorm folded into the convolution
//     before it (Options.FoldBN) and the convolutions' weights prepacked for
//     oneDNN, with activations kept in its layout where every layer has a
//     kernel for it (Options.Pack, nn.Model.Pack). PyTorch runs its plain
//     eval mode.
//
// Throughput is batch × timed steps / wall time, after untimed warm-up steps.
//
// DetectorCases, measured when named (graft bench --models …), are
// ssdlite320_mobilenet_v3_large at 320² and ssd_smallcnn at 128², batch 8,
// and ssd300_vgg16 at 300², batch 4, random weights, on random images with
// BenchBoxes (three per image, the same on both sides):
//
//   - train: one epoch of a one-batch detection loader through detect.Task
//     (the forward pass, SSD's multibox loss with hard-negative mining) and
//     fit's update with Adam (lr 1e-3), as graft's training runs it.
//   - infer: the forward pass in eval mode under NoGrad, folded and packed
//     as graft detect runs it, and the detector's post-processing
//     (decoding, score threshold, per-class NMS).
//
// The peer runs torchvision's ssdlite320_mobilenet_v3_large and
// ssd300_vgg16 and, for
// ssd_smallcnn, the same network built from torchvision's SSD parts (the
// tests check that its weight count is graft's).
//
// Options.Device runs both sides on a GPU: the model and each batch move
// there (the batch is still made on the host, as fit's is), and both wait
// for the queued kernels before reading the clock. scripts/gpu_bench.sh
// runs it on a machine without Go.
//
// # The roofline
//
// Each row also gives the GFLOP/s a case achieves: its forward FLOPs per
// image (nn.Model.FLOPs, 2 per multiply-add of convolutions and linear
// layers), ×3 for a training step, ×1 for inference, × images per second;
// and each run measures the ceiling once, the best of SgemmReps SgemmSide²
// fp32 matrix products on the same device and threads (MeasureSgemm),
// after everything else. Detectors have no FLOP count.
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
