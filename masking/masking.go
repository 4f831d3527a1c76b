// Package masking chooses and applies the masked language model predictions
// of a BERT pretraining sequence, as Google's create_masked_lm_predictions
// (google-research/bert at eedf571, create_pretraining_data.py):
//
//   - num_to_predict = min(MaxPredictions, max(1, round(n * MaskedLMProb))),
//     n the sequence length counting [CLS] and [SEP], rounded half to even as
//     Python 3's round;
//   - candidates are all positions but [CLS], [SEP] and [PAD], in random order;
//   - each chosen position: with probability 0.8 [MASK]; else with probability
//     0.5 the original token kept, else a random token (the draws in Google's
//     order: one for 0.8, then one for 0.5, then the token). Config.Split
//     makes the shares configurable, as Hugging Face's mask_replace_prob and
//     random_replace_prob (transformers #35251): [MASK] with probability
//     Split.Mask, a random token with Split.Random, the token kept otherwise,
//     with the same draws (the second against kept/(kept+random));
//   - positions sorted; the labels are the original ids.
//
// With WholeWord, a token whose string starts with "##" joins the word before
// it and whole words are chosen as units; a word that would take the count past
// num_to_predict is skipped, as in Google's script. Each piece of a chosen word
// still gets its own 80/10/10 draw, as Google's.
//
// Where Google's script goes wrong, kiln differs, deliberately:
//
//   - The random token comes from Vocab.Random: never a special token ([PAD],
//     [UNK], [CLS], [SEP], [MASK]) nor an [unusedN] slot. Google draws from the
//     whole vocabulary (Hugging Face transformers #15342: [PAD] inserted).
//   - A "##" piece joins the previous word only when it directly follows it;
//     Google joins it to the last candidate even across [SEP], making one
//     "word" of the end of A and the start of B.
//
// Masking is used twice: statically by kiln prep (stored in the shards) and
// dynamically by the trainer's loader, per row, at read time. A Masker is
// immutable and safe for concurrent use; Mask writes into a caller-owned
// Masked and allocates nothing once its buffers have grown. The package
// works on int32 token ids; it does not tokenize, pair or pad, and it imports
// no other kiln package (internal/setting aside, for its errors).
package masking

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/kiln-bert/kiln/internal/setting"
)

// Config holds the masking parameters.
type Config struct {
	// MaskedLMProb is the share of tokens to predict (Google's
	// masked_lm_prob, 0.15), in (0, 1].
	MaskedLMProb float64
	// MaxPredictions caps the predictions per sequence (Google's
	// max_predictions_per_seq, 20 for 128 tokens); at least 1.
	MaxPredictions int
	// WholeWord masks whole words (Google's do_whole_word_mask).
	WholeWord bool
	// Split is how a chosen position is replaced; nil is DefaultSplit, Google's
	// 80/10/10.
	Split *Split
}

// Split is the replacement of a chosen position: [MASK] with probability
// Mask, a random token with probability Random, the original token kept
// with probability 1 - Mask - Random (Hugging Face's mask_replace_prob and
// random_replace_prob).
type Split struct {
	Mask   float64
	Random float64
}

// DefaultSplit returns Google's 80/10/10: 0.8 [MASK], 0.1 random, 0.1 kept.
func DefaultSplit() Split { return Split{Mask: 0.8, Random: 0.1} }

// splitSlack is how far above 1 Mask + Random may add up: shares written in
// decimal are not exact in float64, and their sum may round above 1.
const splitSlack = 1e-12

// Validate reports, naming the field (a *setting.Error), a share outside [0, 1] (or NaN) or
// shares that add up to more than 1.
func (s Split) Validate() error {
	switch {
	case !(s.Mask >= 0 && s.Mask <= 1):
		return setting.Errorf("Mask", s.Mask, "a probability in [0, 1]")
	case !(s.Random >= 0 && s.Random <= 1):
		return setting.Errorf("Random", s.Random, "a probability in [0, 1]")
	case s.Mask+s.Random > 1+splitSlack:
		return &setting.Error{Field: "Mask", Value: fmt.Sprintf("%v and Random %v", s.Mask, s.Random),
			Want: "shares that add up to at most 1 (the rest keep their token)"}
	}
	return nil
}

