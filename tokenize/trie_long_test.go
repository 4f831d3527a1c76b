package tokenize

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleText returns the text of the bundled sample corpus (cmd/kiln/sample), whitespace
// squeezed out, as one long string of real text.
func sampleText(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir("../cmd/kiln/sample/corpus", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".txt") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b.Write(bytes.Join(bytes.Fields(data), nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b.Len() < 1<<19 {
		t.Fatalf("sample corpus: %d bytes of text, want at least 512 KiB", b.Len())
	}
	return b.String()
}

// sampleVocab returns the tokens of the bundled sample vocabulary, by id.
func sampleVocab(t *testing.T) []string {
	t.Helper()
	v, err := LoadVocab("../cmd/kiln/sample/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	return v.Tokens()
}

// TestTrieBuildLinear is issue 10 item 14: a vocabulary with one very long token took time
// quadratic in its length to load (the double-array placement rescanned every state placed
// so far for each new one: 5 MB took minutes). The builder counts its steps; they must grow
// linearly with the tokens' bytes, for a token of one repeated byte and for one of real text.
func TestTrieBuildLinear(t *testing.T) {
	text := sampleText(t)
	base := sampleVocab(t)
	var baseBytes int
	for _, tok := range base {
		baseBytes += len(tok)
	}
	for _, tc := range []struct {
		name string
		long func(n int) string
	}{
		{"repeated byte", func(n int) string { return strings.Repeat("a", n) }},
		{"real text", func(n int) string { return text[:n] }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var perByte []float64
			for _, n := range []int{1 << 15, 1 << 17, 1 << 19} {
				tokens := append(append([]string(nil), base...), tc.long(n))
				var b trieBuilder
				b.build(tokens, tokenIDs(tokens), 0)
				perByte = append(perByte, float64(b.work)/float64(baseBytes+n))
			}
			t.Logf("build steps per token byte at 32 KiB, 128 KiB, 512 KiB: %.2f", perByte)
			for i, w := range perByte {
				if w > 12 {
					t.Errorf("step %d: %.1f build steps per token byte, want at most 12 (linear)", i, w)
				}
				if i > 0 && w > 1.25*perByte[0] {
					t.Errorf("build steps per byte grow with the token: %.2f", perByte)
				}
			}
		})
	}
}

// TestLongTokenVocab loads a vocab.txt with a 512 KiB token of real text and checks that the
// tokenizer's trie finds that token, and the right tokens for its prefixes.
func TestLongTokenVocab(t *testing.T) {
	long := sampleText(t)[:1<<19]
	base := sampleVocab(t)
	path := filepath.Join(t.TempDir(), "vocab.txt")
	content := strings.Join(base, "\n") + "\n" + long + "\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tk, err := Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	wantID := int32(len(base))
	if got := tk.Vocab().Size(); got != len(base)+1 {
		t.Fatalf("vocabulary size %d, want %d", got, len(base)+1)
	}
	if id, n := tk.pieces.longest(0, []byte(long)); id != wantID || n != len(long) {
		t.Errorf("longest(long token) = %d, %d bytes; want %d, %d", id, n, wantID, len(long))
	}
	// A prefix of the long token is not a token: the longest match is what the vocabulary
	// without the long token gives.
	prefix := []byte(long[:1000])
	want := longestByMap(tk.vocab.idMap(), prefix, len(long)-1)
	if id, n := tk.pieces.longest(0, prefix); id != want.id || n != want.n {
		t.Errorf("longest(1000-byte prefix) = %d, %d; want %d, %d", id, n, want.id, want.n)
	}
}

type match struct {
	id int32
	n  int
}

// longestByMap is the longest token (at most maxLen bytes) that prefixes w, found by trying
// every length in the vocabulary's map: the plain definition the trie must agree with.
func longestByMap(ids map[string]int32, w []byte, maxLen int) match {
	for n := min(len(w), maxLen); n > 0; n-- {
		if id, ok := ids[string(w[:n])]; ok {
			return match{id, n}
		}
	}
	return match{-1, 0}
}

// TestTrieMatchesMap checks the trie against the map on the sample vocabulary with duplicates
// and a blank line added: for every token, each of its prefixes, and words of random pieces,
// from the root and after the "##" prefix.
func TestTrieMatchesMap(t *testing.T) {
	tokens := sampleVocab(t)
	tokens = append(tokens, "", "the", "##ing", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "\u00e9t\u00e9")
	v, err := newVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	tr := buildTrie(tokens)
	cont := tr.walk(0, "##")
	if cont < 0 {
		t.Fatal(`no state for "##"`)
	}
	ids := v.idMap()
	contIDs := map[string]int32{}
	for tok, id := range ids {
		if rest, ok := strings.CutPrefix(tok, "##"); ok && rest != "" {
			contIDs[rest] = id
		}
	}
	check := func(w []byte) {
		t.Helper()
		if got, n := tr.longest(0, w); (match{got, n}) != longestByMap(ids, w, len(w)) {
			t.Fatalf("longest(%q) = %d, %d; want %+v", w, got, n, longestByMap(ids, w, len(w)))
		}
		if got, n := tr.longest(cont, w); (match{got, n}) != longestByMap(contIDs, w, len(w)) {
			t.Fatalf("longest(##, %q) = %d, %d; want %+v", w, got, n, longestByMap(contIDs, w, len(w)))
		}
	}
	for _, tok := range tokens {
		for n := 1; n <= len(tok); n++ {
			check([]byte(tok[:n]))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		var w []byte
		for range 1 + rng.IntN(4) {
			tok := tokens[rng.IntN(len(tokens))]
			w = append(w, strings.TrimPrefix(tok, "##")...)
		}
		if len(w) > 0 && rng.IntN(3) == 0 {
			w = w[:rng.IntN(len(w))]
		}
		check(w)
	}
}
