package safefile

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// crashChild, when set, makes the test binary a writer that replaces the
// file it names forever, until it is killed.
const crashChild = "SAFEFILE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(crashChild); path != "" {
		for i := 0; ; i++ {
			if err := WriteBytes(path, content(i)); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			if i == 0 {
				fmt.Println("writing") // the parent's cue to aim its kill
			}
		}
	}
	os.Exit(m.Run())
}

// content is version i of the file: 2 MiB of one letter and then its
// length, so a reader can tell a whole version from part of one.
func content(i int) []byte {
	b := bytes.Repeat([]byte{byte('a' + i%26)}, 2<<20)
	return append(b, strconv.Itoa(len(b))...)
}

func whole(b []byte) bool {
	n := 2 << 20
	return len(b) == n+len(strconv.Itoa(n)) && bytes.Count(b[:n], b[:1]) == n && string(b[n:]) == strconv.Itoa(n)
}

// A writer killed with SIGKILL at random moments never leaves the file
// short: a reader finds the previous version or the next, whole.
func TestKilledWriterLeavesWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := WriteBytes(path, content(0)); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChild+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatalf("the writer did not start: %v", err)
		}
		time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
		cmd.Process.Kill()
		cmd.Wait()
		b, err := os.ReadFile(path)
		if err != nil || !whole(b) {
			t.Fatalf("trial %d: after the kill the file has %d bytes (%v), not a whole version", trial, len(b), err)
		}
	}
}
