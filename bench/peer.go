package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/graftml/graft/torch"
)

// peerScript is bench/peer.py, carried in the binary so graft bench needs
// no source tree.
//
//go:embed peer.py
var peerScript []byte

// PeerScript is the embedded peer.py, for those who want to run it by hand.
func PeerScript() []byte { return append([]byte(nil), peerScript...) }

// ErrPeerUnavailable marks a Python without a usable torch: the comparison
// cannot run, but graft's own numbers still can.
var ErrPeerUnavailable = errors.New("PyTorch peer unavailable")

// PeerVersion checks that python can import torch and returns its version.
func PeerVersion(ctx context.Context, python string) (string, error) {
	if python == "" {
		python = DefaultPython
	}
	if _, err := exec.LookPath(python); err != nil {
		return "", fmt.Errorf("%w: no Python at %s (install python3-torch and python3-torchvision, or pass --python): %v", ErrPeerUnavailable, python, err)
	}
	out, err := exec.CommandContext(ctx, python, "-c", "import torch; print(torch.__version__)").CombinedOutput()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if err != nil {
		return "", fmt.Errorf("%w: %s cannot import torch (install python3-torch and python3-torchvision, or pass --python): %v%s",
			ErrPeerUnavailable, python, err, tail(string(out)))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// RunPeer runs c in PyTorch with the same settings, one process per mode
// (like MeasureIsolated), and returns its samples. o.Precision is the
// peer's here: fp32, or torch.autocast at that type.
func RunPeer(ctx context.Context, c Case, o Options) (Result, error) {
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	if _, err := exec.LookPath(o.Python); err != nil {
		return Result{}, fmt.Errorf("%w: no Python at %s: %v", ErrPeerUnavailable, o.Python, err)
	}
	script, err := writePeer()
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(filepath.Dir(script))
	res := Result{Case: c, Isolated: true}
	for _, mode := range Modes {
		args := []string{script,
			"--model", c.Model, "--batch", strconv.Itoa(c.Batch), "--size", strconv.Itoa(c.Size),
			"--classes", strconv.Itoa(c.Classes), "--threads", strconv.Itoa(o.Threads),
			"--warmup", strconv.Itoa(max(o.Warmup, 0)), "--steps", strconv.Itoa(o.Steps), "--mode", mode}
		if o.PeerChannelsLast {
			args = append(args, "--channels-last")
		}
		if o.Device != "cpu" {
			args = append(args, "--device", o.Device)
		}
		if o.Precision.Mixed() {
			args = append(args, "--precision", string(o.Precision))
		}
		if c.IsDetector() {
			boxes, err := peerBoxes(BenchBoxes(c))
			if err != nil {
				return res, err
			}
			args = append(args, "--boxes", boxes)
		}
		cmd := exec.CommandContext(ctx, o.Python, args...)
		if o.PeerMalloc {
			cmd.Env = append(os.Environ(), torch.MallocEnv...)
		}
		ss, err := runJSONLines(ctx, "PyTorch "+c.Model+" "+mode, cmd)
		if err != nil {
			return res, err
		}
		if err := collect(&res, ss, c, mode); err != nil {
			return res, fmt.Errorf("PyTorch %s %s: %w", c.Model, mode, err)
		}
	}
	return res, nil
}

// writePeer puts the embedded script in a temporary file for Python to run.
// It is scratch, not an output, so it bypasses safefile.
func writePeer() (string, error) {
	// A folder of its own: Python puts the script's folder first on
	// sys.path, so in the shared temporary folder any subfolder named like
	// a module torchvision imports (a folder called "av", say) would
	// shadow that module and break the peer.
	dir, err := os.MkdirTemp("", "graft-peer-")
	if err != nil {
		return "", fmt.Errorf("write peer script: %w", err)
	}
	path := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(path, peerScript, 0o600); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("write peer script: %w", err)
	}
	return path, nil
}
