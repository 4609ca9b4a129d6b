package bench

import (
	"fmt"
	"strings"

	"github.com/graftml/graft/arch"
	"github.com/graftml/graft/detect"
)

// Layout is graft's memory layout in a bench run: each architecture's
// own (LayoutAuto, what graft train uses), or one forced on every model so
// that the two can be compared.
type Layout string

const (
	LayoutAuto Layout = "auto" // each architecture's faster layout (arch.PrefersChannelsLast)
	LayoutNCHW Layout = "nchw" // contiguous, PyTorch's default
	LayoutNHWC Layout = "nhwc" // channels-last
)

// ParseLayout reads the --layout flag; empty is LayoutAuto.
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(strings.TrimSpace(s))); l {
	case "", LayoutAuto:
		return LayoutAuto, nil
	case LayoutNCHW, LayoutNHWC:
		return l, nil
	}
	return "", fmt.Errorf("unknown layout %q: use auto, nchw or nhwc", s)
}

// ChannelsLast says whether graft runs model NHWC under l.
func (l Layout) ChannelsLast(model string) bool {
	switch l {
	case LayoutNHWC:
		return true
	case LayoutNCHW:
		return false
	}
	if (Case{Model: model}).IsDetector() {
		// As graft trains and evaluates it: its body's layout.
		return detect.ChannelsLast(model)
	}
	return arch.PrefersChannelsLast(model)
}

// describe names the layout each of models runs in under l, for the
// report's header: "NHWC", or "each architecture's layout (smallcnn
// NHWC, …)".
func (l Layout) describe(models []string) string {
	switch l {
	case LayoutNHWC:
		return "NHWC"
	case LayoutNCHW:
		return "NCHW"
	}
	parts := make([]string, 0, len(models))
	for _, m := range models {
		parts = append(parts, m+" "+layoutName(l.ChannelsLast(m)))
	}
	return "each architecture's layout (" + strings.Join(parts, ", ") + ")"
}

// orAuto is l with the empty Layout spelled out.
func (l Layout) orAuto() Layout {
	if l == "" {
		return LayoutAuto
	}
	return l
}

func layoutName(channelsLast bool) string {
	if channelsLast {
		return "NHWC"
	}
	return "NCHW"
}
