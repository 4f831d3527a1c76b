package tokenize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/internal/atomicfile"
)

// The files Hugging Face transformers' save_pretrained writes for a BertTokenizerFast, so that
// AutoTokenizer.from_pretrained(dir) and pipeline("fill-mask", model=dir) find the tokenizer
// of a kiln vocabulary or checkpoint.
const (
	VocabFile             = "vocab.txt"
	TokenizerJSONFile     = "tokenizer.json"
	TokenizerConfigFile   = "tokenizer_config.json"
	SpecialTokensMapFile  = "special_tokens_map.json"
	bertTokenizerClass    = "BertTokenizer" // transformers writes the class name without "Fast"
	hfTokenizerJSONFormat = "1.0"
)

// bertSpecialRoles are the special tokens of a BERT tokenizer, by the name transformers gives
// their role, in the order BertTokenizerFast lists them.
var bertSpecialRoles = []struct{ role, token string }{
	{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"}, {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"},
}

// WriteVocab writes the vocabulary as a vocab.txt: every token followed by "\n", in id
// order (the bytes Vocab.SHA256 hashes).
func WriteVocab(path string, v *Vocab) error {
	var b bytes.Buffer
	for _, tok := range v.tokens {
		b.WriteString(tok)
		b.WriteByte('\n')
	}
	return atomicfile.WriteBytes(path, b.Bytes())
}

