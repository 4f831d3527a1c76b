package tokenize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// The parity tests compare kiln with the real Hugging Face tokenizers (npm package
// tokenizers 0.23.2, run by testdata/hf_encode.js in the same test run) on every line of the
// bundled sample's corpus (cmd/kiln/sample) and of testdata/edge.txt: ids and word ids must be identical.

// writeTokenizerJSON writes a BERT tokenizer.json for the vocabulary, as Hugging Face's
// BertTokenizerFast saves it; withSpecials adds the five special tokens as added tokens.
func writeTokenizerJSON(t *testing.T, v *Vocab, o Options, withSpecials bool) string {
	t.Helper()
	vocab := make(map[string]int, v.Size())
	for id, tok := range v.tokens {
		vocab[tok] = id
	}
	added := []map[string]any{}
	if withSpecials {
		for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
			id, _ := v.ID(s)
			added = append(added, map[string]any{"id": id, "content": s, "single_word": false,
				"lstrip": false, "rstrip": false, "normalized": false, "special": true})
		}
	}
	var strip any // null: follows lowercase
	if o.StripAccents != o.Lowercase {
		strip = o.StripAccents
	}
	cfg := map[string]any{
		"version": "1.0", "truncation": nil, "padding": nil, "added_tokens": added,
		"normalizer": map[string]any{"type": "BertNormalizer", "clean_text": o.CleanText,
			"handle_chinese_chars": o.HandleChineseChars, "strip_accents": strip, "lowercase": o.Lowercase},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": nil,
		"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
		"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
			"max_input_chars_per_word": 100, "vocab": vocab},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// line is one input line and where it came from.
type line struct {
	where string // file:line
	text  string
}

// readLines splits files into lines on "\n", as hf_encode.js does.
func readLines(t *testing.T, files ...string) []line {
	t.Helper()
	var lines []line
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range strings.Split(string(data), "\n") {
			lines = append(lines, line{fmt.Sprintf("%s:%d", filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), i+1), s})
		}
	}
	return lines
}

// corpusFiles returns the bundled sample's corpus files: 21 State of the Union addresses and 30
// chapters of Moby Dick (cmd/kiln/sample).
func corpusFiles(t *testing.T) []string {
	t.Helper()
	return testenv.CorpusFiles(t)
}

