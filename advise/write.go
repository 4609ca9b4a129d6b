package advise

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/graftml/graft/strategy"
)

// BaseScore is one candidate base, scored at its head.
type BaseScore struct {
	Base      string   `json:"base"`
	Arch      string   `json:"arch"`
	Probe     float64  `json:"linear_probe_cv"`
	KNN       float64  `json:"knn_loo"`
	LogME     *float64 `json:"logme"`
	HScore    *float64 `json:"hscore"`
	TransRate *float64 `json:"transrate"`
	LEEP      float64  `json:"leep"`
	NCE       float64  `json:"nce"`
}

// ScoreBase is a base's measurements at its head, to compare bases by.
func ScoreBase(path, arch string, m *Measurements) BaseScore {
	h := m.Stages[len(m.Stages)-1]
	return BaseScore{Base: path, Arch: arch, Probe: h.Probe, KNN: h.KNN,
		LogME: h.LogME, HScore: h.HScore, TransRate: h.TransRate, LEEP: m.LEEP, NCE: m.NCE}
}

// AgreeBases is each score's Kendall tau with the probe over the bases.
func AgreeBases(bases []BaseScore) []Agreement {
	return Agree(bases, func(b BaseScore) string { return b.Base }, func(b BaseScore) float64 { return b.Probe }, []Scorer[BaseScore]{
		{Name: "knn", Get: func(b BaseScore) float64 { return b.KNN }},
		{Name: "logme", Get: func(b BaseScore) float64 { return Value(b.LogME) }},
		{Name: "hscore", Get: func(b BaseScore) float64 { return Value(b.HScore) }},
		{Name: "transrate", Get: func(b BaseScore) float64 { return Value(b.TransRate) }},
		{Name: "leep", Get: func(b BaseScore) float64 { return b.LEEP }},
		{Name: "nce", Get: func(b BaseScore) float64 { return b.NCE }},
	})
}

// WriteBases prints the candidate bases' scores and which one is raced.
func WriteBases(w io.Writer, bases []BaseScore, agreement []Agreement, raced string) {
	fmt.Fprintf(w, "candidate bases, scored on their head features:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  base\tarch\tprobe\tk-NN\tLogME\tLEEP\tNCE")
	for _, b := range bases {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\n", b.Base, b.Arch, Pct(b.Probe), Pct(b.KNN), opt(b.LogME, "%.3f"), b.LEEP, b.NCE)
	}
	tw.Flush()
	var agree []string
	for _, a := range agreement {
		agree = append(agree, fmt.Sprintf("%s τ %+.2f", a.Score, a.Tau))
	}
	fmt.Fprintf(w, "scores against the probe over bases: %s\nracing strategies on %s, the base whose frozen head probes best\n\n", strings.Join(agree, ", "), raced)
}

// Pct writes a fraction as a percentage with one decimal.
func Pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// opt formats a measurement that may be missing.
func opt(v *float64, format string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf(format, *v)
}

