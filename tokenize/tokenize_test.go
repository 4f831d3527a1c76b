package tokenize

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func loadTokenizer(t testing.TB, cased bool) *Tokenizer {
	t.Helper()
	tk, err := Load(vocabPath(t), cased)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestLoadVocab(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
		size    int
		ids     map[string]int32
		err     string
	}{
		{"plain", "[PAD]\n[UNK]\nhello\n##lo\n", 4, map[string]int32{"[UNK]": 1, "hello": 2, "##lo": 3}, ""},
		{"crlf and no final newline", "[PAD]\r\n[UNK]\r\nhello", 3, map[string]int32{"hello": 2}, ""},
		{"duplicate keeps last id", "a\nb\na\n", 3, map[string]int32{"a": 2, "b": 1}, ""},
		{"empty", "", 0, nil, "vocabulary is empty"},
		{"invalid utf-8", "a\nb\xff\n", 0, nil, "line 2: token is not valid UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".txt")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := LoadVocab(path)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want one naming %s and %q", err, path, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Size() != tc.size {
				t.Errorf("Size = %d, want %d", v.Size(), tc.size)
			}
			for tok, want := range tc.ids {
				if id, ok := v.ID(tok); !ok || id != want {
					t.Errorf("ID(%q) = %d, %v, want %d", tok, id, ok, want)
				}
			}
			if v.Token(-1) != "" || v.Token(int32(v.Size())) != "" {
				t.Errorf("Token out of range is not empty")
			}
		})
	}
}

func TestVocabSHA256MatchesFile(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.SHA256(), sha256Hex(data); got != want {
		t.Errorf("SHA256 = %s, file hash %s", got, want)
	}
	if v.Size() != 30522 {
		t.Errorf("Size = %d, want 30522", v.Size())
	}
	want := Special{PAD: 0, UNK: 100, CLS: 101, SEP: 102, MASK: 103}
	if got := loadTokenizer(t, false).Special(); got != want {
		t.Errorf("Special = %+v, want %+v", got, want)
	}
}

// TestLookupFindsEveryToken checks that the trie gives every token of the real vocabulary its
// own id as the longest match of itself, that the whole-word table finds every token of up
// to 16 bytes that can be a whole word (no ASCII punctuation unless it is one character:
// 23,691 of bert-base-uncased's 30,522 tokens), and that neither finds what is not a token.
func TestLookupFindsEveryToken(t *testing.T) {
	tk := loadTokenizer(t, false)
	held := 0
	for id, tok := range tk.vocab.tokens {
		if want, _ := tk.vocab.ID(tok); want != int32(id) {
			continue // a duplicate
		}
		got, n := tk.pieces.longest(0, []byte(tok))
		if got != int32(id) || n != len(tok) {
			t.Errorf("trie: longest(%q) = %d, %d; want %d, %d", tok, got, n, id, len(tok))
		}
		w := append(make([]byte, 0, 64), tok...)
		got, ok := tk.words.find(w)
		if want := tableWord(tok); ok != want || ok && got != int32(id) {
			t.Errorf("word table: find(%q) = %d, %v; want %d, %v", tok, got, ok, id, want)
		}
		w = append(w, 'q', 'x', 'z')
		if got, ok := tk.words.find(w); ok {
			t.Errorf("word table: find(%q) = %d, not a token", w, got)
		}
		if ok {
			held++
		}
	}
	if held != 23691 {
		t.Errorf("word table holds %d tokens, want 23,691", held)
	}
	for tok, want := range map[string]bool{"the": true, "?": true, "##ing": false, "[unused0]": false, "don't": false, "é": true, "": false, "abcdefghijklmnopq": false} {
		if got := tableWord(tok); got != want {
			t.Errorf("tableWord(%q) = %v, want %v", tok, got, want)
		}
	}
}

// TestEncodeProperties checks structural properties on real text: Words starts at 0 and
// steps by 0 or 1, ids are in range, a reused Encoding gives the same result as a fresh one,
// and Decode of the pieces gives back the lowercased words of plain ASCII text.
func TestEncodeProperties(t *testing.T) {
	tk := loadTokenizer(t, false)
	lines := readLines(t, filepath.Join("testdata", "edge.txt"))
	var reused Encoding
	for _, l := range lines {
		tk.Encode(&reused, l.text)
		var fresh Encoding
		tk.Encode(&fresh, l.text)
		if !slices.Equal(reused.IDs, fresh.IDs) || !slices.Equal(reused.Words, fresh.Words) {
			t.Errorf("%s: reused Encoding differs from a fresh one", l.where)
		}
		checkEncoding(t, tk, &fresh, l.text)
	}
	var e Encoding
	tk.Encode(&e, "The unaffable Cat, sat.")
	if got, want := tk.Decode(e.IDs), "the unaffable cat , sat ."; got != want {
		t.Errorf("Decode = %q, want %q (pieces %q)", got, want, tk.Tokens(nil, e.IDs))
	}
}

