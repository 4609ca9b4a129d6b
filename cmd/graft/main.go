// Command graft adapts pretrained image models to new data and measures which
// way of adapting them works best.
package main

import (
	"os"

	"github.com/graftml/graft/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
