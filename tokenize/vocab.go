package tokenize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"unicode/utf8"
)

// Vocab maps word pieces to ids and back. It is immutable and safe for concurrent use.
type Vocab struct {
	tokens []string         // by id; "" for an id no token has
	ids    map[string]int32 // token -> id; a token listed twice keeps its last id, as in Hugging Face
	sha256 string
}

// LoadVocab reads a vocab.txt: one token per line, the id of a token is its line number minus
// one. Trailing whitespace (including "\r") is trimmed from each line, as Hugging Face does.
func LoadVocab(path string) (*Vocab, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load vocab: %w", err)
	}
	var tokens []string
	for line := 1; len(data) > 0; line++ {
		i := bytes.IndexByte(data, '\n')
		var tok []byte
		if i < 0 {
			tok, data = data, nil
		} else {
			tok, data = data[:i], data[i+1:]
		}
		tok = bytes.TrimRight(tok, " \t\r\v\f")
		if !utf8.Valid(tok) {
			return nil, fmt.Errorf("load vocab %s: line %d: token is not valid UTF-8", path, line)
		}
		tokens = append(tokens, string(tok))
	}
	v, err := newVocab(tokens)
	if err != nil {
		return nil, fmt.Errorf("load vocab %s: %w", path, err)
	}
	return v, nil
}

// newVocab builds a vocabulary from tokens indexed by id.
func newVocab(tokens []string) (*Vocab, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("vocabulary is empty")
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("vocabulary has %d tokens, more than int32 ids allow", len(tokens))
	}
	v := &Vocab{tokens: tokens, ids: make(map[string]int32, len(tokens))}
	h := sha256.New()
	for i, tok := range tokens {
		v.ids[tok] = int32(i)
		h.Write([]byte(tok))
		h.Write([]byte{'\n'})
	}
	v.sha256 = hex.EncodeToString(h.Sum(nil))
	return v, nil
}

// Size is the number of ids: one more than the largest id.
func (v *Vocab) Size() int { return len(v.tokens) }

// ID returns the id of a token.
func (v *Vocab) ID(token string) (int32, bool) {
	id, ok := v.ids[token]
	return id, ok
}

// Token returns the token of an id, or "" when the id is out of range.
func (v *Vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.tokens) {
		return ""
	}
	return v.tokens[id]
}

// Tokens returns every token, by id (a copy: the caller may keep or change it).
func (v *Vocab) Tokens() []string { return append([]string(nil), v.tokens...) }

// SHA256 returns the hex SHA-256 of the vocabulary's canonical vocab.txt form: every token
// followed by "\n", in id order. For a vocab.txt with "\n" line ends, a final newline and no
// trailing spaces, it equals the hash of the file's bytes; a tokenizer.json with the same
// vocabulary gives the same hash.
func (v *Vocab) SHA256() string { return v.sha256 }

// Special holds the ids of BERT's special tokens; -1 marks one the vocabulary lacks.
type Special struct{ PAD, UNK, CLS, SEP, MASK int32 }

// special looks BERT's special tokens up in v.
func (v *Vocab) special() Special {
	get := func(tok string) int32 {
		if id, ok := v.ids[tok]; ok {
			return id
		}
		return -1
	}
	return Special{PAD: get("[PAD]"), UNK: get("[UNK]"), CLS: get("[CLS]"), SEP: get("[SEP]"), MASK: get("[MASK]")}
}
