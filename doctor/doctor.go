package doctor

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/graftml/graft/data"
	"github.com/graftml/graft/experiment"
	"github.com/graftml/graft/nn"
	"github.com/graftml/graft/strategy"
	"github.com/graftml/graft/torch"
)

// Finding is one pitfall found: what is wrong, the measurement that shows
// it, and what to do about it.
type Finding struct {
	Check    string `json:"check"`
	What     string `json:"what"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix"`
}

// Skipped is a check that did not apply to the plan, and why.
type Skipped struct {
	Check string `json:"check"`
	Why   string `json:"why"`
}

// Report is what Run found, and which checks it ran.
type Report struct {
	Findings []Finding `json:"findings"`
	Checks   []string  `json:"checks"`
	Skipped  []Skipped `json:"skipped,omitempty"`
}

// Plan describes the transfer to check. Zero fields take the defaults
// noted, which are graft transfer's.
type Plan struct {
	// Base is the source checkpoint (required).
	Base string
	// Train is the target training set (required); Test, when set, is the
	// target test set.
	Train, Test data.Dataset
	// Strategy is the planned strategy, as graft transfer takes it
	// (default finetune).
	Strategy string
	// LR is the planned base learning rate for Adam (default 1e-3).
	LR float64
	// BN is the BatchNorm mode in frozen stages: "frozen" (default) or
	// "train".
	BN string
	// Shots is the number of images per class to be sampled (0: all).
	Shots int
	// Preprocess, when set, is the preprocessing the plan would use instead
	// of the checkpoint's own.
	Preprocess *data.Preprocess
	Device     torch.Device
	Seed       uint64
	// Checks limits the run to these check names (nil: all of them).
	Checks []string
}

// BN modes.
const (
	BNFrozen = "frozen"
	BNTrain  = "train"
)

// budget is graft transfer's default, which sets how the phases of
// strategies with several (lpft, gradual) divide the epochs.
var budget = strategy.Budget{Epochs: 30, Patience: 5}

// WithDefaults fills zero fields.
func (p Plan) WithDefaults() Plan {
	if p.Strategy == "" {
		p.Strategy = strategy.Finetune.Name
	}
	if p.LR == 0 {
		p.LR = 1e-3
	}
	if p.BN == "" {
		p.BN = BNFrozen
	}
	return p
}

// Validate checks a plan (after WithDefaults).
func (p Plan) Validate() error {
	switch {
	case p.Base == "":
		return fmt.Errorf("no base checkpoint: set the plan's Base")
	case p.Train == nil:
		return fmt.Errorf("no training set: set the plan's Train")
	case !(p.LR > 0):
		return fmt.Errorf("learning rate %g: it must be positive", p.LR)
	case p.BN != BNFrozen && p.BN != BNTrain:
		return fmt.Errorf("BatchNorm mode %q: choose %s or %s", p.BN, BNFrozen, BNTrain)
	case p.Shots < 0:
		return fmt.Errorf("shots %d: give a number of images per class, or 0 for all", p.Shots)
	}
	if _, err := strategy.Parse(p.Strategy); err != nil {
		return err
	}
	if p.Preprocess != nil {
		if err := p.Preprocess.Validate(); err != nil {
			return err
		}
	}
	for _, c := range p.Checks {
		if !slices.ContainsFunc(Checks, func(k Check) bool { return k.Name == c }) {
			return fmt.Errorf("unknown check %q: choose from %s", c, strings.Join(CheckNames(), ", "))
		}
	}
	return nil
}

// Check is one pitfall doctor looks for.
type Check struct {
	Name string
	Doc  string
	// skip says why the check does not apply ("" when it does).
	skip func(s *session) string
	run  func(ctx context.Context, s *session) ([]Finding, error)
}

// Checks lists every check in the order Run runs them: the cheap ones on
// the data first, then those that run the model.
var Checks = []Check{
	{"labels", "labels outside the class list, empty classes, train and test class lists that disagree", always, checkLabels},
	{"imbalance", "a largest class many times the smallest", always, checkImbalance},
	{"duplicates", "test images identical or nearly identical to training images", needsTest, checkDuplicates},
	{"too-small", "too few images per class for the strategy", needsImages, checkTooSmall},
	{"preprocessing", "inputs unlike the base model's: normalisation, channel order, size", needsBase, checkPreprocessing},
	{"batchnorm", "frozen BatchNorm statistics far from the target's", needsFrozenBN, checkBatchNorm},
	{"learning-rate", "a learning rate past where a short range test's loss blows up", needsBatches, checkLearningRate},
}

// CheckNames lists the checks' names in order.
func CheckNames() []string {
	var out []string
	for _, c := range Checks {
		out = append(out, c.Name)
	}
	return out
}

// Run checks plan p.
func Run(ctx context.Context, p Plan) (*Report, error) {
	p = p.WithDefaults()
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s, err := newSession(p)
	if err != nil {
		return nil, err
	}
	defer s.close()
	rep := &Report{Findings: []Finding{}, Checks: []string{}}
	for _, c := range Checks {
		if p.Checks != nil && !slices.Contains(p.Checks, c.Name) {
			continue
		}
		if why := c.skip(s); why != "" {
			rep.Skipped = append(rep.Skipped, Skipped{c.Name, why})
			continue
		}
		fs, err := c.run(ctx, s)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("%s check: %w", c.Name, err)
		}
		rep.Checks = append(rep.Checks, c.Name)
		rep.Findings = append(rep.Findings, fs...)
	}
	return rep, nil
}

