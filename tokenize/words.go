package tokenize

// WordSplitter runs the normaliser and the pre-tokenizer alone (BertNormalizer, then
// BertPreTokenizer: the Tokenizer's own loop, splitWords, over the same character table) and
// yields the normalised words: what Hugging Face's trainers count. It needs no vocabulary and
// matches no special tokens (Hugging Face's trainer on a new tokenizer has none). It is
// immutable and safe for concurrent use.
type WordSplitter struct {
	opts  Options
	chars *charTable
}

// NewWordSplitter builds a splitter for the normaliser settings of o (CleanText,
// HandleChineseChars, StripAccents, Lowercase); the other fields are ignored.
func NewWordSplitter(o Options) (*WordSplitter, error) {
	s := &WordSplitter{opts: o.withDefaults()}
	s.chars = newCharTable(&s.opts)
	return s, nil
}

// Words calls fn with each normalised word of text, in order. The slice passed to fn is valid
// only during the call (fn must copy it to keep it). Invalid UTF-8 is read as U+FFFD, which
// clean text removes; Words returns the number of invalid bytes.
func (s *WordSplitter) Words(text string, fn func(word []byte)) (invalid int) {
	var stack [64]byte
	_, invalid = splitWords(s.chars, text, stack[:0], funcSink{fn})
	return invalid
}

// funcSink is the WordSplitter's wordSink: it hands each word to a function.
type funcSink struct{ fn func([]byte) }

func (s funcSink) word(w []byte, _ int) { s.fn(w) }

func (funcSink) isolateASCII(byte) bool { return false }

func (funcSink) specialStart(byte) bool { return false }

func (funcSink) special(string) int { return 0 }