// keepCut returns the threshold of the second draw: a chosen position not
// replaced by [MASK] keeps its token when the draw is below kept/(kept+random).
// It is rounded to a multiple of 2^-40 (a change of the shares below 1e-12),
// so that Google's 80/10/10 gives exactly Google's 0.5 although 1-0.8-0.1 is
// not 0.1 in float64.
func (s Split) keepCut() float64 {
	kept := math.Max(0, 1-s.Mask-s.Random)
	if kept+s.Random == 0 {
		return 1 // every position gets [MASK]; the second draw is never made
	}
	const grid = 1 << 40
	return math.Round(kept/(kept+s.Random)*grid) / grid
}

// DefaultConfig returns Google's defaults: 0.15, 20 predictions, no whole-word masking.
func DefaultConfig() Config {
	return Config{MaskedLMProb: 0.15, MaxPredictions: 20}
}

// Vocab is what masking needs to know of the vocabulary.
type Vocab struct {
	Size                int   // number of tokens; ids are 0..Size-1
	CLS, SEP, MASK, PAD int32 // PAD is -1 when the vocabulary has none
	// Continuation[id] reports whether the token's string starts with "##".
	Continuation []bool
	// Random holds the ids a random replacement is drawn from: every token
	// but the special ones ([PAD], [UNK], [CLS], [SEP], [MASK], [unusedN],
	// and any other "[NAME]" token).
	Random []int32
}

// NewVocab builds a Vocab from the token strings, id = index (the lines of a
// BERT vocab.txt). [CLS], [SEP] and [MASK] must be present.
func NewVocab(tokens []string) (Vocab, error) {
	return NewVocabFunc(len(tokens), func(id int32) string { return tokens[id] })
}

// NewVocabFunc builds a Vocab of size tokens from token(id), for ids 0 to size-1, as
// NewVocab does from a slice: a caller that holds the tokens elsewhere need not copy them.
func NewVocabFunc(size int, token func(id int32) string) (Vocab, error) {
	v := Vocab{Size: size, CLS: -1, SEP: -1, MASK: -1, PAD: -1}
	if size <= 0 || size > math.MaxInt32 {
		return Vocab{}, fmt.Errorf("vocabulary of %d tokens", size)
	}
	v.Continuation = make([]bool, size)
	v.Random = make([]int32, 0, size) // all but the few special tokens: one allocation
	for i := range size {
		id := int32(i)
		t := token(id)
		switch t {
		case "[CLS]":
			v.CLS = id
		case "[SEP]":
			v.SEP = id
		case "[MASK]":
			v.MASK = id
		case "[PAD]":
			v.PAD = id
		}
		v.Continuation[i] = strings.HasPrefix(t, "##")
		if !isSpecial(t) {
			v.Random = append(v.Random, id)
		}
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"[CLS]", v.CLS}, {"[SEP]", v.SEP}, {"[MASK]", v.MASK}} {
		if s.id < 0 {
			return Vocab{}, fmt.Errorf("vocabulary has no %s token", s.name)
		}
	}
	if len(v.Random) == 0 {
		return Vocab{}, errors.New("vocabulary has no ordinary token to draw random replacements from")
	}
	return v, nil
}

