package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"strconv"
	"strings"

	"github.com/graftml/graft/torch"
)

// InternalCaseFlag is the flag by which graft bench re-executes itself to
// measure one case and mode in a fresh process.
const InternalCaseFlag = "--internal-case"

// Spec is everything a child process needs to measure one case in one
// mode; it travels as a single argument so the child does not depend on
// how the parent's own flags were spelled.
type Spec struct {
	Case    Case
	Mode    string
	Options Options
}

// Encode renders the spec as a query string:
// batch=64&channels_last=0&classes=10&mode=train&model=smallcnn&…
func (s Spec) Encode() string {
	v := url.Values{}
	v.Set("model", s.Case.Model)
	v.Set("batch", strconv.Itoa(s.Case.Batch))
	v.Set("size", strconv.Itoa(s.Case.Size))
	v.Set("classes", strconv.Itoa(s.Case.Classes))
	v.Set("mode", s.Mode)
	v.Set("threads", strconv.Itoa(s.Options.Threads))
	v.Set("warmup", strconv.Itoa(s.Options.Warmup))
	v.Set("steps", strconv.Itoa(s.Options.Steps))
	v.Set("layout", string(s.Options.Layout))
	v.Set("device", s.Options.Device)
	v.Set("precision", string(s.Options.Precision.Name()))
	if s.Options.UnfusedAdam {
		v.Set("unfused_adam", "1")
	}
	if s.Options.FoldBN {
		v.Set("fold_bn", "1")
	}
	if s.Options.Pack {
		v.Set("pack", "1")
	}
	if s.Options.CastWeights {
		v.Set("cast_weights", "1")
	}
	if s.Options.OneDNNWeightGrad {
		v.Set("onednn_wgrad", "1")
	}
	return v.Encode()
}

// ParseSpec reads what Encode wrote.
func ParseSpec(text string) (Spec, error) {
	v, err := url.ParseQuery(text)
	if err != nil {
		return Spec{}, fmt.Errorf("bad internal case %q: %w", text, err)
	}
	var s Spec
	ints := []struct {
		key string
		dst *int
	}{
		{"batch", &s.Case.Batch}, {"size", &s.Case.Size}, {"classes", &s.Case.Classes},
		{"threads", &s.Options.Threads}, {"warmup", &s.Options.Warmup}, {"steps", &s.Options.Steps},
	}
	for _, f := range ints {
		if *f.dst, err = strconv.Atoi(v.Get(f.key)); err != nil {
			return Spec{}, fmt.Errorf("bad internal case %q: %s: %w", text, f.key, err)
		}
	}
	s.Case.Model, s.Mode = v.Get("model"), v.Get("mode")
	if s.Options.Layout, err = ParseLayout(v.Get("layout")); err != nil {
		return Spec{}, fmt.Errorf("bad internal case %q: %w", text, err)
	}
	s.Options.Device = v.Get("device")
	s.Options.UnfusedAdam = v.Get("unfused_adam") == "1"
	s.Options.FoldBN = v.Get("fold_bn") == "1"
	s.Options.Pack = v.Get("pack") == "1"
	s.Options.CastWeights = v.Get("cast_weights") == "1"
	s.Options.OneDNNWeightGrad = v.Get("onednn_wgrad") == "1"
	if s.Options.Precision, err = torch.ParsePrecision(v.Get("precision")); err != nil {
		return Spec{}, fmt.Errorf("bad internal case %q: %w", text, err)
	}
	if err := s.Case.Validate(); err != nil {
		return Spec{}, fmt.Errorf("bad internal case: %w", err)
	}
	return s, nil
}

// RunInternalCase is the child side of MeasureIsolated: it measures the
// spec's case and mode in this process and prints one JSON Sample line.
func RunInternalCase(ctx context.Context, spec string, stdout io.Writer) error {
	s, err := ParseSpec(spec)
	if err != nil {
		return err
	}
	sample, err := MeasureMode(ctx, s.Case, s.Mode, s.Options)
	if err != nil {
		return err
	}
	b, err := json.Marshal(sample)
	if err != nil {
		return fmt.Errorf("encode sample: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}

// MeasureIsolated measures c with one child process per mode, so that each
// sample's peak RSS is its own. argv starts the child: graft's executable
// and "bench" (InternalCaseFlag and the spec are appended).
func MeasureIsolated(ctx context.Context, argv []string, c Case, o Options) (Result, error) {
	if len(argv) == 0 {
		return Result{}, errors.New("no command to start the measuring process with")
	}
	o = o.WithDefaults()
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	res := Result{Case: c, Isolated: true}
	for _, mode := range Modes {
		args := append(append([]string{}, argv[1:]...), InternalCaseFlag, Spec{Case: c, Mode: mode, Options: o}.Encode())
		ss, err := runJSONLines(ctx, "graft "+c.Model+" "+mode, exec.CommandContext(ctx, argv[0], args...))
		if err != nil {
			return res, err
		}
		if err := collect(&res, ss, c, mode); err != nil {
			return res, fmt.Errorf("graft %s %s: %w", c.Model, mode, err)
		}
	}
	return res, nil
}

// collect files the samples of one process run, which must include mode.
func collect(res *Result, ss []Sample, c Case, mode string) error {
	found := false
	for _, s := range ss {
		if s.Model != c.Model {
			return fmt.Errorf("measured model %q, expected %q", s.Model, c.Model)
		}
		if err := res.set(s); err != nil {
			return err
		}
		found = found || s.Mode == mode
	}
	if !found {
		return fmt.Errorf("printed no %s measurement", mode)
	}
	return nil
}

// runJSONLines runs cmd and parses the JSON Sample lines of its stdout.
// Other lines are skipped (libraries may print warnings); stderr is kept
// to explain a failure.
func runJSONLines(ctx context.Context, what string, cmd *exec.Cmd) ([]Sample, error) {
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w%s", what, err, tail(stderr.String()))
	}
	var out []Sample
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var s Sample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return nil, fmt.Errorf("%s: bad output line %q: %w", what, line, err)
		}
		if !(s.ImgPerSec > 0) {
			return nil, fmt.Errorf("%s: reported %v img/s", what, s.ImgPerSec)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s printed no measurement%s", what, tail(stderr.String()))
	}
	return out, nil
}

// tail is the last few lines of a child's stderr, for an error message:
// a Python traceback ends with the line that matters.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return ""
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return ":\n  " + strings.Join(lines, "\n  ")
}
