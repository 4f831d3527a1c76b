package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The vocab.txt fixtures in testdata/vocab: clean.txt has the five special tokens;
// dup-blank.txt repeats tokens, has blank lines and trailing whitespace of several kinds
// ("\r", U+00A0, U+3000, tab); bom.txt starts with a UTF-8 byte order mark; unk-only.txt has
// [UNK] and no other special token; no-unk.txt lacks [UNK] (and a final newline).
func vocabFixture(name string) string { return filepath.Join("testdata", "vocab", name) }

// TestRequireSpecial checks that a vocabulary without one of BERT's special tokens loads and
// tokenizes as long as it has [UNK], and that RequireSpecial names the file and the missing
// tokens (and a byte order mark that hides [PAD]).
func TestRequireSpecial(t *testing.T) {
	tests := []struct {
		file    string
		want    Special
		errs    []string // substrings of RequireSpecial's error; nil: no error
		loadErr string   // Load's error; "" when the tokenizer loads
	}{
		{"clean.txt", Special{PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4}, nil, ""},
		{"dup-blank.txt", Special{PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4}, nil, ""},
		{"bom.txt", Special{PAD: -1, UNK: 1, CLS: 2, SEP: 3, MASK: 4},
			[]string{"vocab " + vocabFixture("bom.txt") + ": no [PAD] token", "line 1 starts with a UTF-8 byte order mark"}, ""},
		{"unk-only.txt", Special{PAD: -1, UNK: 0, CLS: -1, SEP: -1, MASK: -1},
			[]string{"vocab " + vocabFixture("unk-only.txt") + ": no [PAD], [CLS], [SEP], [MASK] tokens"}, ""},
		{"no-unk.txt", Special{PAD: 0, UNK: -1, CLS: 1, SEP: 2, MASK: 3},
			[]string{"vocab " + vocabFixture("no-unk.txt") + ": no [UNK] token"}, `unknown token "[UNK]" is not in the vocabulary`},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := vocabFixture(tc.file)
			v, err := LoadVocab(path)
			if err != nil {
				t.Fatal(err)
			}
			sp, err := v.RequireSpecial()
			if sp != tc.want {
				t.Errorf("RequireSpecial ids %+v, want %+v", sp, tc.want)
			}
			if tc.errs == nil && err != nil {
				t.Errorf("RequireSpecial: %v", err)
			}
			for _, want := range tc.errs {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("RequireSpecial: err = %v, want one containing %q", err, want)
				}
			}
			if tc.errs == nil || strings.Contains(tc.file, "bom") {
				// Only bom.txt's error may mention a byte order mark.
			} else if err != nil && strings.Contains(err.Error(), "byte order mark") {
				t.Errorf("RequireSpecial: err = %v mentions a byte order mark", err)
			}
			tk, err := Load(path, false)
			if tc.loadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.loadErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("Load: err = %v, want one naming %s and containing %q", err, path, tc.loadErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tk.Special() != tc.want {
				t.Errorf("Tokenizer.Special %+v, want %+v", tk.Special(), tc.want)
			}
		})
	}
	// A tokenizer.json names the file and model.vocab.
	path := filepath.Join("testdata", "json", "ok-bert-no-mask.json")
	tk, err := LoadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	want := "tokenizer.json " + path + ": model.vocab: no [MASK] token"
	if _, err := tk.Vocab().RequireSpecial(); err == nil || err.Error() != want {
		t.Errorf("RequireSpecial: err = %v, want %q", err, want)
	}
}

