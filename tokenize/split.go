package tokenize

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// wordSink takes the words of splitWords. Its implementations are small structs, passed by
// value, so that each instantiation of splitWords calls them directly.
type wordSink interface {
	// word takes one normalised word w of nchars characters. w is valid only during the call.
	word(w []byte, nchars int)
	// isolateASCII may take an ASCII character c that is a word of its own, unchanged by the
	// normaliser (punctuation), without it being built into a word: it reports whether it did.
	isolateASCII(c byte) bool
	// specialStart reports whether a special token that the sink matches may start with such
	// a character c; special then takes the one text starts with, if any, and returns its
	// length (0 for none).
	specialStart(c byte) bool
	special(text string) int
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
			if ct.asciiWord[c] != 0 {
				// Eight bytes at a time while they are letters and digits, then byte by
				// byte for the rest of the run.
				for ct.swar && i+8 <= len(text) {
					x := load64(text, i)
					k := wordPrefix8(x)
					if cap(w)-len(w) < 8 {
						w = slices.Grow(w, 8)
					}
					n := len(w)
					binary.LittleEndian.PutUint64(w[n:n+8], ct.fold8(x))
					w = w[:n+k]
					nchars += k
					i += k
					if k < 8 {
						break
					}
				}
				for i < len(text) {
					b := ct.asciiWord[text[i]&0x7f]
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
				if entry.same() {
					if sink.specialStart(c) {
						if n := sink.special(text[i:]); n > 0 {
							i += n
							continue
						}
					}
					if sink.isolateASCII(c) {
						i++
						continue
					}
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

// Eight ASCII bytes at a time (SWAR: the bytes of a uint64, little-endian, so that text[i] is
// the lowest byte).
const (
	lsb8 = 0x0101010101010101 // the lowest bit of each byte
	msb8 = 0x8080808080808080 // the highest bit of each byte
)

// load64 reads text[i:i+8] as a little-endian uint64 (one load: the compiler combines them).
func load64(text string, i int) uint64 {
	b := text[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// inRange8 sets the high bit of each byte of x that lies in [lo, hi]. Every byte of x must be
// below 0x80, so that no sum carries into the next byte.
func inRange8(x uint64, lo, hi byte) uint64 {
	return (x + (0x80-uint64(lo))*lsb8) &^ (x + (0x7f-uint64(hi))*lsb8) & msb8
}

// wordPrefix8 returns how many of the bytes of x, from the lowest, are ASCII letters or digits
// before the first that is not (8 when all are). Setting 0x20 folds A-Z onto a-z and no other
// byte onto a letter; the range tests are inRange8's, written out so that the function stays
// small enough to inline.
func wordPrefix8(x uint64) int {
	x7 := x &^ msb8
	y := x7 | 0x20*lsb8
	letter := (y + (0x80-'a')*lsb8) &^ (y + (0x7f-'z')*lsb8)
	digit := (x7 + (0x80-'0')*lsb8) &^ (x7 + (0x7f-'9')*lsb8)
	return bits.TrailingZeros64((x|^(letter|digit))&msb8) >> 3
}
