package tokenize

import (
	"encoding/json"
	"fmt"
	"os"

	sugarme "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// LoadJSON reads a Hugging Face tokenizer.json, parsed with github.com/sugarme/tokenizer.
//
// A BERT WordPiece configuration (BertNormalizer, BertPreTokenizer, WordPiece model, added
// tokens that are matched as is) gets kiln's fast tokenizer, built from the file's vocabulary,
// normaliser settings and added tokens. Any other configuration runs through sugarme's general
// pipeline: slow, and only as faithful as sugarme is; a panic inside it becomes Encoding.Err.
// Truncation, padding and the post-processor are ignored either way: Encode adds no special
// tokens and never truncates.
func LoadJSON(path string) (*Tokenizer, error) {
	cfg, err := sugarme.ConfigFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	}
	if cfg == nil {
		return nil, fmt.Errorf("load tokenizer %s: empty configuration", path)
	}
	if o, tokens, ok, err := bertConfig(cfg); err != nil {
		return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
	} else if ok {
		v, err := newVocab(tokens)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
		}
		t, err := New(v, o)
		if err != nil {
			return nil, fmt.Errorf("load tokenizer %s: %w", path, err)
		}
		return t, nil
	}
	t, err := loadGeneral(path)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer %s (general pipeline): %w", path, err)
	}
	return t, nil
}

// bertConfig recognises a BERT WordPiece configuration and returns kiln options and the
// vocabulary by id. ok is false for any other configuration.
func bertConfig(cfg *sugarme.Config) (o Options, tokens []string, ok bool, err error) {
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

// generalPipeline is sugarme/tokenizer's pipeline, for tokenizer.json files that are not BERT
// WordPiece.
type generalPipeline struct {
	tk *sugarme.Tokenizer
}

func loadGeneral(path string) (t *Tokenizer, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("sugarme/tokenizer panicked: %v", p)
		}
	}()
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	tk, err := pretrained.FromFile(path)
	if err != nil {
		return nil, err
	}
	tk.WithTruncation(nil)
	tk.WithPadding(nil)
	vocab := tk.GetVocab(true)
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
	t = &Tokenizer{vocab: v, opts: o, special: v.special(), unk: -1, general: &generalPipeline{tk: tk}}
	if id, ok := v.ID(o.UnkToken); ok {
		t.unk = id
	}
	return t, nil
}

// encode runs sugarme's pipeline on text; a failure or a panic becomes e.Err, naming the text.
func (g *generalPipeline) encode(e *Encoding, text string) {
	defer func() {
		if p := recover(); p != nil {
			e.IDs, e.Words = e.IDs[:0], e.Words[:0]
			e.Err = fmt.Errorf("tokenize %.60q: sugarme/tokenizer panicked: %v", text, p)
		}
	}()
	for _, r := range text {
		if r == 0xFFFD {
			e.Invalid++ // approximate: counts U+FFFD already in the text too
		}
	}
	enc, err := g.tk.EncodeSingle(text, false)
	if err != nil {
		e.Err = fmt.Errorf("tokenize %.60q: %w", text, err)
		return
	}
	for i, id := range enc.Ids {
		e.IDs = append(e.IDs, int32(id))
		w := int32(-1)
		if i < len(enc.Words) {
			w = int32(enc.Words[i])
		}
		e.Words = append(e.Words, w)
	}
}
