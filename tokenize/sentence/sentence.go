package sentence

import (
	"math/bits"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Splitter splits English text into sentences. It is immutable after New and safe for
// concurrent use by multiple goroutines.
type Splitter struct {
	// titles are abbreviations that precede a name or a place and, in practice, never end a
	// sentence: "Mr.", "Dr.", "Gen.", "St.". A period after one is never a boundary.
	titles map[string]bool
	// numbered are abbreviations that precede a number: "No. 4", "Sec. 3", "Jan. 5". A period
	// after one is not a boundary when a digit follows.
	numbered map[string]bool
	// starters are words that frequently begin a sentence ("the", "we", "it"). After an
	// initial ("Harry S. Truman") or a dotted abbreviation ("U.S. Army"), a boundary is only
	// taken when one of them follows ("in the U.S. The ...").
	starters map[string]bool
	// maxTitle is the length of the longest title: a longer word needs no lookup.
	maxTitle int
}

// New returns an English sentence splitter. The error is reserved for future configuration
// (other languages, custom abbreviation lists); it is always nil today.
func New() (*Splitter, error) {
	s := &Splitter{
		titles:   make(map[string]bool),
		numbered: make(map[string]bool),
		starters: make(map[string]bool),
	}
	for _, w := range strings.Fields(`mr mrs ms messrs mme mlle dr drs prof rev hon hons
		gen col lt lieut maj capt cmdr comdr adm sgt cpl pvt gov sen sens rep reps supt atty
		st ste mt ft`) {
		s.titles[w] = true
		s.maxTitle = max(s.maxTitle, len(w))
	}
	for _, w := range strings.Fields(`no nos art arts sec secs vol vols ch fig figs p pp
		jan feb mar apr jun jul aug sep sept oct nov dec`) {
		s.numbered[w] = true
	}
	for _, w := range strings.Fields(`the this that these those there then they their it its
		in if i we our he his she her a an and but as at for from on so some such to today
		what when where while why how yet now let no not many most every all each one my you
		your after before during since under with without`) {
		s.starters[w] = true
	}
	return s, nil
}

// Split appends the sentences of text to dst and returns the extended slice. Sentences are
// trimmed of surrounding white space, never empty, and are substrings of text (no copying).
//
// A boundary is placed after a run of '.', '?', '!' or '…' (plus any closing quotes and
// brackets) that is followed by white space and then by a word that does not start in lower
// case, unless the period belongs to an abbreviation, an initial or a list number (see the
// package documentation). A blank line (paragraph break) is always a boundary. Split never
// panics; invalid UTF-8 is passed through unchanged.
func (s *Splitter) Split(dst []string, text string) []string {
	start := 0 // start of the current sentence (untrimmed)
	i := 0
	for i < len(text) {
		// Eight bytes at a time up to the next byte that may end a sentence or a paragraph.
		for i+8 <= len(text) {
			if m := stopBytes8(load64(text, i)); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i == len(text) {
			break
		}
		c := text[i]
		switch {
		case c == '.' || c == '?' || c == '!' || (c == 0xE2 && strings.HasPrefix(text[i:], "…")):
			end, next, ok := s.boundary(text, start, i)
			if ok {
				dst = appendTrimmed(dst, text[start:end])
				start = next
				i = next
			} else {
				i = end
			}
		case c == '\n':
			if next, ok := paragraphBreak(text, i); ok {
				dst = appendTrimmed(dst, text[start:i])
				start = next
				i = next
			} else {
				i++
			}
		default:
			i++
		}
	}
	return appendTrimmed(dst, text[start:])
}

// boundary examines the terminator run that begins at text[i]. It returns the end of the run
// including closing quotes and brackets (always > i), the start of the next sentence, and
// whether there is a sentence boundary there. sentStart is the start of the current sentence.
func (s *Splitter) boundary(text string, sentStart, i int) (end, next int, ok bool) {
	// The run of terminators: "." "?!" "..." "…".
	j := i
	periods, questionOrBang, ellipsis := 0, false, false
	for j < len(text) {
		switch c := text[j]; {
		case c == '.':
			periods++
			j++
			continue
		case c == '?' || c == '!':
			questionOrBang = true
			j++
			continue
		case c == 0xE2 && strings.HasPrefix(text[j:], "…"):
			ellipsis = true
			j += len("…")
			continue
		}
		break
	}
	// Closing quotes and brackets: `."`, `?)`, `.”`.
	k := j
	for k < len(text) {
		r, size := utf8.DecodeRuneInString(text[k:])
		if !isCloser(r) {
			break
		}
		k += size
	}
	// White space must follow: "U.S.", "3.5", "Hurrah!—Here" hold no boundary.
	m := skipSpace(text, k)
	if m == k || m == len(text) {
		return k, k, false
	}
	// The next word, after opening quotes and brackets.
	n := m
	var r rune
	for n < len(text) {
		var size int
		r, size = utf8.DecodeRuneInString(text[n:])
		if !isOpener(r) {
			break
		}
		n += size
	}
	switch {
	case n == len(text) || unicode.IsLower(r):
		return k, k, false // "etc. and", `"sir?" moving`, "Ha! ha!"
	case r == ',' || r == ';' || r == ':' || r == '.' || r == '?' || r == '!' || r == '…':
		return k, k, false // punctuation continues the sentence
	}
	if questionOrBang || ellipsis || periods > 1 {
		return k, m, true
	}

	// A single period: look at the word before it.
	ws := i
	for ws > sentStart {
		if c := text[ws-1]; c < utf8.RuneSelf { // ASCII: no decoding
			if isSpace(rune(c)) || isOpener(rune(c)) {
				break
			}
			ws--
			continue
		}
		r, size := utf8.DecodeLastRuneInString(text[sentStart:ws])
		if isSpace(r) || isOpener(r) || r == '—' || r == '–' {
			break
		}
		ws -= size
	}
	word := text[ws:i]
	var buf [16]byte
	lower, short := lowerASCII(buf[:0], word)
	switch {
	case word == "":
		return k, m, true
	case short && len(lower) <= s.maxTitle && s.titles[string(lower)]:
		return k, k, false // "Mr. Smith", "St. Petersburg"
	case short && r >= '0' && r <= '9' && s.numbered[string(lower)]:
		return k, k, false // "No. 4"
	case strings.IndexByte(word, '.') >= 0 || isInitial(word):
		// "U.S. Army", "Harry S. Truman" vs "the U.S. The ...".
		return k, m, s.startsSentence(text[n:])
	case isListNumber(word) && isBlank(text[sentStart:ws]):
		return k, k, false // "6. We shall refuse ..."
	}
	return k, m, true
}

// startsSentence reports whether text begins with a frequent sentence starter word.
func (s *Splitter) startsSentence(text string) bool {
	e := 0
	for e < len(text) && e <= 16 && isASCIILetter(text[e]) {
		e++
	}
	if e == 0 || e > 16 {
		return false
	}
	var buf [16]byte
	lower, _ := lowerASCII(buf[:0], text[:e])
	return s.starters[string(lower)]
}

// paragraphBreak reports whether the newline at text[i] is followed by a blank line, and if so
// where the next paragraph starts.
func paragraphBreak(text string, i int) (next int, ok bool) {
	for j := i + 1; j < len(text); j++ {
		switch text[j] {
		case ' ', '\t', '\r', '\v', '\f':
		case '\n':
			return j + 1, true
		default:
			return 0, false
		}
	}
	return 0, false
}

// appendTrimmed appends s trimmed of white space, if anything is left.
func appendTrimmed(dst []string, s string) []string {
	if s = strings.TrimSpace(s); s != "" {
		dst = append(dst, s)
	}
	return dst
}

// lowerASCII appends the ASCII-lowercased word to dst; short is false (and dst unusable for
// lookups) when the word is longer than dst's capacity or not ASCII letters.
func lowerASCII(dst []byte, word string) (lower []byte, short bool) {
	if len(word) > cap(dst) {
		return dst, false
	}
	for i := 0; i < len(word); i++ {
		c := word[i]
		if !isASCIILetter(c) {
			return dst, false
		}
		dst = append(dst, c|0x20)
	}
	return dst, true
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// isInitial reports whether word is a single upper-case letter other than the pronoun "I".
func isInitial(word string) bool {
	r, size := utf8.DecodeRuneInString(word)
	return size == len(word) && unicode.IsUpper(r) && r != 'I'
}

// isListNumber reports whether word is a one- or two-digit number ("6" in "6. We shall").
func isListNumber(word string) bool {
	if len(word) == 0 || len(word) > 2 {
		return false
	}
	for i := 0; i < len(word); i++ {
		if word[i] < '0' || word[i] > '9' {
			return false
		}
	}
	return true
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
	}
	return unicode.IsSpace(r)
}

// skipSpace returns the index of the first non-space rune in text at or after i.
func skipSpace(text string, i int) int {
	for i < len(text) {
		if c := text[i]; c < utf8.RuneSelf {
			if !isSpace(rune(c)) {
				return i
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			return i
		}
		i += size
	}
	return i
}

// isCloser reports whether r closes a quotation or a parenthesis after a terminator.
func isCloser(r rune) bool {
	switch r {
	case '"', '\'', ')', ']', '}', '”', '’', '»':
		return true
	}
	return false
}

// isOpener reports whether r opens a quotation or a parenthesis before a sentence.
func isOpener(r rune) bool {
	switch r {
	case '"', '\'', '(', '[', '{', '“', '‘', '«':
		return true
	}
	return false
}

// Eight bytes at a time (SWAR: the bytes of a uint64, little-endian, so that text[i] is the
// lowest byte).
const (
	lsb8 = 0x0101010101010101 // the lowest bit of each byte
	low7 = 0x7f7f7f7f7f7f7f7f // the low seven bits of each byte
)

// load64 reads text[i:i+8] as a little-endian uint64 (one load: the compiler combines them).
func load64(text string, i int) uint64 {
	b := text[i : i+8]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// zero8 sets the high bit of each byte of v that is zero, and no other bit (exact: no carry
// crosses a byte).
func zero8(v uint64) uint64 {
	return ^((v&low7 + low7) | v | low7)
}

// stopBytes8 sets the high bit of each byte of x at which Split must look: '.', '?', '!',
// '\n' and 0xE2, the first byte of '…'.
func stopBytes8(x uint64) uint64 {
	return zero8(x^('.'*lsb8)) | zero8(x^('?'*lsb8)) | zero8(x^('!'*lsb8)) |
		zero8(x^('\n'*lsb8)) | zero8(x^(0xE2*lsb8))
}