// isSpecial reports whether t is a bracketed special token such as [PAD],
// [MASK] or [unused17] (letters, digits or _ between the brackets).
func isSpecial(t string) bool {
	if len(t) < 3 || t[0] != '[' || t[len(t)-1] != ']' {
		return false
	}
	for _, c := range t[1 : len(t)-1] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// Masker applies masking. It is immutable and safe for concurrent use.
type Masker struct {
	cfg     Config
	v       Vocab
	size    int32
	pad     int32   // [PAD], never a candidate; [CLS] when the vocabulary has none
	maskCut float64 // first draw below it: [MASK]
	keepCut float64 // else second draw below it: kept; else a random token
}

// Validate reports the first field of c out of range, naming it (a *setting.Error; those of
// Split as "Split.Mask" and "Split.Random"): a MaskedLMProb outside (0, 1], a MaxPredictions
// below 1, a bad Split.
func (c Config) Validate() error {
	switch {
	case !(c.MaskedLMProb > 0 && c.MaskedLMProb <= 1):
		return setting.Errorf("MaskedLMProb", c.MaskedLMProb, "a share in (0, 1]")
	case c.MaxPredictions < 1:
		return setting.Errorf("MaxPredictions", c.MaxPredictions, "at least 1")
	case c.Split != nil:
		if err := c.Split.Validate(); err != nil {
			fe, _ := setting.Rename(err, map[string]string{"Mask": "Split.Mask", "Random": "Split.Random"})
			return fe
		}
	}
	return nil
}

// New checks cfg (Config.Validate) and v and returns a Masker. It keeps its own copies of
// v's slices.
func New(cfg Config, v Vocab) (*Masker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case v.Size <= 0 || v.Size > math.MaxInt32 || v.Size != len(v.Continuation):
		return nil, fmt.Errorf("Vocab.Size %d with %d Vocab.Continuation flags", v.Size, len(v.Continuation))
	case len(v.Random) == 0:
		return nil, errors.New("Vocab.Random is empty: no random replacement ids")
	}
	for _, s := range []struct {
		name string
		id   int32
	}{{"[CLS]", v.CLS}, {"[SEP]", v.SEP}, {"[MASK]", v.MASK}} {
		if s.id < 0 || int(s.id) >= v.Size {
			return nil, fmt.Errorf("%s id %d outside the vocabulary of %d", s.name, s.id, v.Size)
		}
	}
	if int(v.PAD) >= v.Size {
		return nil, fmt.Errorf("[PAD] id %d outside the vocabulary of %d", v.PAD, v.Size)
	}
	split := DefaultSplit()
	if cfg.Split != nil {
		split = *cfg.Split
		cfg.Split = &split // the Masker's own copy
	}
	m := &Masker{cfg: cfg, v: v, size: int32(v.Size), pad: v.CLS,
		maskCut: split.Mask, keepCut: split.keepCut()}
	m.v.Continuation = append([]bool(nil), v.Continuation...)
	m.v.Random = append([]int32(nil), v.Random...)
	if v.PAD >= 0 {
		m.pad = v.PAD
	}
	for _, id := range m.v.Random {
		if id < 0 || id >= m.size || id == v.CLS || id == v.SEP || id == m.pad || id == v.MASK {
			return nil, fmt.Errorf("Vocab.Random id %d is a special token or outside the vocabulary", id)
		}
	}
	return m, nil
}

// Masked is the result of Mask. The caller owns it and reuses it between
// calls: Mask overwrites the slices, growing them only when needed.
type Masked struct {
	IDs       []int32 // the input ids with the chosen positions replaced
	Positions []int32 // the masked positions, ascending
	Labels    []int32 // the original ids at Positions

	words []int32 // scratch: candidate word starts, shuffled lazily
	lens  []int32 // scratch: candidate word lengths, same order as words
	// scratch: chosen positions (a bitmap) and their replacements, by position
	chosen []uint64
	repl   []int32
}

// NumToPredict returns min(MaxPredictions, max(1, round(n*MaskedLMProb))),
// rounding half to even as Python 3 does.
func (m *Masker) NumToPredict(n int) int {
	k := int(math.RoundToEven(float64(n) * m.cfg.MaskedLMProb))
	return min(m.cfg.MaxPredictions, max(1, k))
}

// Mask chooses the predictions for ids (a whole sequence, special tokens
// included) with rng and writes the result into out. out.IDs may be ids
// itself (masking in place). Ids outside the vocabulary are treated as
// ordinary tokens.
func (m *Masker) Mask(rng *rand.Rand, ids []int32, out *Masked) {
	if len(out.IDs) != len(ids) || len(ids) > 0 && &out.IDs[0] != &ids[0] {
		out.IDs = append(out.IDs[:0], ids...)
	}
	out.Positions, out.Labels = out.Positions[:0], out.Labels[:0]
	want := m.NumToPredict(len(ids))
	// The chosen positions are marked in a bitmap and their replacements noted beside them,
	// then written out in ascending order: no sort.
	words := (len(ids) + 63) / 64
	if len(out.chosen) < words {
		out.chosen = make([]uint64, words)
	}
	if len(out.repl) < len(ids) {
		out.repl = make([]int32, len(ids))
	}
	if m.cfg.WholeWord {
		m.maskWords(rng, ids, out, want)
	} else {
		m.maskPieces(rng, ids, out, want)
	}
	for w, set := range out.chosen[:words] {
		for set != 0 {
			pos := int32(w*64 + bits.TrailingZeros64(set))
			set &= set - 1
			out.Positions = append(out.Positions, pos)
			out.Labels = append(out.Labels, ids[pos])
			out.IDs[pos] = out.repl[pos]
		}
		out.chosen[w] = 0
	}
}

