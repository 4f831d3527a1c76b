package tokenize

import (
	"unicode/utf8"
)

// WordSplitter runs the normaliser and the pre-tokenizer alone (BertNormalizer, then
// BertPreTokenizer, with the same character rules as Tokenizer: normalizeRune and preClass)
// and yields the normalised words: what Hugging Face's trainers count. It needs no vocabulary
// and matches no special tokens (Hugging Face's trainer on a new tokenizer has none). It is
// immutable and safe for concurrent use.
type WordSplitter struct {
	opts Options
	// ascii[b] is the normalised byte of an ASCII word character b, 0 for other bytes.
	ascii [utf8.RuneSelf]byte
	// bmp holds, for every character of the Basic Multilingual Plane, its kind (kindWord,
	// ...) and, for kindWord and kindIsolate, its normalised form.
	kinds []uint8
	forms []string
}

// NewWordSplitter builds a splitter for the normaliser settings of o (CleanText,
// HandleChineseChars, StripAccents, Lowercase); the other fields are ignored.
func NewWordSplitter(o Options) (*WordSplitter, error) {
	s := &WordSplitter{opts: o.withDefaults(), kinds: make([]uint8, 0x10000), forms: make([]string, 0x10000)}
	var out []rune
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			s.kinds[r] = kindMixed // never decoded from UTF-8; the slow path handles it anyway
			continue
		}
		var isolate bool
		out, isolate = normalizeRune(out[:0], r, &s.opts)
		kind := classify(out, isolate)
		s.kinds[r] = uint8(kind)
		if kind == kindWord || kind == kindIsolate {
			s.forms[r] = string(out)
		}
		if r < utf8.RuneSelf && kind == kindWord && len(s.forms[r]) == 1 {
			s.ascii[r] = s.forms[r][0]
		}
	}
	return s, nil
}

// Words calls fn with each normalised word of text, in order. The slice passed to fn is valid
// only during the call (fn must copy it to keep it). Invalid UTF-8 is read as U+FFFD, which
// clean text removes; Words returns the number of invalid bytes.
func (s *WordSplitter) Words(text string, fn func(word []byte)) (invalid int) {
	var stack [64]byte
	w := stack[:0]
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if b := s.ascii[c]; b != 0 {
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
		if r <= 0xFFFF {
			kind = int(s.kinds[r])
		}
		switch kind {
		case kindWord:
			w = append(w, s.forms[r]...)
		case kindDrop:
		case kindSpace:
			if len(w) > 0 {
				fn(w)
				w = w[:0]
			}
		case kindIsolate:
			if len(w) > 0 {
				fn(w)
				w = w[:0]
			}
			fn(append(w, s.forms[r]...))
		default:
			w = s.slowRune(w, r, fn)
		}
		i += size
	}
	if len(w) > 0 {
		fn(w)
	}
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