// TokenizerJSON returns a Hugging Face tokenizer.json for the vocabulary and the normaliser
// settings of o: the whole pipeline of a BertTokenizerFast (BertNormalizer, BertPreTokenizer,
// the WordPiece model, the TemplateProcessing post-processor "[CLS] $A [SEP]" and
// "[CLS] $A [SEP] $B:1 [SEP]:1" when the vocabulary has [CLS] and [SEP], the WordPiece
// decoder), with those of [PAD], [UNK], [CLS], [SEP], [MASK] that the vocabulary has as
// special added tokens. Hugging Face's Tokenizer.fromFile and kiln's LoadJSON both read it
// and give the ids kiln gives with the vocabulary and o.
func TokenizerJSON(v *Vocab, o Options) ([]byte, error) {
	o = o.withDefaults()
	if _, ok := v.ID(o.UnkToken); !ok {
		return nil, fmt.Errorf("tokenizer.json: the unknown token %q is not in the vocabulary", o.UnkToken)
	}
	for id, tok := range v.tokens {
		if got, _ := v.ID(tok); int(got) != id {
			return nil, fmt.Errorf("tokenizer.json: token %q is listed twice in the vocabulary (ids %d and %d): a tokenizer.json holds one id per token", tok, id, got)
		}
	}
	type added struct {
		ID         int32  `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		Lstrip     bool   `json:"lstrip"`
		Rstrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	addedTokens := []added{}
	for _, s := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := v.ID(s); ok {
			addedTokens = append(addedTokens, added{ID: id, Content: s, Special: true})
		}
	}
	var strip any // null: follows lowercase, as BertTokenizerFast saves it
	if o.StripAccents != o.Lowercase {
		strip = o.StripAccents
	}
	var post any
	cls, okC := v.ID("[CLS]")
	sep, okS := v.ID("[SEP]")
	if okC && okS {
		special := func(id string, typ int) any {
			return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typ}}
		}
		seq := func(id string, typ int) any {
			return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
		}
		post = map[string]any{
			"type":   "TemplateProcessing",
			"single": []any{special("[CLS]", 0), seq("A", 0), special("[SEP]", 0)},
			"pair":   []any{special("[CLS]", 0), seq("A", 0), special("[SEP]", 0), seq("B", 1), special("[SEP]", 1)},
			"special_tokens": map[string]any{
				"[CLS]": map[string]any{"id": "[CLS]", "ids": []int32{cls}, "tokens": []string{"[CLS]"}},
				"[SEP]": map[string]any{"id": "[SEP]", "ids": []int32{sep}, "tokens": []string{"[SEP]"}},
			},
		}
	}
	// model.vocab in id order, as Hugging Face writes it (a Go map would be sorted by key).
	var vocab bytes.Buffer
	vocab.WriteByte('{')
	for id, tok := range v.tokens {
		if id > 0 {
			vocab.WriteByte(',')
		}
		k, err := json.Marshal(tok)
		if err != nil {
			return nil, fmt.Errorf("tokenizer.json: token %d: %w", id, err)
		}
		fmt.Fprintf(&vocab, "%s:%d", k, id)
	}
	vocab.WriteByte('}')
	model := struct {
		Type                    string          `json:"type"`
		UnkToken                string          `json:"unk_token"`
		ContinuingSubwordPrefix string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int             `json:"max_input_chars_per_word"`
		Vocab                   json.RawMessage `json:"vocab"`
	}{"WordPiece", o.UnkToken, o.ContinuingSubwordPrefix, o.MaxInputCharsPerWord, vocab.Bytes()}
	doc := struct {
		Version       string  `json:"version"`
		Truncation    any     `json:"truncation"`
		Padding       any     `json:"padding"`
		AddedTokens   []added `json:"added_tokens"`
		Normalizer    any     `json:"normalizer"`
		PreTokenizer  any     `json:"pre_tokenizer"`
		PostProcessor any     `json:"post_processor"`
		Decoder       any     `json:"decoder"`
		Model         any     `json:"model"`
	}{
		Version:     hfTokenizerJSONFormat,
		AddedTokens: addedTokens,
		Normalizer: map[string]any{"type": "BertNormalizer", "clean_text": o.CleanText,
			"handle_chinese_chars": o.HandleChineseChars, "strip_accents": strip, "lowercase": o.Lowercase},
		PreTokenizer:  map[string]any{"type": "BertPreTokenizer"},
		PostProcessor: post,
		Decoder:       map[string]any{"type": "WordPiece", "prefix": o.ContinuingSubwordPrefix, "cleanup": true},
		Model:         model,
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	return out.Bytes(), nil
}

// WriteTokenizerJSON writes TokenizerJSON(v, o) to path.
func WriteTokenizerJSON(path string, v *Vocab, o Options) error {
	data, err := TokenizerJSON(v, o)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, data)
}

// WriteHF writes the tokenizer's files into dir, as WriteHF does for its vocabulary and
// options. A tokenizer read from a tokenizer.json that is not BERT WordPiece (LoadJSON's
// general pipeline) is refused.
func (t *Tokenizer) WriteHF(dir string, maxLength int) error {
	if err := t.CanWriteHF(); err != nil {
		return fmt.Errorf("tokenizer files for %s: %w", dir, err)
	}
	return WriteHF(dir, t.vocab, t.opts, maxLength)
}

// CanWriteHF reports why WriteHF would refuse the tokenizer: one read from a tokenizer.json
// that is not BERT WordPiece, or a vocabulary without the five BERT special tokens.
func (t *Tokenizer) CanWriteHF() error {
	if t.general != nil {
		return fmt.Errorf("%s is not a BERT WordPiece tokenizer", t.vocab.source)
	}
	_, err := t.vocab.RequireSpecial()
	return err
}

// WriteHF writes the tokenizer files that transformers' save_pretrained writes for a
// BertTokenizerFast into dir: vocab.txt, tokenizer.json, tokenizer_config.json (do_lower_case,
// strip_accents, tokenize_chinese_chars, model_max_length, the special tokens,
// tokenizer_class) and special_tokens_map.json. maxLength is the model's
// max_position_embeddings. The vocabulary must have all five BERT special tokens.
func WriteHF(dir string, v *Vocab, o Options, maxLength int) error {
	o = o.withDefaults()
	if _, err := v.RequireSpecial(); err != nil {
		return fmt.Errorf("tokenizer files for %s: %w", dir, err)
	}
	if maxLength < 1 {
		return fmt.Errorf("tokenizer files for %s: model_max_length %d, want at least 1", dir, maxLength)
	}
	if err := WriteVocab(filepath.Join(dir, VocabFile), v); err != nil {
		return err
	}
	if err := WriteTokenizerJSON(filepath.Join(dir, TokenizerJSONFile), v, o); err != nil {
		return err
	}
	var strip any // null: follows do_lower_case
	if o.StripAccents != o.Lowercase {
		strip = o.StripAccents
	}
	cfg := map[string]any{
		"clean_up_tokenization_spaces": true,
		"do_lower_case":                o.Lowercase,
		"strip_accents":                strip,
		"tokenize_chinese_chars":       o.HandleChineseChars,
		"model_max_length":             maxLength,
		"tokenizer_class":              bertTokenizerClass,
	}
	roles := map[string]any{}
	for _, r := range bertSpecialRoles {
		cfg[r.role] = r.token
		roles[r.role] = r.token
	}
	if err := writeJSONFile(filepath.Join(dir, TokenizerConfigFile), cfg); err != nil {
		return err
	}
	return writeJSONFile(filepath.Join(dir, SpecialTokensMapFile), roles)
}

// writeJSONFile writes v as indented JSON (keys sorted, as Python's json.dumps(sort_keys=True)).
func writeJSONFile(path string, v any) error {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, out.Bytes())
}

// NewVocab returns a vocabulary of tokens, indexed by id (as a trainer makes them).
func NewVocab(tokens []string) (*Vocab, error) {
	for i, tok := range tokens {
		if !utf8.ValidString(tok) {
			return nil, fmt.Errorf("vocabulary: token %d is not valid UTF-8", i)
		}
		if strings.ContainsAny(tok, "\n\r") {
			return nil, fmt.Errorf("vocabulary: token %d (%q) holds a line break, which vocab.txt cannot", i, tok)
		}
	}
	return newVocab(tokens)
}
