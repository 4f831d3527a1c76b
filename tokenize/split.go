package tokenize

import "unicode/utf8"

// wordSink takes the words of splitWords. Its implementations are small structs, passed by
// value, so that each instantiation of splitWords calls them directly.
type wordSink interface {
	// word takes one normalised word w of nchars characters. w is valid only during the call.
	word(w []byte, nchars int)
	// isolateASCII may take an ASCII character c that is a word of its own, unchanged by the
	// normaliser (punctuation), without it being built into a word: it reports whether it did.
	isolateASCII(c byte) bool
}

// splitWords runs the normaliser and the pre-tokenizer over text, fused in one pass over the
// character table ct (BertNormalizer, then BertPreTokenizer), and hands each word to sink. w
// is the buffer words are built in; splitWords returns it (for reuse) and the number of
// invalid UTF-8 bytes (read as U+FFFD, which clean text removes).
func splitWords[S wordSink](ct *charTable, text string, w []byte, sink S) ([]byte, int) {
	invalid := 0
	nchars := 0 // the length of w in characters
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			// ASCII fast path: runs of word characters, then one separator.
			if b := ct.asciiWord[c]; b != 0 {
				w = append(w, b)
				nchars++
				i++
				for i < len(text) {
					b = ct.asciiWord[text[i]&0x7f]
					if b == 0 || text[i] >= utf8.RuneSelf {
						break
					}
					w = append(w, b)
					nchars++
					i++
				}
				continue
			}
			entry := ct.latin.entries[c]
			switch entry.kind() {
			case kindSpace:
				if len(w) > 0 {
					sink.word(w, nchars)
					w, nchars = w[:0], 0
				}
				i++
				continue
			case kindIsolate:
				if len(w) > 0 {
					sink.word(w, nchars)
					w, nchars = w[:0], 0
				}
				if entry.same() && sink.isolateASCII(c) {
					i++
					continue
				}
			}
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(text[i:])
			if r == utf8.RuneError && size == 1 {
				invalid++
			}
		}
		if r > 0xFFFF {
			w, nchars = slowRune(ct.opts, w, nchars, r, sink)
			i += size
			continue
		}
		pg := ct.latin
		if r >= 0x100 {
			pg = ct.page(r)
		}
		entry := pg.entries[r&0xFF]
		switch entry.kind() {
		case kindWord:
			w = pg.appendForm(w, entry, text, i, size)
			nchars += entry.nchars()
		case kindDrop:
		case kindSpace:
			if len(w) > 0 {
				sink.word(w, nchars)
				w, nchars = w[:0], 0
			}
		case kindIsolate:
			if len(w) > 0 {
				sink.word(w, nchars)
				w, nchars = w[:0], 0
			}
			w = pg.appendForm(w, entry, text, i, size)
			sink.word(w, entry.nchars())
			w = w[:0]
		default:
			w, nchars = slowRune(ct.opts, w, nchars, r, sink)
		}
		i += size
	}
	if len(w) > 0 {
		sink.word(w, nchars)
	}
	return w[:0], invalid
}

// slowRune handles a character without a table entry (above U+FFFF) or whose normalised form
// mixes pre-tokenizer classes: it normalises r and splits the result character by character.
func slowRune[S wordSink](o *Options, w []byte, nchars int, r rune, sink S) ([]byte, int) {
	var buf [16]rune
	out, isolate := normalizeRune(buf[:0], r, o)
	for _, c := range out {
		class := preClass(c)
		if isolate {
			class = classPunct
		}
		if class != classWord && len(w) > 0 {
			sink.word(w, nchars)
			w, nchars = w[:0], 0
		}
		if class == classSpace {
			continue
		}
		w = utf8.AppendRune(w, c)
		nchars++
		if class == classPunct {
			sink.word(w, nchars)
			w, nchars = w[:0], 0
		}
	}
	return w, nchars
}
