// Package shardvocab finds the vocabulary a kiln shards directory was made with: the
// vocab.txt or tokenizer.json its manifest's config names, used only when its sha256 equals
// the manifest's kiln.vocab_sha256, and read like every file kiln is given (regular files
// only, size-capped; see internal/fileio). Check then holds the shards' vocab_size to that
// vocabulary's size, since the trainer sizes its model by vocab_size.
package shardvocab

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// ErrNotNamed is returned by Load when the manifest's config names no vocabulary.
var ErrNotNamed = errors.New("the manifest's config names no vocabulary")

// Named returns the vocabulary path the manifest's config records ("vocab", else
// "tokenizer"), or "".
func Named(m *shards.Manifest) string {
	var cfg struct {
		Vocab     string `json:"vocab"`
		Tokenizer string `json:"tokenizer"`
	}
	if json.Unmarshal(m.Config, &cfg) != nil {
		return ""
	}
	if cfg.Vocab != "" {
		return cfg.Vocab
	}
	return cfg.Tokenizer
}

// Load reads the vocabulary the manifest of dir names (ErrNotNamed when it names none) and
// returns it with its path. The vocabulary is refused unless its sha256 is the manifest's
// kiln.vocab_sha256 (when the manifest records one): a manifest's word is not enough to read
// a file elsewhere on the machine.
func Load(dir string, m *shards.Manifest) (*tokenize.Vocab, string, error) {
	p := Named(m)
	if p == "" {
		return nil, "", ErrNotNamed
	}
	v, err := LoadFile(p)
	if err != nil {
		return nil, p, fmt.Errorf("the vocabulary named in %s: %w", filepath.Join(dir, shards.ManifestName), err)
	}
	if err := Matches(dir, m, p, v); err != nil {
		return nil, p, err
	}
	return v, p, nil
}

// LoadFile reads a vocab.txt, or the vocabulary of a tokenizer.json (a path ending in .json).
func LoadFile(p string) (*tokenize.Vocab, error) {
	if filepath.Ext(p) == ".json" {
		tok, err := tokenize.LoadJSON(p)
		if err != nil {
			return nil, err
		}
		return tok.Vocab(), nil
	}
	return tokenize.LoadVocab(p)
}

// Matches checks that v, read from p, is the vocabulary the manifest of dir records (its
// sha256, where the manifest has one).
func Matches(dir string, m *shards.Manifest, p string, v *tokenize.Vocab) error {
	if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != v.SHA256() {
		return fmt.Errorf("%s is not the vocabulary the shards in %s were made with (its sha256 %s, %s records %s)",
			p, dir, v.SHA256(), shards.ManifestName, want)
	}
	return nil
}

// Check holds the manifest's vocab_size to the size of the vocabulary it names. It returns
// nil when the manifest names no vocabulary, and an error when the one named cannot be read,
// is not the one the shards were made with, or differs in size. Errors name the manifest.
func Check(dir string, m *shards.Manifest) error {
	v, p, err := Load(dir, m)
	if errors.Is(err, ErrNotNamed) {
		return nil
	}
	if err != nil {
		return err
	}
	return CheckSize(dir, m, p, v)
}

// CheckSize checks that the manifest's vocab_size is v's size.
func CheckSize(dir string, m *shards.Manifest, p string, v *tokenize.Vocab) error {
	if m.Info.VocabSize != v.Size() {
		return fmt.Errorf("%s: vocab_size %d, but the vocabulary the shards were made with (%s) has %d tokens",
			filepath.Join(dir, shards.ManifestName), m.Info.VocabSize, p, v.Size())
	}
	return nil
}
