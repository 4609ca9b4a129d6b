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
// imported graph with its current weights, as ONNX. Checkpoints (a
// checkpoint.Store) keeps an imported model's graph beside its weights
// (CKPT.graph.onnx) and reads every graft checkpoint back.
//
// The ONNX protobuf messages are decoded and encoded by hand with
// google.golang.org/protobuf/encoding/protowire (proto.go, encode.go):
// there is no protoc on graft's build machines, no maintained Go module
// ships generated ONNX protos (onnx-go's are internal to it and built on
// the retired gogo runtime), graft needs a dozen messages, and a hand
// decoder lets a malformed file fail with an error that names the
// message and field.
//
// Known limits: 1-d and 2-d convolution and pooling only; doubles keep
// full precision, other dtypes follow libtorch's; a frozen stage's
// BatchNorms run on their running statistics because their scale does
// not train (nn.Walk cannot see inside a graph segment, so nn.Model's
// train-BN option does not reach them).
package onnx
