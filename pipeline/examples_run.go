package pipeline

import (
	"github.com/kiln-bert/kiln/pairing"
)

// An Examples value is a prep run that can be started again. What NewExamples loads and
// checks (the inputs, the tokenizer, the sentence splitter, the masker) is made once and
// shared; what one pass over the corpus changes (the source, the pairers' reservoirs, the
// counts) is made anew by each Run. So Run may be called again, after the previous one has
// returned, and gives the same rows; WithSeed gives the run of another seed (the next epoch
// of a pretrain stream) without loading anything again. Runs of one Examples value must not
// overlap; runs of values from WithSeed may.

// WithSeed returns the run of e's examples with another seed: its own run state, and e's
// inputs, tokenizer and masker, loaded once by NewExamples. Its rows are those NewExamples
// would give for e's config with that seed; the progress function (SetProgress) is kept.
func (e *Examples) WithSeed(seed uint64) (*Examples, error) {
	c := &Examples{
		cfg: e.cfg, inputs: e.inputs, notes: e.notes, tok: e.tok, splitter: e.splitter,
		masker: e.masker, maskVoc: e.maskVoc, task: e.task, special: e.special, progress: e.progress,
	}
	c.cfg.Seed = seed
	c.encodings.New = e.encodings.New
	if err := c.newRun(); err != nil {
		return nil, err
	}
	return c, nil
}

// startRun readies the run state for a Run: as NewExamples made it for the first run, made
// anew for every later one.
func (e *Examples) startRun() error {
	if e.ran {
		if err := e.newRun(); err != nil {
			return err
		}
	}
	e.ran = true
	return nil
}

// newRun makes the state of one pass over the corpus: the source, the pairer (and the
// held-out documents' own), and zero counts.
func (e *Examples) newRun() error {
	cfg := e.cfg
	pc := cfg.pairingConfig()
	pairer, err := pairing.NewPairer(pc, e.special)
	if err != nil {
		return err
	}
	var evalPair *pairing.Pairer
	if cfg.EvalFraction > 0 {
		// NotNext partners are drawn from the pairer's reservoir: the held-out documents have
		// their own, so that no pair mixes the two sets.
		if evalPair, err = pairing.NewPairer(pc, e.special); err != nil {
			return err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pairer, e.evalPair = pairer, evalPair
	e.src = NewSource(e.inputs, SourceOptions{
		Format: cfg.Format, JSONField: cfg.JSONField, MaxLineBytes: cfg.MaxLineBytes, MaxDocBytes: cfg.MaxDocBytes,
		TextColumn: cfg.TextColumn, MaxRowGroupBytes: cfg.MaxRowGroupBytes, Open: e.open,
	})
	e.stats = ExampleStats{}
	e.docs.Store(0)
	return nil
}
