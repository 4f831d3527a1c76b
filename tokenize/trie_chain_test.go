package tokenize

import (
	"slices"
	"testing"
)

// TestTrieChainsSameLayout checks that placing single-token chains by the fast path gives the
// very array (and the same work count) that the general step gives, on the bundled
// vocabulary and on vocabularies with long tokens, duplicates, empty tokens and shared
// prefixes.
func TestTrieChainsSameLayout(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	long := string(make([]byte, 3000))
	cases := map[string][]string{
		"vocab.txt": v.tokens,
		"odd": {"", "a", "ab", "abc", "abcdefghijklmnopqrstuvwxyz", "b", "ab", "##", "##ing", "##ingly",
			"\xff\xfe", "x" + long, "y" + long, "xy" + long, "", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"},
	}
	for name, tokens := range cases {
		var fast, slow trieBuilder
		slow.noChains = true
		tf, ts := fast.build(tokens, tokenIDs(tokens), 0), slow.build(tokens, tokenIDs(tokens), 0)
		if !slices.Equal(tf.nodes, ts.nodes) {
			t.Errorf("%s: the fast path's array differs from the general step's (%d and %d states)", name, len(tf.nodes), len(ts.nodes))
		}
		if fast.work != slow.work {
			t.Errorf("%s: work %d, general step %d", name, fast.work, slow.work)
		}
		// And the trie finds every token (its last id when listed twice).
		last := map[string]int32{}
		for id, tok := range tokens {
			if tok != "" {
				last[tok] = int32(id)
			}
		}
		for tok, want := range last {
			id, n := tf.longest(0, []byte(tok))
			if n != len(tok) || id != want {
				t.Errorf("%s: longest(%.20q) = id %d, %d bytes; want %d, %d", name, tok, id, n, want, len(tok))
			}
		}
	}
}
