package fit

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/graftml/graft/checkpoint"
	"github.com/graftml/graft/optim"
	"github.com/graftml/graft/torch"
)

// Resumer makes a run interruptible: after every epoch it saves the model,
// the optimizer state, the best weights so far and the run's counters to
// Path; a later run with the same Fingerprint continues from there and
// ends exactly where the uninterrupted run would have (on the CPU).
type Resumer struct {
	Path string
	// Meta is stored in the checkpoint (classes, preprocessing).
	Meta checkpoint.Meta
	// Store saves the state: the zero Store saves built-in architectures
	// and refuses an imported graph; onnx.Checkpoints saves both.
	Store checkpoint.Store
	// Fingerprint identifies the run's settings and data; a saved state
	// with another fingerprint is refused rather than silently mixed in.
	Fingerprint string
	// Continue resumes from an existing state; otherwise one is overwritten.
	Continue bool
	// Resumed is set by Train when it continued a saved state.
	Resumed bool
}

type record struct {
	Fingerprint string           `json:"fingerprint"`
	State       state            `json:"state"`
	OptStep     int64            `json:"optimizer_step"`
	OptSteps    map[string]int64 `json:"optimizer_param_steps"`
	HasBest     bool             `json:"has_best"`
}

func (r *Resumer) save(t *trainer) error {
	rec := record{Fingerprint: r.Fingerprint, State: t.st, HasBest: t.best != nil}
	var extra []checkpoint.Tensor
	// The optimizer of a finished phase is not carried over: the next
	// phase builds a fresh one.
	if t.opt != nil && t.st.PhaseEpoch > 0 {
		os := t.opt.State()
		rec.OptStep, rec.OptSteps = os.Step, os.Steps
		for k, v := range os.Buffers {
			extra = append(extra, checkpoint.Tensor{Name: "optim/" + k, T: v})
		}
	}
	for i, b := range t.best {
		extra = append(extra, checkpoint.Tensor{Name: fmt.Sprintf("best/%d", i), T: b})
	}
	if extra == nil {
		extra = []checkpoint.Tensor{}
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	meta := r.Meta
	meta.Training = b
	if err := r.Store.Save(r.Path, t.r.Model, meta, extra); err != nil {
		return fmt.Errorf("save resumable state: %w", err)
	}
	return nil
}

func (r *Resumer) restore(t *trainer) error {
	if !r.Continue {
		return nil
	}
	_, side := checkpoint.Paths(r.Path)
	if _, err := os.Stat(side); err != nil {
		return nil // nothing saved yet: start from the beginning
	}
	meta, err := checkpoint.ReadMeta(r.Path)
	if err != nil {
		return err
	}
	var rec record
	if err := json.Unmarshal(meta.Training, &rec); err != nil {
		return fmt.Errorf("%s: no training record to resume from: %v", side, err)
	}
	if rec.Fingerprint != r.Fingerprint {
		return fmt.Errorf("%s was saved by a run with other settings or data; rerun without --resume to start over, or repeat the original command", side)
	}
	wPath, _ := checkpoint.Paths(r.Path)
	st, err := checkpoint.ReadSafetensors(wPath)
	if err != nil {
		return err
	}
	if _, err := checkpoint.LoadWeights(t.r.Model, st, checkpoint.Strict); err != nil {
		return err
	}
	extra, err := checkpoint.LoadState(r.Path, meta)
	if err != nil {
		return err
	}
	t.st = rec.State
	if extra != nil {
		bufs := map[string]*torch.Tensor{}
		var best []*torch.Tensor
		defer func() {
			// The optimizer takes bufs over only when the run is mid-phase.
			freeAll(bufs)
			for _, b := range best {
				b.Free()
			}
		}()
		for _, n := range extra.Names() {
			tt, err := extra.Tensor(n)
			if err != nil {
				return err
			}
			switch {
			case strings.HasPrefix(n, "optim/"):
				bufs[strings.TrimPrefix(n, "optim/")] = tt
			case strings.HasPrefix(n, "best/"):
				best = append(best, tt)
			default:
				tt.Free()
			}
		}
		if rec.HasBest {
			// Names sort lexically (best/10 before best/2): reorder by index.
			t.best = make([]*torch.Tensor, len(best))
			for _, n := range extra.Names() {
				var i int
				if _, err := fmt.Sscanf(n, "best/%d", &i); err == nil && i < len(best) {
					t.best[i], _ = extra.Tensor(n)
				}
			}
		}
		if t.st.Phase < len(t.cfg.Phases) && t.st.PhaseEpoch > 0 {
			if err := t.setupPhase(t.cfg.Phases[t.st.Phase]); err != nil {
				return err
			}
			st := optim.State{Buffers: bufs, Step: rec.OptStep, Steps: rec.OptSteps}
			bufs = nil // LoadState owns them now, on success or failure
			if err := t.opt.LoadState(st); err != nil {
				return err
			}
		}
	}
	r.Resumed = true
	return nil
}

// finish removes the resumable state of a completed run.
func (r *Resumer) finish() {
	w, s := checkpoint.Paths(r.Path)
	os.Remove(s)
	os.Remove(w)
	os.Remove(strings.TrimSuffix(w, ".safetensors") + ".state.safetensors")
}
