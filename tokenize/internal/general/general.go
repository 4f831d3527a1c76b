// Package general runs the tokenizer.json files that are not BERT WordPiece (BPE, Unigram,
// WordLevel, or WordPiece with other normalisers or pre-tokenizers) through
// github.com/sugarme/tokenizer's pipeline: slow, and only as faithful as sugarme is. It is
// the only package of kiln that imports sugarme; tokenize reaches it through a small
// interface, and turns its panics into errors here.
package general

import (
	"bytes"
	"encoding/json"
	"fmt"

	sugarme "github.com/sugarme/tokenizer"
	"github.com/sugarme/tokenizer/pretrained"
)

// Config is a tokenizer.json as sugarme decodes it (tokenize checks its structure first).
type Config = sugarme.Config

// Pipeline is sugarme's pipeline for one tokenizer.json. It is safe for concurrent use.
type Pipeline struct {
	tk *sugarme.Tokenizer
}

// Load builds sugarme's pipeline from cfg, with truncation and padding off, and returns it
// with its vocabulary (token -> id). A panic inside sugarme is returned as an error.
func Load(cfg *Config) (p *Pipeline, vocab map[string]int, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, vocab, err = nil, nil, fmt.Errorf("sugarme/tokenizer panicked: %v", r)
		}
	}()
	data, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	tk, err := pretrained.FromReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	tk.WithTruncation(nil)
	tk.WithPadding(nil)
	return &Pipeline{tk: tk}, tk.GetVocab(true), nil
}

// Encode appends to ids the ids of text, without special tokens, and to words the index of
// each one's word (-1 where sugarme gives none). On an error, or a panic inside sugarme, it
// returns ids and words as they were given and an error naming the text.
func (p *Pipeline) Encode(text string, ids, words []int32) (outIDs, outWords []int32, err error) {
	n0, w0 := len(ids), len(words)
	defer func() {
		if r := recover(); r != nil {
			outIDs, outWords = ids[:n0], words[:w0]
			err = fmt.Errorf("tokenize %.60q: sugarme/tokenizer panicked: %v", text, r)
		}
	}()
	enc, err := p.tk.EncodeSingle(text, false)
	if err != nil {
		return ids, words, fmt.Errorf("tokenize %.60q: %w", text, err)
	}
	for i, id := range enc.Ids {
		ids = append(ids, int32(id))
		w := int32(-1)
		if i < len(enc.Words) {
			w = int32(enc.Words[i])
		}
		words = append(words, w)
	}
	return ids, words, nil
}
