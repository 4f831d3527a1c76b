package tokenize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/tokenize/sentence"
)

// The tokenizer files kiln writes beside a vocabulary or into a checkpoint: Hugging Face
// tokenizers (npm 0.23.2, testdata/hf_pairs.js, run in the test) loads the tokenizer.json
// with Tokenizer.fromFile and must give, for sentence pairs of the bundled corpora, the ids
// kiln gives, laid out as kiln's pairing lays out a row ([CLS] A [SEP] B [SEP], type ids 0
// then 1), with the same special tokens.

const bundledVocab = "../cmd/kiln/sample/vocab.txt"

// samplePairs returns pairs of consecutive sentences from the bundled sample corpus, with a
// few edge cases (special tokens written in the text, accents, CJK, an empty second part is
// not allowed by HF's pair input so every part is non-empty).
func samplePairs(t *testing.T, limit int) [][2]string {
	t.Helper()
	files, err := filepath.Glob("../cmd/kiln/sample/corpus/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bundled sample corpus: %v", err)
	}
	sp, err := sentence.New()
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{
		{"Café déjà vu, naïve résumé.", "東京 and 北京 [MASK] are [SEP] cities."},
		{"[CLS] literal specials [PAD]", "ÅNGSTRÖM İstanbul ǅ"},
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sents []string
		for _, s := range sp.Split(nil, string(data)) {
			if s = strings.TrimSpace(strings.ReplaceAll(s, "\t", " ")); s != "" {
				sents = append(sents, strings.Join(strings.Fields(s), " "))
			}
		}
		for i := 0; i+1 < len(sents) && len(pairs) < limit; i += 7 {
			pairs = append(pairs, [2]string{sents[i], sents[i+1]})
		}
	}
	return pairs
}

// hfPairs encodes pairs with Hugging Face from a tokenizer.json.
func hfPairs(t *testing.T, jsonPath string, pairs [][2]string) (ids [][]int32, types [][]int8, special [][]int8) {
	t.Helper()
	var in bytes.Buffer
	for _, p := range pairs {
		fmt.Fprintf(&in, "%s\t%s\n", p[0], p[1])
	}
	path := filepath.Join(t.TempDir(), "pairs.tsv")
	if err := os.WriteFile(path, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := nodeCommand(t, "hf_pairs.js", jsonPath, path).Output()
	if err != nil {
		t.Fatalf("hf_pairs.js: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(pairs) {
		t.Fatalf("hf_pairs.js: %d lines for %d pairs", len(lines), len(pairs))
	}
	nums := func(s string) []int64 {
		var v []int64
		for _, f := range strings.Fields(s) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				t.Fatalf("hf_pairs.js output %q: %v", s, err)
			}
			v = append(v, n)
		}
		return v
	}
	for _, l := range lines {
		parts := strings.Split(l, "\t")
		if len(parts) != 3 {
			t.Fatalf("hf_pairs.js: line %q", l)
		}
		var a []int32
		var b, c []int8
		for _, n := range nums(parts[0]) {
			a = append(a, int32(n))
		}
		for _, n := range nums(parts[1]) {
			b = append(b, int8(n))
		}
		for _, n := range nums(parts[2]) {
			c = append(c, int8(n))
		}
		ids, types, special = append(ids, a), append(types, b), append(special, c)
	}
	return ids, types, special
}

// kilnPair lays out a pair as kiln's pairing does: [CLS] A [SEP] B [SEP], type ids 0 for
// [CLS], A and the first [SEP], 1 for B and the last [SEP].
func kilnPair(tok *Tokenizer, a, b string) ([]int32, []int8, []int8) {
	var ea, eb Encoding
	tok.Encode(&ea, a)
	tok.Encode(&eb, b)
	sp := tok.Special()
	ids := slices.Concat([]int32{sp.CLS}, ea.IDs, []int32{sp.SEP}, eb.IDs, []int32{sp.SEP})
	types := make([]int8, len(ids))
	special := make([]int8, len(ids))
	for i := len(ea.IDs) + 2; i < len(ids); i++ {
		types[i] = 1
	}
	special[0], special[len(ea.IDs)+1], special[len(ids)-1] = 1, 1, 1
	return ids, types, special
}

