package tokenize

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// Tokenizer turns text into BERT word-piece ids. It is immutable after New and safe for
// concurrent use; each goroutine passes its own Encoding.
type Tokenizer struct {
	vocab   *Vocab
	opts    Options
	special Special
	unk     int32

	chars  *charTable
	words  *wordTable
	pieces *pieceTries
	// asciiID[b] is the id of the one-character word b (ASCII punctuation), or -1.
	asciiID [utf8.RuneSelf]int32

	specials     []specialToken // matched in raw text, longest first
	specialFirst string         // the distinct first bytes of the special tokens
	// specialStart[b] is set for the first bytes of the special tokens when every one is
	// ASCII punctuation that the normaliser leaves unchanged ("[" of "[CLS]"): splitWords
	// visits each such byte of the text, so it matches the special tokens in its one pass
	// (pieceSink.special) instead of Encode searching the text for them first.
	specialStart   [utf8.RuneSelf]bool
	specialInSplit bool

	// general is set when a tokenizer.json is not a BERT WordPiece one: every call goes to
	// sugarme/tokenizer's pipeline (package general) instead.
	general encoder
}

type specialToken struct {
	text string
	id   int32
}

// Encoding is the result of Encode. It is owned by the caller and reused: Encode resets it and
// fills it, reusing its slices, so a worker that encodes many texts allocates only while its
// buffers grow. No special tokens are added.
type Encoding struct {
	IDs   []int32 // word-piece ids
	Words []int32 // Words[i] is the index of the pre-tokenized word of token i (HF word_ids)
	// Invalid counts the bytes of the text that were not valid UTF-8; each was read as
	// U+FFFD (which clean text then removes).
	Invalid int

	word     []byte // scratch: the normalised word being built
	nextWord int32  // during encode: the number of the next word
}

// New builds a tokenizer for a vocabulary and options.
func New(v *Vocab, o Options) (*Tokenizer, error) {
	if v == nil {
		return nil, fmt.Errorf("nil *Vocab")
	}
	o = o.withDefaults()
	if o.MaxInputCharsPerWord < 0 {
		return nil, fmt.Errorf("Options.MaxInputCharsPerWord %d: want at least 1", o.MaxInputCharsPerWord)
	}
	unk, ok := v.ID(o.UnkToken)
	if !ok {
		return nil, fmt.Errorf("Options.UnkToken: unknown token %q is not in the vocabulary", o.UnkToken)
	}
	t := &Tokenizer{vocab: v, opts: o, special: v.special(), unk: unk}
	t.chars = newCharTable(&t.opts)
	t.words = newWordTable(v)
	// The tries are built when a word that is not a token first needs them.
	t.pieces = newPieceTries(v.tokens, o.ContinuingSubwordPrefix)
	for b := range t.asciiID {
		t.asciiID[b] = -1
		if id, ok := v.ID(string(rune(b))); ok {
			t.asciiID[b] = id
		}
	}
	if !o.EncodeSpecialTokens {
		list := o.SpecialTokens
		if list == nil {
			list = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
		}
		for _, s := range list {
			id, ok := v.ID(s)
			if s == "" || !ok {
				if o.SpecialTokens != nil {
					return nil, fmt.Errorf("Options.SpecialTokens: special token %q is not in the vocabulary", s)
				}
				continue
			}
			t.specials = append(t.specials, specialToken{s, id})
			if !strings.Contains(t.specialFirst, s[:1]) {
				t.specialFirst += s[:1]
			}
		}
	}
	t.specialInSplit = len(t.specials) > 0
	for i := 0; i < len(t.specialFirst); i++ {
		b := t.specialFirst[i]
		if b >= utf8.RuneSelf || t.chars.asciiWord[b] != 0 {
			t.specialInSplit = false
			break
		}
		if e := t.chars.latin.entries[b]; e.kind() != kindIsolate || !e.same() {
			t.specialInSplit = false
			break
		}
		t.specialStart[b] = true
	}
	if !t.specialInSplit {
		t.specialStart = [utf8.RuneSelf]bool{}
	}
	return t, nil
}

// Load reads a vocab.txt and builds a BERT tokenizer, uncased (lowercase, strip accents) or
// cased.
func Load(vocabPath string, cased bool) (*Tokenizer, error) {
	v, err := LoadVocab(vocabPath)
	if err != nil {
		return nil, err
	}
	t, err := New(v, BertOptions(cased))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", vocabPath, err)
	}
	return t, nil
}

