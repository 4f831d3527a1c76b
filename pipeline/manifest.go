package pipeline

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/shards/shardvocab"
	"github.com/kiln-bert/kiln/tokenize"
)

// ManifestConfig returns the ExampleConfig that made the shards in dir, as their manifest m
// records it (Prep stores it there). Errors name the manifest.
func ManifestConfig(dir string, m *shards.Manifest) (ExampleConfig, error) {
	var cfg ExampleConfig
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		return cfg, fmt.Errorf("%s: config: %w", filepath.Join(dir, shards.ManifestName), err)
	}
	return cfg, nil
}

// ShardsMasker returns the masker that masks the rows of the shards in dir (stored without
// masks: dynamic masking) at read time: the masking settings their manifest m records, over
// the vocabulary they were made with (vocabPath when given, else the vocab.txt the config
// names), which must be the one m records (its sha256 and size).
func ShardsMasker(dir string, m *shards.Manifest, vocabPath string) (*masking.Masker, error) {
	mpath := filepath.Join(dir, shards.ManifestName)
	cfg, err := ManifestConfig(dir, m)
	if err != nil {
		return nil, err
	}
	path := cmp.Or(vocabPath, cfg.Vocab)
	if path == "" {
		return nil, fmt.Errorf("%s: the shards are not masked and their config names no vocab.txt: give its path (vocabPath)", mpath)
	}
	v, err := tokenize.LoadVocab(path)
	switch {
	case err != nil && vocabPath == "":
		return nil, fmt.Errorf("the vocabulary named in %s (the shards are not masked and need it): %w (if it has moved, give its path (vocabPath))", mpath, err)
	case err != nil:
		return nil, fmt.Errorf("vocabPath: %w", err)
	}
	if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != v.SHA256() {
		return nil, fmt.Errorf("%s is not the vocabulary the shards in %s were made with (sha256 %s, want %s)", path, dir, v.SHA256(), want)
	}
	if err := shardvocab.CheckSize(dir, m, path, v); err != nil {
		return nil, err
	}
	mv, err := MaskingVocab(v)
	if err != nil {
		return nil, err
	}
	return masking.New(cfg.MaskingConfig(), mv)
}

// ShardsTokenizer returns the tokenizer the shards in dir were made with, as their manifest
// m records it: the config's tokenizer.json, or vocabPath (when given) or else the vocab.txt
// the config names, with the config's casing. The vocabulary must be the one m records
// (kiln.vocab_sha256), and the tokenizer one whose Hugging Face files can be written (it goes
// into checkpoints).
func ShardsTokenizer(dir string, m *shards.Manifest, vocabPath string) (*tokenize.Tokenizer, error) {
	cfg, err := ManifestConfig(dir, m)
	if err != nil {
		return nil, err
	}
	var tok *tokenize.Tokenizer
	path := cmp.Or(vocabPath, cfg.Vocab)
	switch {
	case vocabPath == "" && cfg.Tokenizer != "":
		path = cfg.Tokenizer
		tok, err = tokenize.LoadJSON(path)
	case path == "":
		return nil, fmt.Errorf("%s: the config names no vocab.txt: give its path (vocabPath)", filepath.Join(dir, shards.ManifestName))
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
