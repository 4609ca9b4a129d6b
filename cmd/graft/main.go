// Command graft adapts pretrained image models to new data and measures which
// way of adapting them works best.
package main

import (
	"os"

	"github.com/graftml/graft/internal/cli"
	"github.com/graftml/graft/torch"
)

func main() {
	// glibc's malloc must be configured before any thread starts
	// (torch.ExecWithMallocEnv says why); if restarting fails, graft runs
	// on TuneAllocator's settings alone, slower but the same.
	_ = torch.ExecWithMallocEnv()
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