// Vocab returns the tokenizer's vocabulary.
func (t *Tokenizer) Vocab() *Vocab { return t.vocab }

// Special returns the ids of the special tokens ([PAD], [UNK], [CLS], [SEP], [MASK]); -1 for
// one the vocabulary lacks.
func (t *Tokenizer) Special() Special { return t.special }

// Options returns the options the tokenizer was built with, defaults filled in.
func (t *Tokenizer) Options() Options { return t.opts }

// Tokens appends the word-piece strings of ids to dst, for printing ("##" pieces included).
// An id outside the vocabulary gives "".
func (t *Tokenizer) Tokens(dst []string, ids []int32) []string {
	for _, id := range ids {
		dst = append(dst, t.vocab.Token(id))
	}
	return dst
}

// Decode joins the word pieces of ids into text: a piece with the continuing-subword prefix
// is glued to the previous one, other pieces are separated by a space. It is for reading
// output, not the inverse of Encode (case, accents and spacing are lost).
func (t *Tokenizer) Decode(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		tok := t.vocab.Token(id)
		if rest, ok := strings.CutPrefix(tok, t.opts.ContinuingSubwordPrefix); ok && i > 0 {
			b.WriteString(rest)
			continue
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// Encode tokenizes text into e, replacing what e held. Invalid UTF-8 is read as U+FFFD and
// counted in e.Invalid. It returns an error only for a tokenizer.json that runs through the
// general pipeline (see LoadJSON), when that pipeline cannot encode text; kiln's BERT
// tokenizer never fails, so a caller that only builds BERT tokenizers may ignore the result.
func (t *Tokenizer) Encode(e *Encoding, text string) error {
	e.IDs, e.Words, e.Invalid = e.IDs[:0], e.Words[:0], 0
	if t.general != nil {
		return t.encodeGeneral(e, text)
	}
	word := int32(0)
	for len(t.specials) > 0 && !t.specialInSplit {
		at, sp := t.findSpecial(text)
		if at < 0 {
			break
		}
		word = t.encode(e, text[:at], word)
		e.IDs = append(e.IDs, sp.id)
		e.Words = append(e.Words, word)
		word++
		text = text[at+len(sp.text):]
	}
	t.encode(e, text, word)
	return nil
}

// findSpecial finds the leftmost special token in text, the longest at that position.
func (t *Tokenizer) findSpecial(text string) (int, specialToken) {
	for from := 0; ; {
		i := strings.IndexAny(text[from:], t.specialFirst)
		if i < 0 {
			return -1, specialToken{}
		}
		at := from + i
		if sp, ok := t.specialAt(text[at:]); ok {
			return at, sp
		}
		from = at + 1
	}
}

// specialAt returns the longest special token that text starts with.
func (t *Tokenizer) specialAt(text string) (specialToken, bool) {
	best := -1
	for j, sp := range t.specials {
		if strings.HasPrefix(text, sp.text) && (best < 0 || len(sp.text) > len(t.specials[best].text)) {
			best = j
		}
	}
	if best < 0 {
		return specialToken{}, false
	}
	return t.specials[best], true
}

// encode runs the normaliser, the pre-tokenizer and WordPiece over text, fused in one pass
// (splitWords); words are numbered from word. It returns the number of the next word.
func (t *Tokenizer) encode(e *Encoding, text string, word int32) int32 {
	w := e.word[:0] // the normalised word being built
	if cap(w) < maxTableWord {
		w = make([]byte, 0, 64) // wordTable.find reads 16 bytes from the start of w
	}
	var invalid int
	e.nextWord = word
	e.word, invalid = splitWords(t.chars, text, w, pieceSink{t: t, e: e})
	e.Invalid += invalid
	return e.nextWord
}

// pieceSink is the Tokenizer's wordSink: it appends the word pieces of each word to e,
// numbering the words from e.nextWord.
type pieceSink struct {
	t *Tokenizer
	e *Encoding
}

func (s pieceSink) word(w []byte, nchars int) {
	s.e.nextWord = s.t.wordPiece(s.e, w, nchars, s.e.nextWord)
}

// isolateASCII appends the id of a one-character word (ASCII punctuation) at once.
func (s pieceSink) isolateASCII(c byte) bool {
	id := s.t.asciiID[c]
	if id < 0 {
		return false
	}
	s.emit(id)
	return true
}

// specialStart reports whether c is the first byte of a special token that Encode leaves to
// splitWords.
func (s pieceSink) specialStart(c byte) bool { return s.t.specialStart[c] }

// special appends the id of the special token that text starts with and returns its length,
// or 0 when none does.
func (s pieceSink) special(text string) int {
	sp, ok := s.t.specialAt(text)
	if !ok {
		return 0
	}
	s.emit(sp.id)
	return len(sp.text)
}

// emit appends the token id as a word of its own.
func (s pieceSink) emit(id int32) {
	s.e.IDs = append(s.e.IDs, id)
	s.e.Words = append(s.e.Words, s.e.nextWord)
	s.e.nextWord++
}

// wordPiece appends the word pieces of one normalised word w of nchars characters (WordPiece,
// greedy longest match first) and returns the number of the next word. A word longer than
// MaxInputCharsPerWord, or one that cannot be covered by pieces, is one unknown token.
func (t *Tokenizer) wordPiece(e *Encoding, w []byte, nchars int, word int32) int32 {
	if nchars > t.opts.MaxInputCharsPerWord {
		e.IDs = append(e.IDs, t.unk)
		e.Words = append(e.Words, word)
		return word + 1
	}
	// Most words are one token: the whole word, when it is a token, is the longest match.
	// This is wordTable.find written out (the compiler does not inline it, and the call
	// cost about 5% of encoding).
	if n := len(w); n <= maxTableWord && n > 0 {
		wt := t.words
		k0, k1 := wordKey(w)
		for i := wordHash(k0, k1) >> wt.shift; ; i = (i + 1) & wt.mask {
			s := &wt.slots[i]
			if s.k0 == k0 && s.k1 == k1 && int(s.n) == n {
				e.IDs = append(e.IDs, s.id)
				e.Words = append(e.Words, word)
				return word + 1
			}
			if s.n == 0 {
				break
			}
		}
	}
	n0 := len(e.IDs)
	id, n := t.pieces.longest(0, w)
	for n > 0 {
		e.IDs = append(e.IDs, id)
		e.Words = append(e.Words, word)
		w = w[n:]
		if len(w) == 0 {
			return word + 1
		}
		id, n = t.pieces.longest(1, w)
	}
	e.IDs = append(e.IDs[:n0], t.unk)
	e.Words = append(e.Words[:n0], word)
	return word + 1
}

// EncodeBatch encodes texts with up to workers goroutines (0 means GOMAXPROCS) and returns one
// Encoding per text, in order; the result is the same whatever the number of workers. It
// stops early with the context's error when ctx is done. The returned slices share large
// backing blocks (each has its capacity capped at its length, so appending copies). When a
// text fails (only possible on LoadJSON's general path) the error names the first failing
// text; the encodings are still returned, each with its own Err.
func (t *Tokenizer) EncodeBatch(ctx context.Context, texts []string, workers int) ([]Encoding, error) {
	out := make([]Encoding, len(texts))
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Texts per claim: about 16 claims per worker, to balance uneven texts, and at most 64.
	chunk := min(max(len(texts)/(16*workers), 1), 64)
	workers = max(min(workers, (len(texts)+chunk-1)/chunk), 1)
	var next atomic.Int64
	var wg sync.WaitGroup
	var first firstError
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker encodes into one scratch Encoding and copies the results into
			// large shared blocks, so a batch costs a few allocations, not several per text.
			var scratch Encoding
			var block []int32
			take := func(v []int32) []int32 {
				if len(v) > cap(block)-len(block) {
					block = make([]int32, 0, max(1<<16, len(v)))
				}
				n := len(block)
				block = append(block, v...)
				return block[n:len(block):len(block)]
			}
			for ctx.Err() == nil {
				start := int(next.Add(int64(chunk)) - int64(chunk))
				if start >= len(texts) {
					return
				}
				for i := start; i < min(start+chunk, len(texts)); i++ {
					if err := t.Encode(&scratch, texts[i]); err != nil {
						first.keep(i, err)
					}
					out[i] = Encoding{IDs: take(scratch.IDs), Words: take(scratch.Words), Invalid: scratch.Invalid}
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if first.err != nil {
		return out, fmt.Errorf("text %d: %w", first.i, first.err)
	}
	return out, nil
}

// firstError keeps the error of the lowest text index among those that failed, so that a
// batch reports the same error whatever the workers' order.
type firstError struct {
	mu  sync.Mutex
	i   int
	err error
}

func (f *firstError) keep(i int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil || i < f.i {
		f.i, f.err = i, err
	}
}
