package tokenize

import (
	"fmt"
	"unicode/utf8"
)

// WordSplitter runs the normaliser and the pre-tokenizer alone (BertNormalizer, then
// BertPreTokenizer, with the same character tables as Tokenizer) and yields the normalised
// words: what Hugging Face's trainers count. It needs no vocabulary and matches no special
// tokens (Hugging Face's trainer on a new tokenizer has none). It is immutable and safe for
// concurrent use.
type WordSplitter struct {
	opts  Options
	chars *charTable
}

// NewWordSplitter builds a splitter for the normaliser settings of o (CleanText,
// HandleChineseChars, StripAccents, Lowercase); the other fields are ignored.
func NewWordSplitter(o Options) (*WordSplitter, error) {
	o = o.withDefaults()
	chars, err := newCharTable(&o)
	if err != nil {
		return nil, fmt.Errorf("tokenize: %w", err)
	}
	return &WordSplitter{opts: o, chars: chars}, nil
}

// Words calls fn with each normalised word of text, in order. The slice passed to fn is valid
// only during the call (fn must copy it to keep it). Invalid UTF-8 is read as U+FFFD, which
// clean text removes; Words returns the number of invalid bytes.
func (s *WordSplitter) Words(text string, fn func(word []byte)) (invalid int) {
	ct := s.chars
	var stack [64]byte
	w := stack[:0]
	flush := func() {
		if len(w) > 0 {
			fn(w)
			w = w[:0]
		}
	}
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if b := ct.asciiWord[c]; b != 0 {
				w = append(w, b)
				i++
				continue
			}
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && size == 1 {
				invalid++
			}
		}
		kind := kindMixed
		var entry charEntry
		if r <= 0xFFFF {
			entry = ct.bmp[r]
			kind = entry.kind()
		}
		switch kind {
		case kindWord:
			w = ct.appendForm(w, entry, text, i, size)
		case kindDrop:
		case kindSpace:
			flush()
		case kindIsolate:
			flush()
			w = ct.appendForm(w, entry, text, i, size)
			flush()
		default:
			w = s.slowRune(w, r, fn)
		}
		i += size
	}
	flush()
	return invalid
}

// slowRune normalises r and splits the result character by character, as Tokenizer.slowRune.
func (s *WordSplitter) slowRune(w []byte, r rune, fn func([]byte)) []byte {
	var buf [16]rune
	out, isolate := normalizeRune(buf[:0], r, &s.opts)
	for _, c := range out {
		class := preClass(c)
		if isolate {
			class = classPunct
		}
		if class != classWord && len(w) > 0 {
			fn(w)
			w = w[:0]
		}
		if class == classSpace {
			continue
		}
		w = utf8.AppendRune(w, c)
		if class == classPunct {
			fn(w)
			w = w[:0]
		}
	}
	return w
}
