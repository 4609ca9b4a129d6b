package fit

// A run counts its arithmetic as it goes (Result.FLOPs), in the
// convention of nn.Model.FLOPs: a deterministic measure of the compute it
// spent, which a budget can be kept in where seconds vary from run to run
// with the machine's load (experiment.Race keeps its budget in it).
//
// Per image: a training step is the forward pass of the stages the run
// computes, plus a backward pass that computes every trainable stage's
// weight gradient and, above the lowest trainable stage, the gradient of
// its input (each about one forward pass of the stage); frozen stages
// above the lowest trainable one pass gradients through (one forward pass
// each). An evaluation, and a precise-BN pass, is a forward pass. A
// phase that serves a frozen prefix from the cache is charged one forward
// pass of the prefix over its images, whether it computed them or found
// them cached: the count is then the run's own, the same whatever ran
// before it on the shared cache (in a race, in a comparison's parallel
// runs, after a resume), at the price of counting a shared pass once per
// run that uses it. The batches of a diverging epoch count, the diverging
// one too. BatchNorm, activations, the loss and the optimizer step are
// left out, as nn.Model.FLOPs leaves them out.

// countWork readies the per-stage counts for the run's images: nil (and
// Result.FLOPs 0) where they cannot be counted — a task's batches, or a
// module nn.Model.FLOPs does not know.
func (t *trainer) countWork() {
	if t.r.Task != nil || t.r.Train == nil {
		return
	}
	h, w, err := t.r.Train.InputSize()
	if err != nil {
		return
	}
	per, err := t.r.Model.StageFLOPs(h, w)
	if err != nil {
		return
	}
	t.stageFLOPs = make([]float64, len(per))
	for i, f := range per {
		t.stageFLOPs[i] = float64(f)
	}
}

// forwardFLOPs is one image's forward pass through stages [from, to).
func (t *trainer) forwardFLOPs(from, to int) float64 {
	var n float64
	for i := from; i < to && i < len(t.stageFLOPs); i++ {
		n += t.stageFLOPs[i]
	}
	return n
}

// stepFLOPs is one image's training step in phase p, from stage t.from.
func (t *trainer) stepFLOPs(p Phase) float64 {
	n := t.forwardFLOPs(t.from, len(t.stageFLOPs))
	lowest := -1
	for i := t.from; i < len(t.stageFLOPs); i++ {
		switch {
		case p.stageLR(i) > 0 && lowest < 0:
			lowest = i
			n += t.stageFLOPs[i] // the weights' gradient; the input needs none
		case p.stageLR(i) > 0:
			n += 2 * t.stageFLOPs[i]
		case lowest >= 0:
			n += t.stageFLOPs[i]
		}
	}
	return n
}

// addWork counts images × perImage.
func (t *trainer) addWork(images int, perImage float64) {
	if t.stageFLOPs != nil {
		t.st.FLOPs += float64(images) * perImage
	}
}

// chargePrefix counts the cached prefix's forward pass over the phase's
// images (see above); nothing when the phase computes every stage.
func (t *trainer) chargePrefix() {
	if t.from == 0 {
		return
	}
	n := t.r.Train.Dataset().Len()
	if t.r.Val != nil {
		n += t.r.Val.Dataset().Len()
	}
	t.addWork(n, t.forwardFLOPs(0, t.from))
}
