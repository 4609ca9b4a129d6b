package torch

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// TestExecWithMallocEnv runs this test binary as a child that calls
// ExecWithMallocEnv and prints the MALLOC_ARENA_MAX it ends up with: the
// restarted process has MallocEnv, and a value the user set stands (and
// is not restarted over and over).
func TestExecWithMallocEnv(t *testing.T) {
	if os.Getenv("GRAFT_EXEC_HELPER") == "1" {
		if err := ExecWithMallocEnv(); err != nil {
			fmt.Print("error: ", err)
			os.Exit(1)
		}
		fmt.Printf("arena=%s trim=%s", os.Getenv("MALLOC_ARENA_MAX"), os.Getenv("MALLOC_TRIM_THRESHOLD_"))
		os.Exit(0)
	}
	if runtime.GOOS != "linux" {
		t.Skip("glibc's malloc: Linux only")
	}
	var base []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MALLOC_") {
			base = append(base, kv)
		}
	}
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"restarted with the settings", nil, "arena=1 trim=1073741824"},
		{"the user's setting stands", []string{"MALLOC_ARENA_MAX=4"}, "arena=4 trim="},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestExecWithMallocEnv$")
			cmd.Env = append(append(append([]string{}, base...), c.env...), "GRAFT_EXEC_HELPER=1")
			out, err := cmd.Output()
			if err != nil || string(out) != c.want {
				t.Errorf("child printed %q (%v), want %q", out, err, c.want)
			}
		})
	}
}
