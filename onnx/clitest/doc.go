// Package clitest tests graft import and graft export through the command
// line. It is a package of its own so that package onnx's tests do not
// depend on the CLI building.
package clitest
