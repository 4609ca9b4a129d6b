// Package onnx brings pretrained models into graft and takes them out
// again.
//
// Import turns an ONNX image classifier into a trainable nn.Model:
// initializers that feed weight slots (Conv, Gemm, MatMul, BatchNorm…)
// become parameters named by their ONNX names (PyTorch exports keep
// torchvision's, so torchvision state_dicts load into the result, and
// BatchNorm statistics are buffers with num_batches_tracked restored);
// the node list runs on graft's torch ops; and the graph is cut into
// stages (stem, stage1…N, head) at points where a single value flows,
// one stage per resolution, with the classifier held as an nn.Linear so
// that nn.Model's ResetClassifier, Truncate, SetTrainable and ForwardRange
// work as for the built-in architectures. Shape arithmetic
// (Shape→Gather→Unsqueeze→Concat→Reshape) runs in Go on the actual input
// shape, so the batch size stays free; everything that does not depend
// on the input is folded when the graph is compiled.
//
// Session runs any ONNX graph as is (conformance tests, inference).
// ReadStateDict reads PyTorch checkpoints (the zip format torch.save
// writes, and the legacy one) without Python, and LoadPretrained loads
// them, or safetensors files, into built-in architectures under
// torchvision or timm names. Export writes a built-in architecture, or an
// imported graph with its current weights, as ONNX; ExportDetector writes
// a single-shot detector (detect.Model) with its raw box regression and
// class logits as the outputs, non-maximum suppression left to the
// caller. Checkpoints (a
// checkpoint.Store) keeps an imported model's graph beside its weights
// (CKPT.graph.onnx) and reads every graft checkpoint back.
//
// ONNX files are decoded and encoded through the Go types protoc
// generates from onnx.proto (package onnxpb, committed, so builds need no
// protoc; onnxpb's doc has the command), converted to and from this
// package's Model (proto.go, encode.go), which also does the checking.
// Encode writes the bytes ONNX's own serializer writes for the same model.
//
// Known limits: 1-d and 2-d convolution and pooling only; doubles keep
// full precision, other dtypes follow libtorch's; a frozen stage's
// BatchNorms run on their running statistics because their scale does
// not train (nn.Walk cannot see inside a graph segment, so nn.Model's
// train-BN option does not reach them).
package onnx