// Write prints a report for people: each finding with its evidence and
// fix, or, when there is none, which checks ran.
func Write(w io.Writer, r *Report) error {
	var b strings.Builder
	for _, f := range r.Findings {
		fmt.Fprintf(&b, "✗ %s\n  evidence: %s\n  fix: %s\n", f.What, f.Evidence, f.Fix)
	}
	if len(r.Findings) == 0 {
		checks := "checks"
		if len(r.Checks) == 1 {
			checks = "check"
		}
		fmt.Fprintf(&b, "✓ no problem found by %d %s: %s\n", len(r.Checks), checks, strings.Join(r.Checks, ", "))
	}
	for _, sk := range r.Skipped {
		fmt.Fprintf(&b, "  (%s not checked: %s)\n", sk.Check, sk.Why)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// session is what the checks share: the plan, resolved once.
type session struct {
	plan  Plan
	strat strategy.Strategy
	base  *experiment.Base
	splan strategy.Plan
	// pre is the planned preprocessing.
	pre data.Preprocess
	// train is the training set as the plan would use it: labels inside
	// the class list only, at most Shots per class.
	train data.Dataset
	// inputErr, when set, says why the model cannot take the planned
	// inputs; the checks that run it are skipped.
	inputErr string
	// plain and planned are built on first use: the base's weights with
	// a new head, and the planned strategy's starting model.
	plain, planned *nn.Model
	models         []*nn.Model
}

func newSession(p Plan) (*session, error) {
	s := &session{plan: p}
	var err error
	if s.strat, err = strategy.Parse(p.Strategy); err != nil {
		return nil, err
	}
	if s.base, err = experiment.LoadBase(p.Base); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	shape := s.base.Shape()
	if _, err := strategy.Expand(s.strat.Name, shape); err != nil {
		return nil, err
	}
	if s.splan, err = s.strat.Plan(shape, budget); err != nil {
		return nil, err
	}
	s.pre = s.base.Meta.Preprocess
	if p.Preprocess != nil {
		s.pre = *p.Preprocess
	}
	var valid []int
	nc := len(p.Train.Classes())
	for i := range p.Train.Len() {
		if l := p.Train.Label(i); l >= 0 && l < nc {
			valid = append(valid, i)
		}
	}
	s.train = &data.Subset{Base: p.Train, Indices: valid}
	if p.Shots > 0 && len(valid) > 0 {
		if s.train, err = data.KShot(s.train, p.Shots, p.Seed, data.AllowFewer()); err != nil {
			return nil, err
		}
	}
	if s.train.Len() > 0 {
		im, err := s.train.Image(0)
		if err != nil {
			return nil, err
		}
		if c, _, _ := s.pre.OutputShape(im.C, im.H, im.W); c != s.base.Meta.InChannels {
			s.inputErr = fmt.Sprintf("the base takes %d-channel input, the planned preprocessing gives %d", s.base.Meta.InChannels, c)
		}
	}
	return s, nil
}

func (s *session) close() {
	for _, m := range s.models {
		m.Free()
	}
}

// model builds the base for the strategy st (the planned one, or plain
// weights with a new head for measuring), on the plan's device.
func (s *session) model(st strategy.Strategy, sp strategy.Plan) (*nn.Model, error) {
	m, err := s.base.Model(st, sp, len(s.plan.Train.Classes()), s.plan.Seed, nil)
	if err != nil {
		return nil, err
	}
	s.models = append(s.models, m)
	if s.plan.Device != torch.CPU {
		if err := m.To(s.plan.Device, false); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// measured is the base with its pretrained weights, for measuring.
func (s *session) measured() (*nn.Model, error) {
	if s.plain == nil {
		m, err := s.model(strategy.Probe.Strategy(), strategy.Plan{})
		if err != nil {
			return nil, err
		}
		s.plain = m
	}
	return s.plain, nil
}

// frozen lists the body stages the plan never trains.
func (s *session) frozen() []int {
	if s.splan.Scratch {
		return nil
	}
	body := len(s.base.Meta.Stages) - 1
	if s.splan.CutAfter > 0 {
		body = s.splan.CutAfter
	}
	var out []int
	for i := range body {
		if !trains(s.splan, i) {
			out = append(out, i)
		}
	}
	return out
}

// trains says whether stage i trains in some phase of plan p.
func trains(p strategy.Plan, i int) bool {
	for _, ph := range p.Phases {
		if ph.StageLR == nil || (i < len(ph.StageLR) && ph.StageLR[i] > 0) {
			return true
		}
	}
	return false
}

func always(*session) string { return "" }

func needsTest(s *session) string {
	if s.plan.Test == nil {
		return "no test set"
	}
	return ""
}

func needsImages(s *session) string {
	if s.train.Len() == 0 {
		return "no training image with a valid label"
	}
	return ""
}

func needsBase(s *session) string {
	if why := needsImages(s); why != "" {
		return why
	}
	if s.splan.Scratch {
		return s.strat.Name + " uses none of the base's weights"
	}
	return ""
}

func needsModel(s *session) string {
	if why := needsBase(s); why != "" {
		return why
	}
	return s.inputErr
}

func needsFrozenBN(s *session) string {
	if why := needsModel(s); why != "" {
		return why
	}
	if s.plan.BN == BNTrain {
		return "BatchNorm re-estimates its statistics (--bn train)"
	}
	if len(s.frozen()) == 0 {
		return s.strat.Name + " freezes no stage"
	}
	return ""
}

// minRangeTest is the fewest images a range test is run on: four
// mini-batches of two.
const minRangeTest = 8

func needsBatches(s *session) string {
	if why := needsImages(s); why != "" {
		return why
	}
	if s.inputErr != "" {
		return s.inputErr
	}
	if s.train.Len() < minRangeTest {
		return fmt.Sprintf("%d training images are too few for a range test", s.train.Len())
	}
	return ""
}
