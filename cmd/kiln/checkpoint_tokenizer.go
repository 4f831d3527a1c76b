package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// dataTokenizer returns the tokenizer the shards in dir were made with, for the tokenizer
// files of the checkpoints: their config's tokenizer.json, or vocabPath (--vocab) or else the
// vocab.txt their config names, with the config's casing. The vocabulary must be the one the
// manifest records (kiln.vocab_sha256).
func dataTokenizer(dir string, m *shards.Manifest, vocabPath string) (*tokenize.Tokenizer, error) {
	mpath := filepath.Join(dir, shards.ManifestName)
	var cfg pipeline.ExampleConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return nil, fmt.Errorf("%s: config: %w", mpath, err)
	}
	var tok *tokenize.Tokenizer
	var err error
	path := cmp.Or(vocabPath, cfg.Vocab)
	switch {
	case vocabPath == "" && cfg.Tokenizer != "":
		path = cfg.Tokenizer
		tok, err = tokenize.LoadJSON(path)
	case path == "":
		return nil, fmt.Errorf("%s: the config names no vocab.txt: give --vocab FILE", mpath)
	default:
		tok, err = tokenize.Load(path, cfg.Cased)
	}
	if err != nil {
		return nil, err
	}
	if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != tok.Vocab().SHA256() {
		return nil, fmt.Errorf("%s is not the vocabulary the shards in %s were made with (sha256 %s, want %s)", path, dir, tok.Vocab().SHA256(), want)
	}
	if err := tok.CanWriteHF(); err != nil {
		return nil, err
	}
	return tok, nil
}

// checkpointTokenizer returns tok when the checkpoints can hold its files, else nil after a
// warning naming why.
func checkpointTokenizer(name string, tok *tokenize.Tokenizer, stderr io.Writer) *tokenize.Tokenizer {
	if err := tok.CanWriteHF(); err != nil {
		fmt.Fprintf(stderr, "kiln %s: warning: the checkpoints will hold no tokenizer files (AutoTokenizer will not find one there): %v\n", name, err)
		return nil
	}
	return tok
}
