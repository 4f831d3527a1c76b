package tokenize

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/tokenize/internal/general"
)

// LoadJSON reads a Hugging Face tokenizer.json, parsed with github.com/sugarme/tokenizer's
// configuration type.
//
// The file's structure is checked first, as Hugging Face checks it (the model present, of a
// known type, with the fields that type needs, a vocabulary of token -> integer id, merges for
// BPE), so that a malformed file gets an error naming the file and the field, not a panic or a
// log line from sugarme. Kiln is stricter than Hugging Face in one way: two tokens may not share
// an id.
//
// A BERT WordPiece configuration (BertNormalizer, BertPreTokenizer, WordPiece model, added
// tokens that are matched as is) gets kiln's fast tokenizer, built from the file's vocabulary,
// normaliser settings and added tokens. Any other configuration runs through sugarme's general
// pipeline (tokenize/internal/general, behind the encoder interface): slow, and only as
// faithful as sugarme is; a failure or a panic inside it becomes the error Encode returns.
// Truncation, padding and the post-processor are ignored either way: Encode adds no special
// tokens and never truncates.
func LoadJSON(path string) (*Tokenizer, error) {
	data, err := fileio.ReadRegular(path, fileio.MaxTokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json %w", err)
	}
	return ParseJSON(path, data)
}

// ParseJSON is LoadJSON of a tokenizer.json already read: data is its content, path its name
// (for errors; a URL such as gs://bucket/tokenizer.json is fine).
func ParseJSON(path string, data []byte) (*Tokenizer, error) {
	if len(data) > fileio.MaxTokenizerJSON {
		return nil, fmt.Errorf("tokenizer.json %s: %d bytes, more than the %d a tokenizer.json may have", path, len(data), fileio.MaxTokenizerJSON)
	}
	cfg, err := parseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json %s: %w", path, err)
	}
	if o, tokens, ok, err := bertConfig(cfg); err != nil {
		return nil, fmt.Errorf("tokenizer.json %s: %w", path, err)
	} else if ok {
		v, err := newVocab(tokens)
		if err != nil {
			return nil, fmt.Errorf("tokenizer.json %s: model.vocab: %w", path, err)
		}
		v.source = "tokenizer.json " + path + ": model.vocab"
		t, err := New(v, o)
		if err != nil {
			return nil, fmt.Errorf("tokenizer.json %s: %w", path, err)
		}
		return t, nil
	}
	t, err := loadGeneral(cfg)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json %s (general pipeline): %w", path, err)
	}
	t.vocab.source = "tokenizer.json " + path
	return t, nil
}

// modelTypes are the model types of Hugging Face tokenizers.
var modelTypes = []string{"BPE", "WordPiece", "WordLevel", "Unigram"}

// parseConfig checks the structure of a tokenizer.json and decodes it into sugarme's
// configuration. A model without a "type" gets the type Hugging Face would infer from its
// fields.
func parseConfig(data []byte) (*general.Config, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, jsonError(data, err)
	}
	if top == nil {
		return nil, fmt.Errorf("not a JSON object")
	}
	var m map[string]json.RawMessage
	if raw, ok := top["model"]; !ok || json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, fmt.Errorf("model: missing or not an object")
	}
	typ, err := modelType(m)
	if err != nil {
		return nil, err
	}
	if err := checkModel(typ, m); err != nil {
		return nil, err
	}
	var cfg general.Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, jsonError(data, err)
	}
	cfg.Model["type"] = typ
	return &cfg, nil
}

// modelType returns model.type, or when it is absent the type Hugging Face infers from the
// fields (it tries BPE, WordPiece, WordLevel and Unigram in turn).
func modelType(m map[string]json.RawMessage) (string, error) {
	has := func(key string) bool { raw, ok := m[key]; return ok && string(raw) != "null" }
	if raw, ok := m["type"]; ok {
		var typ string
		if err := json.Unmarshal(raw, &typ); err != nil {
			return "", fmt.Errorf("model.type: %s is not a string", compact(raw))
		}
		if !slices.Contains(modelTypes, typ) {
			return "", fmt.Errorf("model.type: %q is not one of %s", typ, strings.Join(modelTypes, ", "))
		}
		return typ, nil
	}
	switch {
	case has("vocab") && has("merges"):
		return "BPE", nil
	case has("vocab") && has("unk_token") && has("continuing_subword_prefix") && has("max_input_chars_per_word"):
		return "WordPiece", nil
	case has("vocab") && has("unk_token"):
		return "WordLevel", nil
	case has("vocab") && bytes.HasPrefix(bytes.TrimSpace(m["vocab"]), []byte("[")):
		return "Unigram", nil
	case !has("vocab"):
		return "", fmt.Errorf("model.vocab: missing")
	}
	return "", fmt.Errorf("model.type: missing, and the fields fit no model type (%s)", strings.Join(modelTypes, ", "))
}

