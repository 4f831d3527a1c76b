package tokenize

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// refEncode is a plain, unfused rendering of the same pipeline, for the fuzzer to compare the
// fast path with: normalise the whole text character by character, split it into words,
// then WordPiece each word with map lookups. (Its character functions are checked against
// Hugging Face on every code point by TestUnicodeTables.)
func refEncode(tk *Tokenizer, text string) (ids, words []int32) {
	word := int32(0)
	emit := func(w []rune) {
		if len(w) == 0 {
			return
		}
		defer func() { word++ }()
		if len(w) > tk.opts.MaxInputCharsPerWord {
			ids, words = append(ids, tk.unk), append(words, word)
			return
		}
		s := string(w)
		var pieces []int32
		for start := 0; start < len(s); {
			end := len(s)
			for ; end > start; end-- {
				if end < len(s) && !utf8.RuneStart(s[end]) {
					continue
				}
				sub := s[start:end]
				if start > 0 {
					sub = tk.opts.ContinuingSubwordPrefix + sub
				}
				if id, ok := tk.vocab.ID(sub); ok {
					pieces = append(pieces, id)
					break
				}
			}
			if end == start {
				pieces = []int32{tk.unk}
				break
			}
			start = end
		}
		for _, id := range pieces {
			ids, words = append(ids, id), append(words, word)
		}
	}
	segment := func(text string) {
		var w []rune
		for _, r := range text { // invalid bytes come out as U+FFFD
			out, isolate := normalizeRune(nil, r, &tk.opts)
			for _, c := range out {
				class := preClass(c)
				if isolate {
					class = classPunct
				}
				switch class {
				case classWord:
					w = append(w, c)
				case classSpace:
					emit(w)
					w = w[:0]
				case classPunct:
					emit(w)
					emit([]rune{c})
					w = w[:0]
				}
			}
		}
		emit(w)
	}
	for len(tk.specials) > 0 {
		at, sp := tk.findSpecial(text)
		if at < 0 {
			break
		}
		segment(text[:at])
		ids, words = append(ids, sp.id), append(words, word)
		word++
		text = text[at+len(sp.text):]
	}
	segment(text)
	return ids, words
}

func addSeeds(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("testdata", "edge.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		f.Add(l)
	}
	for _, s := range []string{"", "\xff", "a\xc3", "\xed\xa0\x80x", "[CLS][SEP][", "İİ ǅ \u1fef ≠ ﬁ", "a\u0301\u0302b", "\U0001d16d\U0001d165"} {
		f.Add(s)
	}
}

// fuzzEncode checks, for any input: no panic, ids in range, word ids starting at 0 and
// stepping by 0 or 1, the invalid-byte count, determinism (a reused Encoding, a second run)
// and agreement with the unfused reference pipeline.
func fuzzEncode(f *testing.F, cased bool) {
	addSeeds(f)
	tk := loadTokenizer(f, cased)
	var reused Encoding
	f.Fuzz(func(t *testing.T, text string) {
		var e Encoding
		tk.Encode(&e, text)
		checkEncoding(t, tk, &e, text)
		tk.Encode(&reused, text)
		if !slices.Equal(e.IDs, reused.IDs) || !slices.Equal(e.Words, reused.Words) || e.Invalid != reused.Invalid {
			t.Fatalf("%q: not deterministic: %v then %v", text, e.IDs, reused.IDs)
		}
		ids, words := refEncode(tk, text)
		if !slices.Equal(e.IDs, ids) || !slices.Equal(e.Words, words) {
			t.Fatalf("%q: kiln %v %v %q, reference %v %v %q", text, e.IDs, e.Words, tk.Tokens(nil, e.IDs), ids, words, tk.Tokens(nil, ids))
		}
	})
}

func FuzzEncodeUncased(f *testing.F) { fuzzEncode(f, false) }

func FuzzEncodeCased(f *testing.F) { fuzzEncode(f, true) }