// Write prints advice for people: the measurements, the four-case chart,
// the recommendation with its reasons, the ranking and the compute spent.
// target names the data advised on.
func Write(w io.Writer, target string, a *Advice) {
	m := a.Measurements
	t := m.Target
	fmt.Fprintf(w, "target %s: %d images, %d classes, %d–%d per class (median %d, imbalance %.1f×); measured on %d, in %.1f s\n\n",
		target, t.Images, t.Classes, t.Min, t.Max, t.Median, t.Imbalance, m.Sampled, m.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "stage\tcut\tdim\tprobe\tk-NN\tLogME\tH-score\tTransRate\tBN shift\tFréchet\tMMD²\t")
	for _, s := range m.Stages {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", s.Name, s.Cut, s.Dim, Pct(s.Probe), Pct(s.KNN),
			opt(s.LogME, "%.3f"), opt(s.HScore, "%.2f"), opt(s.TransRate, "%.2f"), opt(s.BNShift, "%.2f"), opt(s.FD, "%.2f"), opt(s.MMD, "%.3f"))
	}
	fmt.Fprintf(tw, "pixels\t\t\t%s\t%s\t\t\t\t\t\t\t\n", Pct(m.PixelProbe), Pct(m.PixelKNN))
	tw.Flush()
	for _, s := range m.Stages {
		for _, n := range s.Notes {
			fmt.Fprintf(w, "%s: %s\n", s.Name, n)
		}
	}
	fmt.Fprintf(w, "columns — probe: a 5-fold cross-validated linear probe; k-NN: leave-one-out, k=5; BN shift: KL of BatchNorm inputs from the base's running statistics\n")
	if m.SourceClasses > 0 {
		fmt.Fprintf(w, "source classifier (%d classes) on target images: confidence %s, normalised entropy %.2f, LEEP %.3f, NCE %.3f\n",
			m.SourceClasses, Pct(m.SourceConfidence), m.SourceEntropy, m.LEEP, m.NCE)
	}
	var agree []string
	for _, ag := range m.Agreement {
		if ag.Score != "linear_probe" {
			agree = append(agree, fmt.Sprintf("%s τ %+.2f (best %s)", ag.Score, ag.Tau, ag.Best))
		}
	}
	fmt.Fprintf(w, "scores against the probe over stages: %s\n", strings.Join(agree, ", "))
	fmt.Fprintln(w)

	fmt.Fprintf(w, "four-case chart: %s — %s\n", a.Quadrant, a.Chart)
	for _, why := range a.Why {
		fmt.Fprintf(w, "  %s\n", why)
	}
	r := a.Recommended
	fmt.Fprintf(w, "\nrecommended: %s", r.Strategy)
	if r.Stage != "" {
		fmt.Fprintf(w, " (cut at %s)", r.Stage)
	}
	fmt.Fprintf(w, ", Adam lr %g, %d epochs", r.LR, r.Epochs)
	if r.Head == "raw" {
		fmt.Fprintf(w, ", head on raw features")
	}
	fmt.Fprintf(w, " — %s\n", r.Why)
	fmt.Fprintf(w, "%s\n", a.Story)
	for _, c := range a.Cautions {
		fmt.Fprintf(w, "caution: %s\n", c)
	}
	fmt.Fprintf(w, "\nranking by measurement (validation accuracy, 95%% interval):\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for i, rk := range a.Ranking {
		tie := ""
		if rk.Tied {
			tie = "tie"
		}
		fmt.Fprintf(tw, "  %d.\t%s\t%s\t%s\t%s\t%s\n", i+1, rk.Strategy, Pct(rk.Score), rk.Stage, tie, rk.Why)
	}
	tw.Flush()
	if len(a.Tie) > 1 {
		// What would separate them, since a tie is where advice stops.
		fmt.Fprintf(w, "the %d tied cannot be told apart by these validation images: a larger --budget runs more of them on more seeds; graft compare runs them all and tests them\n", len(a.Tie))
	}
	cm := a.Compute
	if cm.Unit == "gflop" {
		fmt.Fprintf(w, "compute: measurements %.1f + race %.1f GFLOP = %.0f%% of the full comparison (estimated %.0f GFLOP); in seconds %.1f + %.1f = %.0f%% of %.0f; budget %.0f%% of the GFLOP",
			cm.MeasureGFLOP, cm.RaceGFLOP, 100*cm.Share, cm.FullGFLOP, cm.MeasureSeconds, cm.RaceSeconds, 100*cm.SecondsShare, cm.FullSeconds, 100*cm.Budget)
	} else {
		fmt.Fprintf(w, "compute: measurements %.1f s + race %.1f s = %.0f%% of the full comparison (estimated %.0f s); budget %.0f%%",
			cm.MeasureSeconds, cm.RaceSeconds, 100*cm.Share, cm.FullSeconds, 100*cm.Budget)
	}
	if cm.BudgetCut {
		fmt.Fprintf(w, ", which stopped the race short")
	}
	fmt.Fprintln(w)
}

// WriteValidation writes how advice held against a full comparison: each
// strategy's predicted and measured accuracy and rank, the regret of the
// advice and of always choosing the usual strategies, the ties, and the
// compute advise spent.
func WriteValidation(w io.Writer, v *Validation) {
	fmt.Fprintf(w, "\nvalidation against graft compare (%s):\n", shotsWords(v.Shots))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  strategy\tpredicted\trank\tmeasured\trank\ttrain s")
	for _, r := range v.Rows {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%d\t%.1f\n", r.Strategy, Pct(r.Predicted), r.PredictedRank, Pct(r.Measured), r.MeasuredRank, r.TrainSeconds)
	}
	tw.Flush()
	fmt.Fprintf(w, "Kendall τ %.2f; advised %s at %s, best %s at %s: regret %.1f points (always %s %.1f, always %s %.1f)\n",
		v.Tau, v.Advised, Pct(v.AdvisedAccuracy), v.Best, Pct(v.BestAccuracy), v.Regret, strategy.Finetune.Name, v.BaselineRegret[strategy.Finetune.Name], strategy.Discriminative.Name, v.BaselineRegret[strategy.Discriminative.Name])
	fmt.Fprintf(w, "ties: the comparison's %v, advise's %v (agree: %v)\n", v.CompareTie, v.AdviseTie, v.TieAgrees)
	if v.ValidationChoice != "" {
		fmt.Fprintf(w, "floor: the comparison's own validation (all of its compute, no test) picks %s: regret %.1f points, τ %.2f\n",
			v.ValidationChoice, v.ValidationChoiceRegret, v.ValidationTau)
	}
	fmt.Fprintf(w, "compute: advise %.1f s = %.1f%% of the comparison's training (%.1f s)", v.AdviseSeconds, 100*v.ComputeFraction, v.AllSeconds)
	if v.AllGFLOP > 0 {
		fmt.Fprintf(w, "; %.0f GFLOP = %.1f%% of its %.0f GFLOP", v.AdviseGFLOP, 100*v.GFLOPComputeFraction, v.AllGFLOP)
	}
	fmt.Fprintln(w)
}

func shotsWords(k int) string {
	if k == 0 {
		return "all images"
	}
	return fmt.Sprintf("%d images per class", k)
}
