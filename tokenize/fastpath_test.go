package tokenize

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// isAlnumByte is the byte-wise definition wordPrefix8 computes eight at a time.
func isAlnumByte(b byte) bool {
	return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z'
}

// TestWordPrefix8EveryByte puts every byte value at every position of a word of letters (and
// of a word of non-ASCII bytes) and checks wordPrefix8 and fold8 against the byte-wise
// definitions.
func TestWordPrefix8EveryByte(t *testing.T) {
	for _, lower := range []bool{false, true} {
		ct := &charTable{swar: true, lower: lower}
		for _, fill := range []byte{'Q', 'z', '7', 0x80, 0xff, ' '} {
			for pos := range 8 {
				for v := range 256 {
					var b [8]byte
					for i := range b {
						b[i] = fill
					}
					b[pos] = byte(v)
					checkWord8(t, ct, b)
				}
			}
		}
	}
}

// TestWordPrefix8Random checks wordPrefix8 and fold8 on random words of bytes drawn mostly
// from the edges of the ranges they test.
func TestWordPrefix8Random(t *testing.T) {
	edges := []byte("/09:@AZ[`az{\x00\x7f\x80\xbf\xc3\xff")
	r := rand.New(rand.NewPCG(1, 2))
	for _, lower := range []bool{false, true} {
		ct := &charTable{swar: true, lower: lower}
		for range 200000 {
			var b [8]byte
			for i := range b {
				if r.IntN(2) == 0 {
					b[i] = edges[r.IntN(len(edges))]
				} else {
					b[i] = byte(r.IntN(256))
				}
			}
			checkWord8(t, ct, b)
		}
	}
}

func checkWord8(t *testing.T, ct *charTable, b [8]byte) {
	t.Helper()
	x := load64(string(b[:]), 0)
	want := 0
	for want < 8 && isAlnumByte(b[want]) {
		want++
	}
	k := wordPrefix8(x)
	if k != want {
		t.Fatalf("wordPrefix8(%q) = %d, want %d", b, k, want)
	}
	f := ct.fold8(x)
	for i := range k {
		got, w := byte(f>>(8*i)), b[i]
		if ct.lower && w >= 'A' && w <= 'Z' {
			w += 'a' - 'A'
		}
		if got != w {
			t.Fatalf("fold8(%q) lower=%v: byte %d is %q, want %q", b, ct.lower, i, got, w)
		}
	}
}

// TestCharTableSWAR checks that the tokenizer's tables take the eight-byte path for BERT's
// options, lowering exactly when the options lowercase, and that a table whose ASCII
// letters do not normalise to themselves or their lower case would not.
func TestCharTableSWAR(t *testing.T) {
	for _, cased := range []bool{false, true} {
		ct := newCharTable(&Options{CleanText: true, Lowercase: !cased, StripAccents: !cased})
		if !ct.swar || ct.lower == cased {
			t.Errorf("cased=%v: swar %v lower %v", cased, ct.swar, ct.lower)
		}
	}
}

// TestEncodeSWARAsByteWise encodes random ASCII texts, whose runs of letters and digits cross
// every alignment and the ends of texts, with the eight-byte path and without it.
func TestEncodeSWARAsByteWise(t *testing.T) {
	alphabet := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + "   .,'-\t\n\x01é"
	words := []string{"the", "The", "UNITED", "states", "representatives", "Constitutionally", "a", "I", "1776", "x9"}
	r := rand.New(rand.NewPCG(3, 4))
	for _, cased := range []bool{false, true} {
		tk := loadTokenizer(t, cased)
		plain := *tk
		plain.chars = newCharTable(&tk.opts)
		plain.chars.swar = false
		var a, b Encoding
		for range 20000 {
			var sb strings.Builder
			for range r.IntN(12) {
				if r.IntN(2) == 0 {
					sb.WriteString(words[r.IntN(len(words))])
				}
				for range r.IntN(20) {
					sb.WriteByte(alphabet[r.IntN(len(alphabet))])
				}
			}
			text := sb.String()
			tk.Encode(&a, text)
			plain.Encode(&b, text)
			if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Words, b.Words) {
				t.Fatalf("cased=%v %q: eight at a time %v, byte-wise %v", cased, text, tk.Tokens(nil, a.IDs), tk.Tokens(nil, b.IDs))
			}
			if ids, _ := refEncode(tk, text); !slices.Equal(a.IDs, ids) {
				t.Fatalf("cased=%v %q: kiln %v, reference %v", cased, text, tk.Tokens(nil, a.IDs), tk.Tokens(nil, ids))
			}
		}
	}
}

// TestSpecialsInSplitAsPrescan encodes random texts full of special tokens, parts of them and
// brackets, with the special tokens matched inside splitWords and with Encode's search
// before it (the path of special tokens that do not start with punctuation), and against the
// unfused reference.
func TestSpecialsInSplitAsPrescan(t *testing.T) {
	parts := []string{"[CLS]", "[SEP]", "[MASK]", "[PAD]", "[UNK]", "[CLS", "[", "]", "[[", "SEP]", "[sep]",
		" ", "the", "The", "Nation", "é", "\xe2", "\xff", ".", "x", "##", "[unused1]", "\u4e00"}
	r := rand.New(rand.NewPCG(5, 6))
	for _, cased := range []bool{false, true} {
		tk := loadTokenizer(t, cased)
		if !tk.specialInSplit {
			t.Fatalf("cased=%v: BERT's special tokens are not matched in splitWords", cased)
		}
		pre := *tk
		pre.specialInSplit = false
		pre.specialStart = [utf8.RuneSelf]bool{}
		var a, b Encoding
		for range 20000 {
			var sb strings.Builder
			for range r.IntN(16) {
				sb.WriteString(parts[r.IntN(len(parts))])
			}
			text := sb.String()
			tk.Encode(&a, text)
			pre.Encode(&b, text)
			if !slices.Equal(a.IDs, b.IDs) || !slices.Equal(a.Words, b.Words) || a.Invalid != b.Invalid {
				t.Fatalf("cased=%v %q: in splitWords %v %v, searched first %v %v", cased, text, tk.Tokens(nil, a.IDs), a.Words, tk.Tokens(nil, b.IDs), b.Words)
			}
			if ids, words := refEncode(tk, text); !slices.Equal(a.IDs, ids) || !slices.Equal(a.Words, words) {
				t.Fatalf("cased=%v %q: kiln %v, reference %v", cased, text, tk.Tokens(nil, a.IDs), tk.Tokens(nil, ids))
			}
		}
	}
	// A special token that starts with a letter is searched for by Encode, as before, in the
	// raw text: inside words too, and case-sensitively.
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	o := BertOptions(false)
	o.SpecialTokens = []string{"[CLS]", "nation"}
	tk, err := New(v, o)
	if err != nil {
		t.Fatal(err)
	}
	if tk.specialInSplit {
		t.Fatal(`special tokens "[CLS]" and "nation": matched in splitWords, whose words are normalised`)
	}
	var e Encoding
	tk.Encode(&e, "Nation nations[CLS]nation")
	if got, want := tk.Tokens(nil, e.IDs), []string{"nation", "nation", "s", "[CLS]", "nation"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