// TestVocabWarnings checks the warnings for duplicate tokens, blank lines and a byte order
// mark in a vocab.txt.
func TestVocabWarnings(t *testing.T) {
	tests := []struct {
		file string
		want []string // one substring per warning, in order
	}{
		{"clean.txt", nil},
		{"unk-only.txt", nil},
		{"dup-blank.txt", []string{
			`: 2 duplicate tokens (line 14 repeats "the" of line 6, line 18 repeats "cat" of line 7)`,
			`: 3 blank lines (line 8, 15, 24)`,
		}},
		{"bom.txt", []string{`: line 1 starts with a UTF-8 byte order mark, which is kept as part of the token "\ufeff[PAD]"`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			v, err := LoadVocab(vocabFixture(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got := v.Warnings()
			if len(got) != len(tc.want) {
				t.Fatalf("Warnings = %q, want %d", got, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], "vocab "+vocabFixture(tc.file)+": ") || !strings.Contains(got[i], w) {
					t.Errorf("warning %d = %q, want one naming the file and containing %q", i, got[i], w)
				}
			}
		})
	}
}

// TestParityVocabFile checks that kiln reads a vocab.txt as Hugging Face's WordPiece.fromFile
// does (run by testdata/hf_vocab.js): the same token -> id map (a repeated token keeps its last
// line's id, a blank line is the token "", trailing Unicode whitespace is trimmed, a byte order
// mark stays in the first token) and the same ids and word ids for the lines of
// testdata/vocab/input.txt.
func TestParityVocabFile(t *testing.T) {
	for _, file := range []string{"clean.txt", "dup-blank.txt", "bom.txt", "unk-only.txt"} {
		t.Run(file, func(t *testing.T) {
			path := vocabFixture(file)
			input := vocabFixture("input.txt")
			out, err := nodeCommand(t, "hf_vocab.js", path, input).Output()
			if err != nil {
				t.Fatalf("hf_vocab.js: %v", err)
			}
			first, rest, _ := strings.Cut(string(out), "\n")
			var hf [][2]any
			if err := json.Unmarshal([]byte(first), &hf); err != nil {
				t.Fatalf("hf_vocab.js: %v", err)
			}
			v, err := LoadVocab(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(hf) != v.ids.n {
				t.Errorf("Hugging Face has %d distinct tokens, kiln %d", len(hf), v.ids.n)
			}
			for _, p := range hf {
				tok, _ := p[0].(string)
				id, _ := p[1].(float64)
				if got, ok := v.ID(tok); !ok || got != int32(id) {
					t.Errorf("ID(%q) = %d, %v; Hugging Face %v", tok, got, ok, id)
				}
			}
			o := BertOptions(false)
			o.EncodeSpecialTokens = true // a bare Hugging Face tokenizer has no added tokens
			tk, err := New(v, o)
			if err != nil {
				t.Fatal(err)
			}
			lines := readLines(t, input)
			ids, words := parseHF(t, "hf_vocab.js", rest, len(lines))
			compare(t, file, tk, lines, identity, ids, words)
		})
	}
}

// TestVocabSHA256Forms: the hash is that of the canonical form (each token and "\n") however
// the vocab.txt is written: as the canonical form itself (the file's hash), with "\r\n", with
// trailing spaces, without a final line end; and a file with invalid UTF-8 is refused naming
// its line.
func TestVocabSHA256Forms(t *testing.T) {
	tokens := []string{"[PAD]", "[UNK]", "é", "", "##ab", "\ufeffx"}
	canon := strings.Join(tokens, "\n") + "\n"
	sum := sha256.Sum256([]byte(canon))
	want := hex.EncodeToString(sum[:])
	dir := t.TempDir()
	for name, text := range map[string]string{
		"canonical": canon,
		"crlf":      strings.ReplaceAll(canon, "\n", "\r\n"),
		"spaces":    strings.ReplaceAll(canon, "\n", " \t\n"),
		"unended":   strings.TrimSuffix(canon, "\n"),
	} {
		p := filepath.Join(dir, name+".txt")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, load := range []func() (*Vocab, error){
			func() (*Vocab, error) { return LoadVocab(p) },
			func() (*Vocab, error) { return ParseVocab(p, []byte(text)) },
		} {
			v, err := load()
			if err != nil {
				t.Fatal(err)
			}
			if v.SHA256() != want {
				t.Errorf("%s: SHA256() = %s, want %s (the canonical form's)", name, v.SHA256(), want)
			}
			if got := v.Tokens(); strings.Join(got, "\x00") != strings.Join(tokens, "\x00") {
				t.Errorf("%s: tokens %q, want %q", name, got, tokens)
			}
		}
	}
	if _, err := ParseVocab("bad.txt", []byte("a\nb\n\xffc\nd\n")); err == nil || !strings.Contains(err.Error(), "bad.txt line 3: token is not valid UTF-8") {
		t.Errorf("invalid UTF-8 on line 3: %v", err)
	}
}