// hfEncode runs Hugging Face on the lines (which must be valid UTF-8) and returns ids and word ids.
func hfEncode(t *testing.T, jsonPath string, lines []line) (ids, words [][]int32) {
	t.Helper()
	var in bytes.Buffer
	for i, l := range lines {
		if !utf8.ValidString(l.text) || strings.Contains(l.text, "\n") {
			t.Fatalf("%s: not one valid UTF-8 line", l.where)
		}
		if i > 0 {
			in.WriteByte('\n')
		}
		in.WriteString(l.text)
	}
	inPath := filepath.Join(t.TempDir(), "input.txt")
	if err := os.WriteFile(inPath, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := nodeCommand(t, "hf_encode.js", jsonPath, inPath).Output()
	if err != nil {
		t.Fatalf("hf_encode.js: %v", err)
	}
	return parseHF(t, "hf_encode.js", string(out), len(lines))
}

// parseHF parses the output of a Hugging Face script: per input line, the ids, a tab and the
// word ids; n is the number of input lines.
func parseHF(t *testing.T, script, out string, n int) (ids, words [][]int32) {
	t.Helper()
	outLines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(outLines) != n {
		t.Fatalf("%s printed %d lines for %d inputs", script, len(outLines), n)
	}
	parse := func(s string) []int32 {
		f := strings.Fields(s)
		v := make([]int32, len(f))
		for i, x := range f {
			n, err := strconv.Atoi(x)
			if err != nil {
				t.Fatalf("%s: bad number %q", script, x)
			}
			v[i] = int32(n)
		}
		return v
	}
	for _, o := range outLines {
		a, b, ok := strings.Cut(o, "\t")
		if !ok {
			t.Fatalf("%s: bad line %q", script, o)
		}
		ids = append(ids, parse(a))
		words = append(words, parse(b))
	}
	return ids, words
}

// compare encodes every line with tk and reports the lines whose ids or word ids differ from
// Hugging Face's, with context.
func compare(t *testing.T, name string, tk *Tokenizer, lines []line, text func(line) string, ids, words [][]int32) {
	t.Helper()
	var e Encoding
	bad, tokens := 0, 0
	for i, l := range lines {
		tk.Encode(&e, text(l))
		tokens += len(e.IDs)
		if slices.Equal(e.IDs, ids[i]) && slices.Equal(e.Words, words[i]) {
			continue
		}
		bad++
		if bad > 5 {
			continue
		}
		j := 0
		for j < min(len(e.IDs), len(ids[i])) && e.IDs[j] == ids[i][j] {
			j++
		}
		lo, hi := max(j-3, 0), j+4
		win := func(v []int32) []int32 { return v[min(lo, len(v)):min(hi, len(v))] }
		t.Errorf("%s: %s: first difference at token %d: kiln %v %q, Hugging Face %v %q (word ids kiln %v, HF %v); line %.120q",
			name, l.where, j, win(e.IDs), tk.Tokens(nil, win(e.IDs)), win(ids[i]), tk.Tokens(nil, win(ids[i])),
			win(e.Words), win(words[i]), l.text)
	}
	t.Logf("%s: %d lines, %d tokens, %d mismatches", name, len(lines), tokens, bad)
	if bad > 0 {
		t.Errorf("%s: %d of %d lines differ from Hugging Face", name, bad, len(lines))
	}
}

func identity(l line) string { return l.text }

// TestParityHF checks kiln against Hugging Face on every line of the SOTU and Moby Dick corpora
// and testdata/edge.txt, uncased and cased, with the tokenizer built by New and by LoadJSON.
func TestParityHF(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, append(corpusFiles(t), filepath.Join("testdata", "edge.txt"))...)
	for _, cased := range []bool{false, true} {
		name := map[bool]string{false: "uncased", true: "cased"}[cased]
		t.Run(name, func(t *testing.T) {
			o := BertOptions(cased)
			jsonPath := writeTokenizerJSON(t, v, o, true)
			ids, words := hfEncode(t, jsonPath, lines)
			tk, err := New(v, o)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "New", tk, lines, identity, ids, words)
			tj, err := LoadJSON(jsonPath)
			if err != nil {
				t.Fatal(err)
			}
			if tj.general != nil {
				t.Fatalf("LoadJSON took the general path for a BERT tokenizer.json")
			}
			compare(t, "LoadJSON", tj, lines, identity, ids, words)
		})
	}
}

// TestParityEncodeSpecialTokens checks that with EncodeSpecialTokens, literal special tokens
// are tokenized as Hugging Face tokenizes text when it has no added tokens.
func TestParityEncodeSpecialTokens(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join("testdata", "edge.txt"))
	o := BertOptions(false)
	ids, words := hfEncode(t, writeTokenizerJSON(t, v, o, false), lines)
	o.EncodeSpecialTokens = true
	tk, err := New(v, o)
	if err != nil {
		t.Fatal(err)
	}
	compare(t, "EncodeSpecialTokens", tk, lines, identity, ids, words)
}

// TestParityInvalidUTF8 feeds kiln text with invalid UTF-8 and Hugging Face the same text with
// each invalid byte replaced by U+FFFD (node reads only UTF-8): ids must match and kiln must
// count the invalid bytes.
func TestParityInvalidUTF8(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	raw := []string{
		"caf\xe9 cr\xe8me",                // Latin-1
		"\xff\xfe\x00h\x00i",              // UTF-16 BOM and text
		"trunc\xe2\x82 ated euro",         // truncated sequence
		"over\xc0\xaflong slash",          // overlong encoding
		"surrogate \xed\xa0\x80 half",     // encoded surrogate
		"\x80\x81\x82 continuation bytes", // lone continuation bytes
		"ok\xf4\x90\x80\x80beyond",        // above U+10FFFF
		"mixed é\xe9 和\xe5\x92 end\xf0",   // valid and invalid together
	}
	var lines []line
	wantInvalid := make([]int, len(raw))
	for i, s := range raw {
		var b strings.Builder
		for j := 0; j < len(s); {
			r, size := utf8.DecodeRuneInString(s[j:])
			if r == utf8.RuneError && size == 1 {
				wantInvalid[i]++
			}
			b.WriteRune(r)
			j += size
		}
		lines = append(lines, line{fmt.Sprintf("raw[%d]", i), b.String()})
	}
	for _, cased := range []bool{false, true} {
		o := BertOptions(cased)
		ids, words := hfEncode(t, writeTokenizerJSON(t, v, o, true), lines)
		tk, err := New(v, o)
		if err != nil {
			t.Fatal(err)
		}
		rawOf := func(l line) string { i, _ := strconv.Atoi(strings.Trim(l.where, "raw[]")); return raw[i] }
		compare(t, fmt.Sprintf("invalid UTF-8 (cased %v)", cased), tk, lines, rawOf, ids, words)
		var e Encoding
		for i, s := range raw {
			tk.Encode(&e, s)
			if e.Invalid != wantInvalid[i] || wantInvalid[i] == 0 {
				t.Errorf("raw[%d] %q: Invalid = %d, want %d (> 0)", i, s, e.Invalid, wantInvalid[i])
			}
		}
	}
}

