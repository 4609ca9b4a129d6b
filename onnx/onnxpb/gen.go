// Package onnxpb holds the Go types protoc generates from onnx.proto: the
// wire format package onnx decodes and encodes through (proto.Unmarshal,
// proto.Marshal). Package onnx converts them to and from its own Model,
// Graph, Node and TensorProto and does the checking; nothing else should
// import this package.
//
// onnx.pb.go was generated from the onnx.proto that Debian's python3-onnx
// 1.12.0-2+b4 ships (/usr/lib/python3/dist-packages/onnx/onnx.proto, ONNX
// IR version 8, proto2), unedited: the Go import path is set with
// --go_opt=M. The generated file is committed, so building graft needs
// neither protoc nor protoc-gen-go; only regenerating does:
//
//	apt-get install -y protobuf-compiler python3-onnx   # protoc 3.21.12
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go generate ./onnx/onnxpb
//
// protoc-gen-go's version is the google.golang.org/protobuf version in
// go.mod; keep the two equal when either changes.
package onnxpb

//go:generate protoc --proto_path=/usr/lib/python3/dist-packages/onnx --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/graftml/graft/onnx/onnxpb onnx.proto
