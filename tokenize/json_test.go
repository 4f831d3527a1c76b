package tokenize

import (
	"context"
	"encoding/json"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rewriteJSON loads a tokenizer.json, applies edit and writes it to a new file.
func rewriteJSON(t *testing.T, path string, edit func(map[string]any)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	edit(cfg)
	out, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadJSONOptions checks that the BERT settings of a tokenizer.json reach the fast path.
func TestLoadJSONOptions(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	base := writeTokenizerJSON(t, v, BertOptions(false), true)
	tests := []struct {
		name string
		edit func(map[string]any)
		want Options
	}{
		{"uncased", func(map[string]any) {}, BertOptions(false)},
		{"cased", func(c map[string]any) { c["normalizer"].(map[string]any)["lowercase"] = false }, BertOptions(true)},
		{"lowercase without strip", func(c map[string]any) { c["normalizer"].(map[string]any)["strip_accents"] = false },
			Options{CleanText: true, HandleChineseChars: true, Lowercase: true}},
		{"max chars", func(c map[string]any) { c["model"].(map[string]any)["max_input_chars_per_word"] = 7 },
			func() Options { o := BertOptions(false); o.MaxInputCharsPerWord = 7; return o }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := LoadJSON(rewriteJSON(t, base, tc.edit))
			if err != nil {
				t.Fatal(err)
			}
			if tk.general != nil {
				t.Fatal("general path for a BERT tokenizer.json")
			}
			got := tk.Options()
			want := tc.want.withDefaults()
			if got.CleanText != want.CleanText || got.HandleChineseChars != want.HandleChineseChars ||
				got.StripAccents != want.StripAccents || got.Lowercase != want.Lowercase ||
				got.MaxInputCharsPerWord != want.MaxInputCharsPerWord || got.UnkToken != want.UnkToken ||
				got.ContinuingSubwordPrefix != want.ContinuingSubwordPrefix || len(got.SpecialTokens) != 5 {
				t.Errorf("options %+v, want %+v with 5 special tokens", got, want)
			}
			if tk.Vocab().SHA256() != v.SHA256() {
				t.Errorf("vocabulary hash differs from vocab.txt's")
			}
		})
	}
}

// TestLoadJSONGeneral checks the sugarme fallback for a tokenizer.json that is not BERT
// WordPiece (here: a WhitespaceSplit pre-tokenizer): plain ASCII text encodes as Hugging Face
// does, and sugarme's panic on "İstanbul" (its issue #77) becomes an error naming the input.
func TestLoadJSONGeneral(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	path := rewriteJSON(t, writeTokenizerJSON(t, v, BertOptions(false), true), func(c map[string]any) {
		c["pre_tokenizer"] = map[string]any{"type": "WhitespaceSplit"}
		c["normalizer"].(map[string]any)["strip_accents"] = true
	})
	tk, err := LoadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if tk.general == nil {
		t.Fatal("fast path for a WhitespaceSplit tokenizer.json")
	}
	lines := []line{{"plain[0]", "hello world"}, {"plain[1]", "the quick brown fox jumps over the lazy dog"}, {"plain[2]", "Unaffable UNDERSTANDING"}}
	ids, _ := hfEncode(t, path, lines)
	var e Encoding
	for i, l := range lines {
		err := tk.Encode(&e, l.text)
		if err != nil || !slices.Equal(e.IDs, ids[i]) {
			t.Errorf("%q: general path ids %v (err %v), Hugging Face %v", l.text, e.IDs, err, ids[i])
		}
	}
	// sugarme's BertNormalizer panics when it strips accents from "İstanbul" (its issue #77):
	// the panic must become Encode's error naming the input, and the tokenizer stays usable.
	tc := tk
	const crash = "İstanbul"
	err = tc.Encode(&e, crash)
	if err == nil || !strings.Contains(err.Error(), crash) || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("sugarme on %q: err %v, ids %v; want the panic as an error naming the input", crash, err, e.IDs)
	}
	t.Logf("sugarme on %q: %v", crash, err)
	err = tc.Encode(&e, lines[0].text)
	if err != nil || !slices.Equal(e.IDs, ids[0]) {
		t.Errorf("after a panic: ids %v, err %v", e.IDs, err)
	}
	if _, err := tc.EncodeBatch(context.Background(), []string{"hello", crash}, 2); err == nil || !strings.Contains(err.Error(), "text 1") {
		t.Errorf("EncodeBatch: err %v, want one naming text 1", err)
	}
}

func TestLoadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{bad, filepath.Join(dir, "missing.json")} {
		if _, err := LoadJSON(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadJSON(%s): err = %v, want one naming the file", p, err)
		}
	}
}

// TestLoadJSONMalformed loads the tokenizer.json fixtures in testdata/json. A malformed one
// must give an error naming the file and the field, with no panic and nothing logged by
// sugarme; a valid one must load. Hugging Face must agree on which files load, except that
// kiln refuses two tokens with one id.
func TestLoadJSONMalformed(t *testing.T) {
	tests := []struct {
		file string
		err  string // "" for a file that loads
		hfOK bool   // Hugging Face loads it
	}{
		{"bad-empty.json", "model: missing or not an object", false},
		{"bad-model-null.json", "model: missing or not an object", false},
		{"bad-not-object.json", "not a JSON object", false},
		{"bad-syntax.json", "line 4 column 19: invalid JSON", false},
		{"bad-bpe-no-merges.json", "model.merges: missing or not a list", false},
		{"bad-vocab-array.json", "model.vocab: missing or not an object", false},
		{"bad-vocab-fraction.json", `model.vocab: token "the" has id 1.5, not an integer`, false},
		{"bad-vocab-negative.json", `model.vocab: token "the" has id -1, not an integer`, false},
		{"bad-vocab-string-id.json", `model.vocab: token "the" has id "5", not an integer`, false},
		{"bad-vocab-duplicate-id.json", `model.vocab: tokens "cat" and "the" both have id 6`, true},
		{"bad-type-unknown.json", `model.type: "Bert" is not one of BPE, WordPiece, WordLevel, Unigram`, false},
		{"bad-type-missing.json", "model.type: missing, and the fields fit no model type", false},
		{"bad-wordpiece-no-unk-token.json", "model.unk_token: missing (a WordPiece model needs it)", false},
		{"bad-wordpiece-max-chars.json", "model.max_input_chars_per_word: 1.5 is not a non-negative integer", false},
		{"bad-merge-unknown-token.json", `model.merges[0]: "d" is not in model.vocab`, false},
		{"bad-merge-malformed.json", `model.merges[0]: "a b c" is not "a b"`, false},
		{"bad-unigram-pair.json", `model.vocab[1]: ["b"] is not a [token, score] pair`, false},
		{"bad-added-tokens.json", "added_tokens: a JSON object where []tokenizer.TokenConfig is expected", false},
		{"ok-bert.json", "", true},
		{"ok-bert-no-mask.json", "", true},
		{"ok-wordpiece-no-type.json", "", true},
		{"ok-bpe.json", "", true},
		{"ok-bpe-pair-merges.json", "", true},
		{"ok-bpe-no-type.json", "", true},
		{"ok-wordlevel.json", "", true},
	}
	var logged strings.Builder
	log.SetOutput(&logged) // sugarme logs through the standard logger
	t.Cleanup(func() { log.SetOutput(os.Stderr) })
	paths := make([]string, len(tests))
	for i, tc := range tests {
		paths[i] = filepath.Join("testdata", "json", tc.file)
		t.Run(tc.file, func(t *testing.T) {
			logged.Reset()
			tk, err := LoadJSON(paths[i])
			if logged.Len() > 0 {
				t.Errorf("logged %q", logged.String())
			}
			if tc.err == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if tk.Vocab().Size() == 0 {
					t.Errorf("empty vocabulary")
				}
				return
			}
			want := "tokenizer.json " + paths[i] + ": " + tc.err
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want one containing %q", err, want)
			}
		})
	}
	// Hugging Face loads the same files, and only those.
	out, err := nodeCommand(t, "hf_load.js", paths...).Output()
	if err != nil {
		t.Fatalf("hf_load.js: %v", err)
	}
	results := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(results) != len(tests) {
		t.Fatalf("hf_load.js printed %d lines for %d files", len(results), len(tests))
	}
	for i, tc := range tests {
		if hfOK := results[i] == "ok"; hfOK != tc.hfOK {
			t.Errorf("%s: Hugging Face: %s; want ok=%v", tc.file, results[i], tc.hfOK)
		}
	}
}