// checkModel checks the fields of a model of type typ as Hugging Face reads them.
func checkModel(typ string, m map[string]json.RawMessage) error {
	// field checks model.key: required, or null when absent is allowed, and of kind k.
	field := func(key string, required bool, kind string) error {
		raw, ok := m[key]
		if !ok || string(raw) == "null" {
			if required {
				return fmt.Errorf("model.%s: missing (a %s model needs it)", key, typ)
			}
			return nil
		}
		var err error
		switch kind {
		case "string":
			var s string
			err = json.Unmarshal(raw, &s)
		case "bool":
			var b bool
			err = json.Unmarshal(raw, &b)
		case "number":
			var f float64
			err = json.Unmarshal(raw, &f)
		case "count":
			_, err = strconv.ParseUint(string(raw), 10, 63)
			kind = "non-negative integer"
		}
		if err != nil {
			return fmt.Errorf("model.%s: %s is not a %s", key, compact(raw), kind)
		}
		return nil
	}
	var checks []error
	switch typ {
	case "BPE":
		checks = append(checks, field("dropout", false, "number"), field("unk_token", false, "string"),
			field("continuing_subword_prefix", false, "string"), field("end_of_word_suffix", false, "string"),
			field("fuse_unk", false, "bool"), field("byte_fallback", false, "bool"), field("ignore_merges", false, "bool"))
	case "WordPiece":
		checks = append(checks, field("unk_token", true, "string"), field("continuing_subword_prefix", true, "string"),
			field("max_input_chars_per_word", true, "count"))
	case "WordLevel":
		checks = append(checks, field("unk_token", true, "string"))
	case "Unigram":
		checks = append(checks, field("unk_id", false, "count"), field("byte_fallback", false, "bool"))
		return errors.Join(append(checks, checkUnigramVocab(m))...)
	}
	if err := errors.Join(checks...); err != nil {
		return err
	}
	vocab, err := checkVocab(m["vocab"])
	if err != nil {
		return err
	}
	if typ == "BPE" {
		var prefix string
		_ = json.Unmarshal(m["continuing_subword_prefix"], &prefix) // checked above; null is ""
		return checkMerges(m["merges"], vocab, prefix)
	}
	return nil
}

// checkVocab checks model.vocab of a BPE, WordPiece or WordLevel model: an object of token ->
// id, each id a non-negative integer below 2^31-1, no two tokens with one id.
func checkVocab(raw json.RawMessage) (map[string]int64, error) {
	var m map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &m) != nil || m == nil {
		return nil, fmt.Errorf("model.vocab: missing or not an object")
	}
	tokens := slices.Sorted(maps.Keys(m))
	vocab := make(map[string]int64, len(m))
	byID := make(map[int64]string, len(m))
	for _, tok := range tokens {
		id, err := strconv.ParseInt(string(m[tok]), 10, 64)
		if err != nil || id < 0 || id >= 1<<31-1 {
			return nil, fmt.Errorf("model.vocab: token %q has id %s, not an integer from 0 to %d", tok, compact(m[tok]), 1<<31-2)
		}
		if other, ok := byID[id]; ok {
			return nil, fmt.Errorf("model.vocab: tokens %q and %q both have id %d (kiln needs one token per id)", other, tok, id)
		}
		byID[id] = tok
		vocab[tok] = id
	}
	return vocab, nil
}

