package tokenize

import (
	"sync/atomic"
	"unicode/utf8"
)

// The normalizer and the pre-tokenizer, as Hugging Face's BertNormalizer and BertPreTokenizer.
//
// BertNormalizer maps each character on its own (clean text, then CJK spacing, then NFD and
// removal of nonspacing marks, then lowercasing), so its effect is a function of one input
// character: normalizeRune. BertPreTokenizer then splits the normalised text on whitespace
// (removed) and punctuation (kept as one-character words): preClass. The tokenizer fuses the
// two by precomputing, for every character of the Basic Multilingual Plane, what it becomes
// and how it splits (a charEntry); characters above U+FFFF take the slow path.

// Pre-tokenizer classes of a normalised character.
const (
	classWord  = iota // part of a word
	classSpace        // separates words, removed
	classPunct        // a one-character word
)

// preClass is BertPreTokenizer's class of a normalised character.
func preClass(r rune) int {
	switch {
	case isWhitespace(r):
		return classSpace
	case isPunct(r):
		return classPunct
	}
	return classWord
}

// normalizeRune appends what BertNormalizer makes of r, and reports whether r is a CJK
// ideograph that handle_chinese_chars makes a word of its own.
func normalizeRune(dst []rune, r rune, o *Options) ([]rune, bool) {
	if o.CleanText {
		if r == 0 || r == utf8.RuneError || isControl(r) {
			return dst, false
		}
		if isWhitespace(r) {
			return append(dst, ' '), false
		}
	}
	isolate := o.HandleChineseChars && isChinese(r)
	var buf [8]rune
	out := append(buf[:0], r)
	if o.StripAccents {
		out = appendStripped(buf[:0], r)
	}
	if !o.Lowercase {
		return append(dst, out...), isolate
	}
	for _, c := range out {
		dst = appendLower(dst, c)
	}
	return dst, isolate
}

// What a character does to the word being built.
const (
	kindWord    = iota // its normalised form is appended to the current word
	kindDrop           // it vanishes
	kindSpace          // it ends the current word
	kindIsolate        // it ends the current word and its normalised form is a word of its own
	kindMixed          // its normalised form needs the pre-tokenizer class of each character
)

// charEntry packs a precomputed character: kind (bits 0-2), "normalised form is the input
// unchanged" (bit 3), number of characters of the normalised form (bits 4-7), its length in
// bytes (bits 8-13) and its offset in its charPage.pool (bits 14-31).
type charEntry uint32

func (c charEntry) kind() int   { return int(c & 7) }
func (c charEntry) same() bool  { return c&8 != 0 }
func (c charEntry) nchars() int { return int(c>>4) & 15 }
func (c charEntry) size() int   { return int(c>>8) & 63 }
func (c charEntry) offset() int { return int(c >> 14) }

// charTable holds the precomputed characters of one set of Options. The Basic Multilingual
// Plane is cut into pages of 256 characters; a page is computed the first time a character of
// it is met (page 0, ASCII and Latin-1, at once), so a tokenizer starts without normalising
// 65,536 characters, and text in one script touches a few pages.
type charTable struct {
	opts  *Options
	pages [0x100]atomic.Pointer[charPage]
	// latin is page 0, which the ASCII fast path reads without a check.
	latin *charPage
	// asciiWord[b] is the normalised byte of an ASCII word character b, 0 for other bytes.
	asciiWord [utf8.RuneSelf]byte
	// swar is set when every ASCII letter and digit is a word character that normalises to
	// itself, or to its lower case when lower is set: splitWords then reads runs of them
	// eight bytes at a time (fold8).
	swar, lower bool
}

// fold8 returns the normalised bytes of x's ASCII letters and digits (where swar is set):
// upper case lowered when the table lowercases, the rest unchanged. Other bytes come out
// unspecified.
func (t *charTable) fold8(x uint64) uint64 {
	if !t.lower {
		return x
	}
	return x | inRange8(x&^msb8, 'A', 'Z')>>2 // 0x80>>2 is 0x20, the case bit of its byte
}

// charPage holds 256 consecutive characters.
type charPage struct {
	entries [0x100]charEntry
	pool    []byte // normalised forms that differ from their input
}

// classify decides the kind of a character from its normalised form.
func classify(out []rune, isolate bool) int {
	if len(out) == 0 {
		return kindDrop
	}
	if isolate {
		return kindIsolate
	}
	spaces, words := 0, 0
	for _, c := range out {
		switch preClass(c) {
		case classSpace:
			spaces++
		case classWord:
			words++
		}
	}
	switch {
	case words == len(out):
		return kindWord
	case spaces == len(out):
		return kindSpace
	case len(out) == 1:
		return kindIsolate
	}
	return kindMixed
}

func newCharTable(o *Options) *charTable {
	t := &charTable{opts: o}
	t.latin = t.page(0)
	for r := rune(0); r < utf8.RuneSelf; r++ {
		e := t.latin.entries[r]
		if e.kind() != kindWord || e.size() > 1 {
			continue
		}
		if e.same() {
			t.asciiWord[r] = byte(r)
		} else if e.size() == 1 && t.latin.pool[e.offset()] < utf8.RuneSelf {
			t.asciiWord[r] = t.latin.pool[e.offset()]
		}
	}
	t.swar, t.lower = true, t.asciiWord['A'] == 'a'
	for r := byte(0); r < utf8.RuneSelf; r++ {
		want := r
		if t.lower && r >= 'A' && r <= 'Z' {
			want += 'a' - 'A'
		}
		isAlnum := r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if isAlnum && t.asciiWord[r] != want {
			t.swar = false
		}
	}
	return t
}

// page returns the page of r (r <= 0xFFFF), computing it on first use. Two goroutines may
// both compute a page; they get the same result and one is kept.
func (t *charTable) page(r rune) *charPage {
	slot := &t.pages[r>>8]
	if p := slot.Load(); p != nil {
		return p
	}
	p := newCharPage(r>>8<<8, t.opts)
	if !slot.CompareAndSwap(nil, p) {
		return slot.Load()
	}
	return p
}

// newCharPage computes the 256 characters from first.
func newCharPage(first rune, o *Options) *charPage {
	p := &charPage{}
	var out []rune
	var enc []byte
	for i := range p.entries {
		r := first + rune(i)
		if r >= 0xD800 && r <= 0xDFFF {
			continue // surrogates never come out of UTF-8 decoding
		}
		var isolate bool
		out, isolate = normalizeRune(out[:0], r, o)
		kind := classify(out, isolate)
		e := charEntry(kind) | charEntry(len(out))<<4
		if len(out) == 1 && out[0] == r {
			e |= 8 | charEntry(utf8.RuneLen(r))<<8
		} else if len(out) > 0 {
			enc = enc[:0]
			for _, c := range out {
				enc = utf8.AppendRune(enc, c)
			}
			if len(out) > 15 || len(enc) > 63 {
				// Too long for an entry (no Unicode mapping is): the slow path normalises it.
				e = kindMixed
			} else {
				e |= charEntry(len(enc))<<8 | charEntry(len(p.pool))<<14
				p.pool = append(p.pool, enc...)
			}
		}
		p.entries[i] = e
	}
	return p
}

// appendForm appends the normalised bytes of a character with entry e of page p, found at
// text[i:i+size].
func (p *charPage) appendForm(dst []byte, e charEntry, text string, i, size int) []byte {
	if e.same() {
		return append(dst, text[i:i+size]...)
	}
	return append(dst, p.pool[e.offset():e.offset()+e.size()]...)
}