// TestParityOptions checks the other normaliser settings against Hugging Face on
// testdata/edge.txt: each BertNormalizer switch off in turn, and lowercase without accent
// stripping (where "İ" lowercases to "i" + U+0307).
func TestParityOptions(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join("testdata", "edge.txt"))
	variants := map[string]func(*Options){
		"lowercase without strip": func(o *Options) { o.StripAccents = false },
		"strip without lowercase": func(o *Options) { o.Lowercase = false },
		"no clean text":           func(o *Options) { o.CleanText = false },
		"no chinese chars":        func(o *Options) { o.HandleChineseChars = false },
		"cased, no clean text":    func(o *Options) { *o = BertOptions(true); o.CleanText = false },
	}
	for name, edit := range variants {
		t.Run(name, func(t *testing.T) {
			o := BertOptions(false)
			edit(&o)
			path := writeTokenizerJSON(t, v, o, true)
			ids, words := hfEncode(t, path, lines)
			tk, err := New(v, o)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "New", tk, lines, identity, ids, words)
			tj, err := LoadJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			compare(t, "LoadJSON", tj, lines, identity, ids, words)
		})
	}
}

// randomLines makes lines that mix vocabulary words, ASCII, whitespace of every kind,
// combining marks, special-token strings and code points drawn from the whole Unicode range,
// so that characters meet in combinations the corpora do not have.
func randomLines(v *Vocab, n int) []line {
	rng := rand.New(rand.NewPCG(1, 2))
	spaces := []string{" ", "\t", "\u00a0", "\u2009", "\u3000", "\u2028", "\u0085", "\v"}
	marks := []rune{0x301, 0x308, 0x323, 0x338, 0x1d165, 0x1d16d, 0x302e, 0x0f39, 0x0e3a}
	var lines []line
	for i := range n {
		var b strings.Builder
		for range 1 + rng.IntN(30) {
			switch rng.IntN(8) {
			case 0, 1:
				tok := v.Token(int32(rng.IntN(v.Size())))
				if rng.IntN(3) == 0 {
					tok = strings.ToUpper(tok)
				}
				b.WriteString(tok)
			case 2:
				b.WriteString(spaces[rng.IntN(len(spaces))])
			case 3:
				b.WriteRune(marks[rng.IntN(len(marks))])
			case 4:
				b.WriteByte(byte(0x20 + rng.IntN(0x5f)))
			case 5:
				b.WriteString([]string{"[CLS]", "[SEP]", "[MASK]", "[PAD", "[UNK]]"}[rng.IntN(5)])
			default:
				r := rune(rng.IntN(0x110000))
				if rng.IntN(2) == 0 {
					r = rune(0x80 + rng.IntN(0x3000)) // the denser part of the BMP
				}
				if r >= 0xD800 && r <= 0xDFFF || r == '\n' {
					r = 'x'
				}
				b.WriteRune(r)
			}
		}
		lines = append(lines, line{fmt.Sprintf("random[%d]", i), b.String()})
	}
	return lines
}

// TestParityRandom compares kiln with Hugging Face on 4,000 random lines (see randomLines),
// uncased and cased.
func TestParityRandom(t *testing.T) {
	v, err := LoadVocab(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := randomLines(v, 4000)
	for _, cased := range []bool{false, true} {
		o := BertOptions(cased)
		ids, words := hfEncode(t, writeTokenizerJSON(t, v, o, true), lines)
		tk, err := New(v, o)
		if err != nil {
			t.Fatal(err)
		}
		compare(t, fmt.Sprintf("random (cased %v)", cased), tk, lines, identity, ids, words)
	}
}