// checkMerges checks model.merges of a BPE model: a list of "a b" strings or [a, b] pairs,
// where a, b and the merged token are in the vocabulary.
func checkMerges(raw json.RawMessage, vocab map[string]int64, prefix string) error {
	var merges []json.RawMessage
	if raw == nil || json.Unmarshal(raw, &merges) != nil || merges == nil {
		return fmt.Errorf("model.merges: missing or not a list (a BPE model needs it)")
	}
	for i, r := range merges {
		var pair []string
		var s string
		if json.Unmarshal(r, &s) == nil {
			pair = strings.Split(s, " ")
		} else if json.Unmarshal(r, &pair) != nil {
			pair = nil
		}
		if len(pair) != 2 {
			return fmt.Errorf("model.merges[%d]: %s is not \"a b\" or [\"a\", \"b\"]", i, compact(r))
		}
		for _, tok := range []string{pair[0], pair[1], pair[0] + strings.TrimPrefix(pair[1], prefix)} {
			if _, ok := vocab[tok]; !ok {
				return fmt.Errorf("model.merges[%d]: %q is not in model.vocab", i, tok)
			}
		}
	}
	return nil
}

// checkUnigramVocab checks model.vocab of a Unigram model: a list of [token, score] pairs,
// and model.unk_id, when set, an index into it.
func checkUnigramVocab(m map[string]json.RawMessage) error {
	var list []json.RawMessage
	if raw := m["vocab"]; raw == nil || json.Unmarshal(raw, &list) != nil || list == nil {
		return fmt.Errorf("model.vocab: missing or not a list (a Unigram model needs a list of [token, score])")
	}
	for i, r := range list {
		var pair []json.RawMessage
		var tok string
		var score float64
		if json.Unmarshal(r, &pair) != nil || len(pair) != 2 || json.Unmarshal(pair[0], &tok) != nil ||
			json.Unmarshal(pair[1], &score) != nil {
			return fmt.Errorf("model.vocab[%d]: %s is not a [token, score] pair", i, compact(r))
		}
	}
	if raw, ok := m["unk_id"]; ok && string(raw) != "null" {
		if id, _ := strconv.Atoi(string(raw)); id >= len(list) {
			return fmt.Errorf("model.unk_id: %d is not an index into model.vocab (%d tokens)", id, len(list))
		}
	}
	return nil
}

// jsonError describes a JSON decoding error, with the line and column of a syntax error.
func jsonError(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		line, col := lineCol(data, syn.Offset-1) // Offset is just past the bad byte
		return fmt.Errorf("line %d column %d: invalid JSON: %w", line, col, err)
	case errors.As(err, &typ) && typ.Field == "":
		return fmt.Errorf("not a JSON object")
	case errors.As(err, &typ):
		line, col := lineCol(data, typ.Offset)
		return fmt.Errorf("%s: a JSON %s where %s is expected (line %d column %d)", typ.Field, typ.Value, typ.Type, line, col)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// compact returns a JSON value on one line, cut to 60 bytes, for an error message.
func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	if b.Len() > 60 {
		cut := 57
		for cut > 0 && !utf8.RuneStart(b.Bytes()[cut]) {
			cut--
		}
		return string(b.Bytes()[:cut]) + "..."
	}
	return b.String()
}

// lineCol converts a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (line, col int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	col = 1 + len(before) - (bytes.LastIndexByte(before, '\n') + 1)
	return line, col
}

