package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
)

// idMap returns a plain Go map from token to id built from v's tokens in id order (a token
// listed twice keeps its last id): the reference the tests compare the index and the trie with.
func (v *Vocab) idMap() map[string]int32 {
	m := make(map[string]int32, len(v.tokens))
	for id, tok := range v.tokens {
		m[tok] = int32(id)
	}
	return m
}

// TestVocabIndexMatchesMap checks the vocabulary's index against a Go map on the sample
// vocabulary with duplicates, a blank line and a byte order mark added: every token finds
// its id (the last one for a duplicate), the distinct count agrees, and strings that are not
// tokens (prefixes, extensions, case changes) are not found.
func TestVocabIndexMatchesMap(t *testing.T) {
	tokens := sampleVocab(t)
	tokens = append(tokens, "", "the", "##ing", "", "\ufeff[PAD]", "zzzzzzzzzzzzzzzzzzzzzzzzzzzz", "\u00e9t\u00e9", "the")
	v, err := newVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	ref := v.idMap()
	if v.ids.n != len(ref) {
		t.Errorf("index holds %d distinct tokens, the map %d", v.ids.n, len(ref))
	}
	for tok, want := range ref {
		if id, ok := v.ID(tok); !ok || id != want {
			t.Fatalf("ID(%q) = %d, %v; want %d", tok, id, ok, want)
		}
	}
	if id, _ := v.ID("the"); id != int32(len(tokens)-1) {
		t.Errorf(`ID("the") = %d; want the last line's id %d`, id, len(tokens)-1)
	}
	absent := 0
	for _, tok := range tokens {
		for _, s := range []string{tok + "x", strings.ToUpper(tok), "##" + tok, tok[:len(tok)/2]} {
			_, inMap := ref[s]
			if _, ok := v.ID(s); ok != inMap {
				t.Fatalf("ID(%q) found %v; the map %v", s, ok, inMap)
			}
			if !inMap {
				absent++
			}
		}
	}
	if absent < len(tokens) {
		t.Fatalf("only %d absent strings checked", absent)
	}
}

// BenchmarkLoadVocab measures reading the sample's vocab.txt into a Vocab (file, tokens,
// index, sha256), the first step of every command's start-up.
func BenchmarkLoadVocab(b *testing.B) {
	p := vocabPath(b)
	for b.Loop() {
		if _, err := LoadVocab(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVocabSHA256Chunked checks the vocabulary hash, fed in chunks, against the sha256 of
// the canonical form built whole, with tokens that straddle a chunk and one longer than it.
func TestVocabSHA256Chunked(t *testing.T) {
	tokens := sampleVocab(t)
	tokens = append(tokens, strings.Repeat("a", 40<<10), "", "b", strings.Repeat("c", 32<<10-1))
	v, err := newVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(strings.Join(tokens, "\n") + "\n"))
	if want := hex.EncodeToString(sum[:]); v.SHA256() != want {
		t.Errorf("SHA256() = %s; want %s", v.SHA256(), want)
	}
}