// maskPieces chooses want positions among the candidates (every position but [CLS], [SEP]
// and [PAD]) of ids, one piece at a time.
func (m *Masker) maskPieces(rng *rand.Rand, ids []int32, out *Masked, want int) {
	// The candidates, written without a branch: each position is stored, and counted only
	// when it is one.
	cand := slices.Grow(out.words[:0], len(ids))[:len(ids)]
	n := 0
	cls, sep, pad := m.v.CLS, m.v.SEP, m.pad
	for i, id := range ids {
		cand[n] = int32(i)
		if id != cls && id != sep && id != pad {
			n++
		}
	}
	cand = cand[:n]
	out.words = cand
	// Walk the candidates in random order: a Fisher-Yates shuffle done lazily, one swap per
	// candidate looked at, which is the same distribution as shuffling them all first.
	chosen, repl := out.chosen, out.repl[:len(ids)]
	for k := 0; k < n && k < want; k++ { // (each candidate is one position)
		j := k + rng.IntN(n-k)
		cand[k], cand[j] = cand[j], cand[k]
		pos := cand[k]
		chosen[pos>>6] |= 1 << (pos & 63)
		// [MASK], kept or a random token, with the draws in Google's order. (Written out in
		// both loops: a function holding it is not inlined, and the call costs ~4%.)
		switch {
		case rng.Float64() < m.maskCut:
			repl[pos] = m.v.MASK
		case rng.Float64() < m.keepCut:
			repl[pos] = ids[pos]
		default:
			repl[pos] = m.v.Random[rng.IntN(len(m.v.Random))]
		}
	}
}

// maskWords chooses whole words: a "##" piece joins the word directly before it, and a word
// that would take the count past want is skipped, as in Google's script.
func (m *Masker) maskWords(rng *rand.Rand, ids []int32, out *Masked, want int) {
	words, lens := out.words[:0], out.lens[:0]
	cls, sep, pad := m.v.CLS, m.v.SEP, m.pad
	for i, id := range ids {
		if id == cls || id == sep || id == pad {
			continue
		}
		if len(words) > 0 && m.isContinuation(id) && words[len(words)-1]+lens[len(lens)-1] == int32(i) {
			lens[len(lens)-1]++
			continue
		}
		words = append(words, int32(i))
		lens = append(lens, 1)
	}
	out.words, out.lens = words, lens
	chosen, repl := out.chosen, out.repl[:len(ids)]
	count := 0
	for k := 0; k < len(words) && count < want; k++ {
		j := k + rng.IntN(len(words)-k)
		words[k], words[j] = words[j], words[k]
		lens[k], lens[j] = lens[j], lens[k]
		if count+int(lens[k]) > want {
			continue // the whole word would exceed the count: skip it
		}
		count += int(lens[k])
		for pos := words[k]; pos < words[k]+lens[k]; pos++ {
			chosen[pos>>6] |= 1 << (pos & 63)
			switch {
			case rng.Float64() < m.maskCut:
				repl[pos] = m.v.MASK
			case rng.Float64() < m.keepCut:
				repl[pos] = ids[pos]
			default:
				repl[pos] = m.v.Random[rng.IntN(len(m.v.Random))]
			}
		}
	}
}

// Split returns the masker's replacement shares (DefaultSplit when its Config
// left Split nil).
func (m *Masker) Split() Split {
	if m.cfg.Split != nil {
		return *m.cfg.Split
	}
	return DefaultSplit()
}

func (m *Masker) isContinuation(id int32) bool {
	return id >= 0 && id < m.size && m.v.Continuation[id]
}
