package tokenize

import (
	"strings"
	"testing"
)

// TestPieceTriesAsOneTrie checks that the lazily built tries of pieceTries find, for every
// token of the real vocabulary and of an odd one, for the token with bytes after it and for
// each of its suffixes, the same longest token as one trie over all the tokens, from a word's
// start and after the continuing-subword prefix.
func TestPieceTriesAsOneTrie(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]string{
		"vocab.txt": v.tokens,
		"odd": {"", "a", "ab", "abc", "##", "##a", "##ab", "#", "#x", "##ing", "ab", "\xff\xfe",
			"##\xff", strings.Repeat("z", 40), "##" + strings.Repeat("z", 40), "q"},
	}
	for name, tokens := range cases {
		full := buildTrie(tokens)
		contRoot := full.walk(0, "##")
		p := newPieceTries(tokens, "##")
		check := func(w []byte) {
			wantID, wantN := full.longest(0, w)
			if id, n := p.longest(0, w); id != wantID || n != wantN {
				t.Fatalf("%s: longest(0, %q) = %d, %d; one trie: %d, %d", name, w, id, n, wantID, wantN)
			}
			wantID, wantN = -1, 0
			if contRoot >= 0 {
				wantID, wantN = full.longest(contRoot, w)
			}
			if id, n := p.longest(1, w); id != wantID || n != wantN {
				t.Fatalf("%s: longest(1, %q) = %d, %d; one trie: %d, %d", name, w, id, n, wantID, wantN)
			}
		}
		for _, tok := range tokens {
			for i := range len(tok) {
				check([]byte(tok[i:]))
			}
			check([]byte(tok + "qxz"))
		}
	}
}

// TestPieceTriesLazy checks that encoding words that are all whole-word tokens builds no trie,
// and that a word that is not one builds only the tries its pieces start in.
func TestPieceTriesLazy(t *testing.T) {
	tk := loadTokenizer(t, false)
	built := func() int {
		n := 0
		for i := range tk.pieces.tries {
			if tk.pieces.tries[i].t != nil {
				n++
			}
		}
		return n
	}
	var e Encoding
	tk.Encode(&e, "The State of the Union, in 1790: we the people.")
	if n := built(); n != 0 {
		t.Errorf("%d tries built for whole-word tokens only, want 0", n)
	}
	tk.Encode(&e, "unaffable")
	if got, want := tk.Tokens(nil, e.IDs), []string{"una", "##ffa", "##ble"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("unaffable: %q, want %q", got, want)
	}
	// The tries of "u" on side 0 and of "f" and "b" on side 1, nothing else.
	p := tk.pieces
	want := map[uint16]bool{p.index['u']: true, p.index[256+'f']: true, p.index[256+'b']: true}
	if n, total := built(), len(p.tries); n != len(want) || total < 30 {
		t.Errorf("%d of %d tries built for unaffable, want %d", n, total, len(want))
	}
	for i := range want {
		if p.tries[i].t == nil {
			t.Errorf("trie %d not built", i)
		}
	}
}