// checkEncoding asserts the invariants of any encoding.
func checkEncoding(t testing.TB, tk *Tokenizer, e *Encoding, text string) {
	t.Helper()
	if len(e.IDs) != len(e.Words) {
		t.Fatalf("%q: %d ids, %d word ids", text, len(e.IDs), len(e.Words))
	}
	for i, id := range e.IDs {
		if id < 0 || int(id) >= tk.vocab.Size() {
			t.Fatalf("%q: id %d out of range", text, id)
		}
		if w, prev := e.Words[i], int32(-1); i > 0 {
			prev = e.Words[i-1]
			if w != prev && w != prev+1 {
				t.Fatalf("%q: word ids %v do not step by 0 or 1", text, e.Words)
			}
		} else if w != 0 {
			t.Fatalf("%q: first word id %d", text, w)
		}
	}
	invalid := 0
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			invalid++
		}
		i += size
	}
	if e.Invalid != invalid {
		t.Fatalf("%q: Invalid = %d, want %d", text, e.Invalid, invalid)
	}
}

func TestMaxInputCharsPerWord(t *testing.T) {
	tk := loadTokenizer(t, false)
	unk := tk.Special().UNK
	tests := []struct {
		text  string
		unk   bool
		words int32
	}{
		{strings.Repeat("a", 100), false, 1},
		{strings.Repeat("a", 101), true, 1},
		{strings.Repeat("é", 100), false, 1}, // 200 bytes, 100 characters
		{strings.Repeat("é", 101), true, 1},
		{strings.Repeat("a", 101) + " b", true, 2},
	}
	for _, tc := range tests {
		var e Encoding
		tk.Encode(&e, tc.text)
		if got := len(e.IDs) > 0 && e.IDs[0] == unk && len(e.IDs) == int(tc.words); got != tc.unk {
			t.Errorf("%.20q... (%d bytes): ids %v, want [UNK] first: %v", tc.text, len(tc.text), e.IDs, tc.unk)
		}
		if e.Words[len(e.Words)-1] != tc.words-1 {
			t.Errorf("%.20q...: word ids %v, want %d words", tc.text, e.Words, tc.words)
		}
	}
}

// TestEncodeBatch checks that the batch result equals Encode's, for any number of workers,
// and that a cancelled context stops it.
func TestEncodeBatch(t *testing.T) {
	tk := loadTokenizer(t, false)
	lines := readLines(t, corpusFiles(t)...)
	texts := make([]string, len(lines))
	for i, l := range lines {
		texts[i] = l.text
	}
	for _, workers := range []int{1, 2, 3, 0} {
		got, err := tk.EncodeBatch(context.Background(), texts, workers)
		if err != nil {
			t.Fatal(err)
		}
		var e Encoding
		for i, s := range texts {
			tk.Encode(&e, s)
			if !slices.Equal(got[i].IDs, e.IDs) || !slices.Equal(got[i].Words, e.Words) {
				t.Fatalf("workers=%d: text %d differs from Encode", workers, i)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := tk.EncodeBatch(ctx, texts, 2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	if out, err := tk.EncodeBatch(context.Background(), nil, 2); err != nil || len(out) != 0 {
		t.Errorf("empty batch: %v, %v", out, err)
	}
}

// TestConcurrentEncode runs Encode from several goroutines on one Tokenizer (run with -race).
func TestConcurrentEncode(t *testing.T) {
	tk := loadTokenizer(t, false)
	lines := readLines(t, filepath.Join("testdata", "edge.txt"))
	want := make([][]int32, len(lines))
	for i, l := range lines {
		var e Encoding
		tk.Encode(&e, l.text)
		want[i] = e.IDs
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var e Encoding
			for i, l := range lines {
				tk.Encode(&e, l.text)
				if !slices.Equal(e.IDs, want[i]) {
					t.Errorf("%s: concurrent result differs", l.where)
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewErrors(t *testing.T) {
	v, err := newVocab([]string{"[PAD]", "a"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    Options
		err  string
	}{
		{"no unk", BertOptions(false), `unknown token "[UNK]"`},
		{"missing special", Options{UnkToken: "a", SpecialTokens: []string{"[CLS]"}}, `special token "[CLS]"`},
		{"negative max", Options{UnkToken: "a", MaxInputCharsPerWord: -1}, "MaxInputCharsPerWord"},
	}
	for _, tc := range tests {
		if _, err := New(v, tc.o); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.err)
		}
	}
	if _, err := New(nil, BertOptions(false)); err == nil {
		t.Errorf("nil vocabulary: no error")
	}
}