func TestTokenizerJSONPairsMatchHuggingFace(t *testing.T) {
	pairs := samplePairs(t, 1500)
	for _, cased := range []bool{false, true} {
		t.Run(fmt.Sprintf("cased=%v", cased), func(t *testing.T) {
			tok, err := Load(bundledVocab, cased)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := WriteTokenizerJSON(path, tok.Vocab(), tok.Options()); err != nil {
				t.Fatal(err)
			}
			// kiln reads it back as the same fast BERT tokenizer.
			back, err := LoadJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			bo, o := back.Options(), tok.Options()
			if slices.Equal(bo.SpecialTokens, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
				bo.SpecialTokens = nil // the default: those of the five the vocabulary has
			}
			if back.general != nil || !reflect.DeepEqual(bo, o) || back.Vocab().SHA256() != tok.Vocab().SHA256() {
				t.Fatalf("LoadJSON of the written file: options %+v, want %+v (vocab sha256 %s, want %s)",
					back.Options(), tok.Options(), back.Vocab().SHA256(), tok.Vocab().SHA256())
			}
			ids, types, special := hfPairs(t, path, pairs)
			unk := 0
			for i, p := range pairs {
				wi, wt, ws := kilnPair(tok, p[0], p[1])
				if !slices.Equal(ids[i], wi) || !slices.Equal(types[i], wt) || !slices.Equal(special[i], ws) {
					t.Fatalf("pair %d %q / %q:\nHugging Face ids %v types %v special %v\nkiln         ids %v types %v special %v",
						i, p[0], p[1], ids[i], types[i], special[i], wi, wt, ws)
				}
				bi, _, _ := kilnPair(back, p[0], p[1])
				if !slices.Equal(bi, wi) {
					t.Fatalf("pair %d: kiln's LoadJSON of the file gives %v, Load gives %v", i, bi, wi)
				}
				for _, id := range wi {
					if id == tok.Special().UNK {
						unk++
					}
				}
			}
			t.Logf("%d sentence pairs identical (ids, type ids, special tokens); %d [UNK]", len(pairs), unk)
		})
	}
}

