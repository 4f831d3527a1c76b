package tokenize

import (
	"slices"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Character properties as Hugging Face's BertNormalizer and BertPreTokenizer see them. These
// are the slow, readable definitions; New precomputes tables from them for the hot path.
//
// Hugging Face does not use one Unicode version: categories (control, punctuation, Mn) come
// from the unicode_categories crate (Unicode 8), lowercasing from Rust's standard library
// (Unicode 16), NFD from unicode-normalization-alignments. Go's tables are Unicode 15. The
// differences, found by comparing every code point with the real library, are listed in
// unicode_hf.go (regenerate with `go test -run TestUnicodeTables -update`).
//
// One known difference is left: Hugging Face runs NFD over the whole text, which puts runs of
// combining characters into canonical order; kiln decomposes character by character. Marks
// removed by accent stripping do not care, but 26 spacing marks with a non-zero combining
// class survive it (e.g. U+1D165..U+1D172, U+302E, some viramas); two of them adjacent and out
// of canonical order would come out in the other order. No BERT vocabulary has such tokens,
// so the ids (unknown token either way) agree.

// hfOverride is a code point whose Hugging Face result differs from what Go's tables give.
type hfOverride struct {
	r   rune
	out string // the result Hugging Face gives for r alone
}

// findOverride looks r up in a table sorted by rune.
func findOverride(table []hfOverride, r rune) (string, bool) {
	i, ok := slices.BinarySearchFunc(table, r, func(o hfOverride, r rune) int { return int(o.r - r) })
	if !ok {
		return "", false
	}
	return table[i].out, true
}

// inRunes reports whether r is in a sorted list.
func inRunes(list []rune, r rune) bool {
	_, ok := slices.BinarySearch(list, r)
	return ok
}

// isWhitespace reports the Unicode White_Space property (Rust's char::is_whitespace), which
// both clean_text (mapping to a space) and the pre-tokenizer (splitting) use.
func isWhitespace(r rune) bool {
	return unicode.Is(unicode.White_Space, r)
}

// isControl reports what clean_text removes besides NUL and U+FFFD: the "other" categories
// Cc, Cf, Co and Cs (not Cn: unassigned code points are kept), except tab, newline and
// carriage return.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if inRunes(hfNotControl, r) {
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs)
}

// isChinese reports the CJK ideograph blocks that handle_chinese_chars isolates. The last
// extension block starts at U+2B920, as in Hugging Face (Google's BERT used U+2B820).
func isChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}

// isPunct reports BertPreTokenizer's punctuation: ASCII punctuation (which includes the
// symbols $+<=>^`|~) or a character in a Unicode P* category.
func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	if inRunes(hfPunctFlip, r) {
		return !unicode.In(r, unicode.P)
	}
	return unicode.In(r, unicode.P)
}

// Hangul syllables decompose algorithmically (Unicode section 3.12), not through the tables.
const (
	hangulBase  = 0xAC00
	hangulCount = 11172
)

// appendNFD appends the canonical decomposition of r.
func appendNFD(dst []rune, r rune) []rune {
	if r >= hangulBase && r < hangulBase+hangulCount {
		s := r - hangulBase
		dst = append(dst, 0x1100+s/(21*28), 0x1161+(s%(21*28))/28)
		if t := s % 28; t != 0 {
			dst = append(dst, 0x11A7+t)
		}
		return dst
	}
	var b [utf8.UTFMax]byte
	n := utf8.EncodeRune(b[:], r)
	d := norm.NFD.Properties(b[:n]).Decomposition()
	if d == nil {
		return append(dst, r)
	}
	for len(d) > 0 {
		c, size := utf8.DecodeRune(d)
		dst = append(dst, c)
		d = d[size:]
	}
	return dst
}

// appendStripped appends r with its accents stripped: NFD, then nonspacing marks (Mn) removed.
func appendStripped(dst []rune, r rune) []rune {
	if out, ok := findOverride(hfStrip, r); ok {
		for _, c := range out {
			dst = append(dst, c)
		}
		return dst
	}
	var buf [8]rune
	for _, c := range appendNFD(buf[:0], r) {
		if !unicode.Is(unicode.Mn, c) {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendLower appends the full lowercase mapping of r (Rust's char::to_lowercase): the simple
// mapping, except U+0130 (İ), which lowercases to "i" followed by U+0307.
func appendLower(dst []rune, r rune) []rune {
	if out, ok := findOverride(hfLower, r); ok {
		for _, c := range out {
			dst = append(dst, c)
		}
		return dst
	}
	if r == 0x130 {
		return append(dst, 'i', 0x307)
	}
	return append(dst, unicode.ToLower(r))
}