// bertConfig recognises a BERT WordPiece configuration and returns kiln options and the
// vocabulary by id. ok is false for any other configuration.
func bertConfig(cfg *general.Config) (o Options, tokens []string, ok bool, err error) {
	if str(cfg.Normalizer, "type") != "BertNormalizer" || str(cfg.PreTokenizer, "type") != "BertPreTokenizer" ||
		str(cfg.Model, "type") != "WordPiece" {
		return o, nil, false, nil
	}
	// The model.
	var m struct {
		UnkToken                string           `json:"unk_token"`
		ContinuingSubwordPrefix *string          `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    *int             `json:"max_input_chars_per_word"`
		Vocab                   map[string]int64 `json:"vocab"`
	}
	if err := remarshal(cfg.Model, &m); err != nil {
		return o, nil, false, fmt.Errorf("model: %w", err)
	}
	size := int64(0)
	for tok, id := range m.Vocab {
		if id < 0 || id >= 1<<31-1 {
			return o, nil, false, fmt.Errorf("model: token %q has id %d", tok, id)
		}
		size = max(size, id+1)
	}
	if size > 4*int64(len(m.Vocab))+1024 {
		return o, nil, false, fmt.Errorf("model: ids reach %d for %d tokens", size, len(m.Vocab))
	}
	tokens = make([]string, size)
	for tok, id := range m.Vocab {
		tokens[id] = tok
	}
	o.UnkToken = m.UnkToken
	if m.ContinuingSubwordPrefix != nil {
		o.ContinuingSubwordPrefix = *m.ContinuingSubwordPrefix
		if o.ContinuingSubwordPrefix == "" {
			return o, nil, false, nil // "" would mean "##" to New
		}
	}
	if m.MaxInputCharsPerWord != nil {
		o.MaxInputCharsPerWord = *m.MaxInputCharsPerWord
		if o.MaxInputCharsPerWord <= 0 {
			return o, nil, false, nil
		}
	}
	// The normaliser; strip_accents null follows lowercase.
	var n struct {
		CleanText          *bool `json:"clean_text"`
		HandleChineseChars *bool `json:"handle_chinese_chars"`
		StripAccents       *bool `json:"strip_accents"`
		Lowercase          *bool `json:"lowercase"`
	}
	if err := remarshal(cfg.Normalizer, &n); err != nil {
		return o, nil, false, fmt.Errorf("normalizer: %w", err)
	}
	or := func(b *bool, def bool) bool {
		if b == nil {
			return def
		}
		return *b
	}
	o.CleanText = or(n.CleanText, true)
	o.HandleChineseChars = or(n.HandleChineseChars, true)
	o.Lowercase = or(n.Lowercase, true)
	o.StripAccents = or(n.StripAccents, o.Lowercase)
	// Added tokens: the fast path matches them in the raw text, which is what Hugging Face
	// does for tokens with normalized=false and no stripping or single-word rule.
	o.SpecialTokens = []string{}
	for _, a := range cfg.AddedTokens {
		if a.Normalized || a.SingleWord || a.Lstrip || a.Rstrip || a.Content == "" ||
			a.Id < 0 || a.Id >= int64(len(tokens)) || tokens[a.Id] != a.Content {
			return o, nil, false, nil
		}
		o.SpecialTokens = append(o.SpecialTokens, a.Content)
	}
	return o, tokens, true, nil
}

// str returns m[key] when it is a string.
func str(m map[string]interface{}, key string) string {
	s, _ := m[key].(string)
	return s
}

// remarshal converts a generic JSON map into a typed struct.
func remarshal(from map[string]interface{}, to any) error {
	b, err := json.Marshal(from)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, to)
}

// loadGeneral builds sugarme's pipeline (package general) from a configuration parseConfig
// checked.
func loadGeneral(cfg *general.Config) (*Tokenizer, error) {
	p, vocab, err := general.Load(cfg)
	if err != nil {
		return nil, err
	}
	size := 0
	for _, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("negative id %d in vocabulary", id)
		}
		size = max(size, id+1)
	}
	if size > 4*len(vocab)+1024 {
		return nil, fmt.Errorf("ids reach %d for %d tokens", size, len(vocab))
	}
	tokens := make([]string, size)
	for tok, id := range vocab {
		tokens[id] = tok
	}
	v, err := newVocab(tokens)
	if err != nil {
		return nil, err
	}
	o := Options{SpecialTokens: []string{}}.withDefaults()
	t := &Tokenizer{vocab: v, opts: o, special: v.special(), unk: -1, general: p}
	if id, ok := v.ID(o.UnkToken); ok {
		t.unk = id
	}
	return t, nil
}

// encoder is a tokenizer pipeline other than kiln's own: general.Pipeline, for the
// tokenizer.json files that are not BERT WordPiece.
type encoder interface {
	// Encode appends the ids of text and the index of each one's word; an error names the text.
	Encode(text string, ids, words []int32) ([]int32, []int32, error)
}

// encodeGeneral runs t's general pipeline on text into e.
func (t *Tokenizer) encodeGeneral(e *Encoding, text string) error {
	for _, r := range text {
		if r == 0xFFFD {
			e.Invalid++ // approximate: counts U+FFFD already in the text too
		}
	}
	var err error
	e.IDs, e.Words, err = t.general.Encode(text, e.IDs, e.Words)
	return err
}