// readJSON decodes a JSON object file into generic values, numbers as json.Number.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// The files are checked field by field against what transformers 4.31 reads:
// PreTrainedTokenizerBase.from_pretrained reads tokenizer_config.json (init kwargs, with
// tokenizer_class naming the class AutoTokenizer picks: "BertTokenizer", whose fast variant
// is BertTokenizerFast) and special_tokens_map.json (role -> token), and
// PreTrainedTokenizerFast builds its backend from tokenizer.json.
func TestWriteHFFields(t *testing.T) {
	for _, cased := range []bool{false, true} {
		t.Run(fmt.Sprintf("cased=%v", cased), func(t *testing.T) {
			tok, err := Load(bundledVocab, cased)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := tok.WriteHF(dir, 128); err != nil {
				t.Fatal(err)
			}
			// vocab.txt: the same bytes as the vocabulary's canonical form.
			data, err := os.ReadFile(filepath.Join(dir, VocabFile))
			if err != nil {
				t.Fatal(err)
			}
			if got := sha256Hex(data); got != tok.Vocab().SHA256() {
				t.Errorf("vocab.txt sha256 %s, want %s", got, tok.Vocab().SHA256())
			}
			// special_tokens_map.json: exactly BERT's five roles.
			stm := readJSON(t, filepath.Join(dir, SpecialTokensMapFile))
			wantMap := map[string]any{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}
			if !reflect.DeepEqual(stm, wantMap) {
				t.Errorf("special_tokens_map.json %v, want %v", stm, wantMap)
			}
			// tokenizer_config.json.
			tc := readJSON(t, filepath.Join(dir, TokenizerConfigFile))
			wantCfg := map[string]any{
				"clean_up_tokenization_spaces": true, "do_lower_case": !cased, "strip_accents": nil,
				"tokenize_chinese_chars": true, "model_max_length": json.Number("128"), "tokenizer_class": "BertTokenizer",
			}
			for k, v := range wantMap {
				wantCfg[k] = v
			}
			if !reflect.DeepEqual(tc, wantCfg) {
				t.Errorf("tokenizer_config.json\n got %v\nwant %v", tc, wantCfg)
			}
			// tokenizer.json, part by part.
			tj := readJSON(t, filepath.Join(dir, TokenizerJSONFile))
			check := func(what string, got, want any) {
				t.Helper()
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				if !bytes.Equal(g, w) {
					t.Errorf("tokenizer.json %s:\n got %s\nwant %s", what, g, w)
				}
			}
			check("version", tj["version"], "1.0")
			check("truncation", tj["truncation"], nil)
			check("padding", tj["padding"], nil)
			check("normalizer", tj["normalizer"], map[string]any{"type": "BertNormalizer", "clean_text": true,
				"handle_chinese_chars": true, "strip_accents": nil, "lowercase": !cased})
			check("pre_tokenizer", tj["pre_tokenizer"], map[string]any{"type": "BertPreTokenizer"})
			check("decoder", tj["decoder"], map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true})
			sp := tok.Special()
			var added []any
			for _, s := range []struct {
				tok string
				id  int32
			}{{"[PAD]", sp.PAD}, {"[UNK]", sp.UNK}, {"[CLS]", sp.CLS}, {"[SEP]", sp.SEP}, {"[MASK]", sp.MASK}} {
				added = append(added, map[string]any{"id": s.id, "content": s.tok, "single_word": false, "lstrip": false,
					"rstrip": false, "normalized": false, "special": true})
			}
			check("added_tokens", tj["added_tokens"], added)
			st := func(id string, typ int) any {
				return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typ}}
			}
			sq := func(id string, typ int) any {
				return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
			}
			check("post_processor", tj["post_processor"], map[string]any{
				"type":   "TemplateProcessing",
				"single": []any{st("[CLS]", 0), sq("A", 0), st("[SEP]", 0)},
				"pair":   []any{st("[CLS]", 0), sq("A", 0), st("[SEP]", 0), sq("B", 1), st("[SEP]", 1)},
				"special_tokens": map[string]any{
					"[CLS]": map[string]any{"id": "[CLS]", "ids": []int32{sp.CLS}, "tokens": []string{"[CLS]"}},
					"[SEP]": map[string]any{"id": "[SEP]", "ids": []int32{sp.SEP}, "tokens": []string{"[SEP]"}},
				},
			})
			model, _ := tj["model"].(map[string]any)
			check("model.type", model["type"], "WordPiece")
			check("model.unk_token", model["unk_token"], "[UNK]")
			check("model.continuing_subword_prefix", model["continuing_subword_prefix"], "##")
			check("model.max_input_chars_per_word", model["max_input_chars_per_word"], 100)
			vocab, _ := model["vocab"].(map[string]any)
			if len(vocab) != tok.Vocab().Size() {
				t.Fatalf("model.vocab has %d tokens, want %d", len(vocab), tok.Vocab().Size())
			}
			for id, s := range tok.Vocab().Tokens() {
				if vocab[s] != json.Number(strconv.Itoa(id)) {
					t.Fatalf("model.vocab[%q] = %v, want %d", s, vocab[s], id)
				}
			}
			// The vocabulary is written in id order, as Hugging Face writes it.
			raw, err := os.ReadFile(filepath.Join(dir, TokenizerJSONFile))
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Model struct {
					Vocab json.RawMessage `json:"vocab"`
				} `json:"model"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(doc.Model.Vocab))
			var order []string
			for i := 0; ; i++ {
				tk, err := dec.Token()
				if err != nil {
					break
				}
				if s, ok := tk.(string); ok && i%2 == 1 { // after "{": key, value, key, value...
					order = append(order, s)
				}
			}
			if !slices.Equal(order, tok.Vocab().Tokens()) {
				t.Errorf("model.vocab is not in id order (%d keys)", len(order))
			}
		})
	}
}

func TestWriteHFRefusals(t *testing.T) {
	v, err := NewVocab([]string{"[UNK]", "a", "##b"})
	if err != nil {
		t.Fatal(err)
	}
	err = WriteHF(t.TempDir(), v, BertOptions(false), 512)
	if err == nil || !strings.Contains(err.Error(), "[PAD], [CLS], [SEP], [MASK]") {
		t.Errorf("WriteHF of a vocabulary without BERT's special tokens: %v, want an error naming them", err)
	}
	if _, err := NewVocab([]string{"[UNK]", "a\nb"}); err == nil {
		t.Error("NewVocab took a token with a line break")
	}
	dup, err := NewVocab([]string{"[UNK]", "a", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TokenizerJSON(dup, BertOptions(false)); err == nil || !strings.Contains(err.Error(), `"a" is listed twice`) {
		t.Errorf("TokenizerJSON of a vocabulary with a repeated token: %v, want an error naming it", err)
	}
}
