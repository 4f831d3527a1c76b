package tokenize

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/internal/special"
)

// Vocab maps word pieces to ids and back. It is immutable and safe for concurrent use.
type Vocab struct {
	tokens []string   // by id; "" for an id no token has
	ids    vocabIndex // token -> id; a token listed twice keeps its last id, as in Hugging Face
	sha256 string

	// source names where the vocabulary came from, for errors: "vocab FILE",
	// "tokenizer.json FILE: model.vocab" or "vocabulary".
	source string
	// warnings are the suspicious lines of a vocab.txt (see Warnings).
	warnings []string
	// bom is set when line 1 of a vocab.txt starts with a UTF-8 byte order mark.
	bom bool
}

// byteOrderMark is U+FEFF in UTF-8. Hugging Face keeps it as part of the first token.
const byteOrderMark = "\ufeff"

// LoadVocab reads a vocab.txt: one token per line, the id of a token is its line number minus
// one. Trailing whitespace (Unicode White_Space, including "\r") is trimmed from each line, as
// Hugging Face's WordPiece.read_file does; nothing else is changed: a UTF-8 byte order mark
// stays part of the first token, a blank line is the token "", and a token listed twice keeps
// the id of its last line. Warnings reports such lines.
func LoadVocab(path string) (*Vocab, error) {
	data, err := fileio.ReadRegular(path, fileio.MaxVocab)
	if err != nil {
		return nil, fmt.Errorf("vocabulary %w", err)
	}
	return parseVocab(path, data, true)
}

// ParseVocab is LoadVocab of a vocab.txt already read: data is its content, path its name
// (for errors and warnings; a URL such as gs://bucket/vocab.txt is fine). data is not kept.
func ParseVocab(path string, data []byte) (*Vocab, error) { return parseVocab(path, data, false) }

// parseVocab parses a vocab.txt. With own, data belongs to the vocabulary from now on
// (LoadVocab's file bytes, which nothing writes to after this) and the tokens are slices of
// it; without, of one copy.
func parseVocab(path string, data []byte, own bool) (*Vocab, error) {
	if len(data) > fileio.MaxVocab {
		return nil, fmt.Errorf("vocabulary %s: %d bytes, more than the %d a vocabulary may have", path, len(data), fileio.MaxVocab)
	}
	// One string for the whole file; the tokens are slices of it (no allocation per token).
	var text string
	if own {
		text = unsafe.String(unsafe.SliceData(data), len(data))
	} else {
		text = string(data)
	}
	tokens := make([]string, 0, bytes.Count(data, []byte{'\n'})+1)
	// A file of valid UTF-8 has only valid tokens (lines end at "\n" and trimming stops at a
	// rune boundary): one check of the whole file instead of one per token, which only a file
	// with invalid bytes needs, to name the line.
	valid := utf8.Valid(data)
	// canonical: the file is the vocabulary's canonical form (every token followed by "\n",
	// nothing trimmed), so that its hash is the file's.
	canonical := len(data) > 0 && data[len(data)-1] == '\n'
	for line := 1; len(text) > 0; line++ {
		i := strings.IndexByte(text, '\n')
		var tok string
		if i < 0 {
			tok, text = text, ""
		} else {
			tok, text = text[:i], text[i+1:]
		}
		if t := trimEnd(tok); len(t) != len(tok) { // Rust's str::trim_end
			tok, canonical = t, false
		}
		if !valid && !utf8.ValidString(tok) {
			return nil, fmt.Errorf("vocabulary %s line %d: token is not valid UTF-8", path, line)
		}
		tokens = append(tokens, tok)
	}
	if !canonical {
		data = nil
	}
	v, err := newVocabOf(tokens, data)
	if err != nil {
		return nil, fmt.Errorf("vocabulary %s: %w", path, err)
	}
	v.source = "vocab " + path
	v.warnings = lineWarnings(v.source, tokens, v.ids.n)
	v.bom = strings.HasPrefix(tokens[0], byteOrderMark)
	return v, nil
}

// trimEnd removes trailing Unicode White_Space, as Rust's str::trim_end.
func trimEnd(s string) string {
	for len(s) > 0 {
		c := s[len(s)-1]
		if c < utf8.RuneSelf {
			if c != ' ' && (c < '\t' || c > '\r') {
				return s
			}
			s = s[:len(s)-1]
			continue
		}
		return strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// maxExamples is how many line numbers a warning lists.
const maxExamples = 3

// lineWarnings finds the blank lines, repeated tokens and byte order mark of a vocab.txt;
// distinct is the number of different tokens.
func lineWarnings(source string, tokens []string, distinct int) []string {
	var blank, dup []string
	nblank, ndup := 0, 0
	for i, tok := range tokens {
		if tok == "" {
			if nblank++; nblank <= maxExamples {
				blank = append(blank, fmt.Sprint(i+1))
			}
		}
	}
	// Without duplicates, each non-blank line is its own entry of the vocabulary's map, and
	// the blank lines share one: look for them only when there are fewer entries.
	if distinct < len(tokens)-nblank+min(nblank, 1) {
		first := make(map[string]int, len(tokens))
		for i, tok := range tokens {
			if tok == "" {
				continue
			}
			if j, ok := first[tok]; ok {
				if ndup++; ndup <= maxExamples {
					dup = append(dup, fmt.Sprintf("line %d repeats %q of line %d", i+1, tok, j+1))
				}
				continue
			}
			first[tok] = i
		}
	}
	more := func(list []string, n int) string {
		s := strings.Join(list, ", ")
		if n > len(list) {
			s += fmt.Sprintf(", ... (%d more)", n-len(list))
		}
		return s
	}
	var w []string
	if strings.HasPrefix(tokens[0], byteOrderMark) {
		w = append(w, fmt.Sprintf("%s: line 1 starts with a UTF-8 byte order mark, which is kept as part of the token %q (as Hugging Face does)", source, tokens[0]))
	}
	if ndup > 0 {
		w = append(w, fmt.Sprintf("%s: %d duplicate tokens (%s): a repeated token gets the id of its last line, as in Hugging Face, and its earlier ids are never produced", source, ndup, more(dup, ndup)))
	}
	if nblank > 0 {
		w = append(w, fmt.Sprintf("%s: %d blank lines (line %s): each is the empty token and takes an id", source, nblank, more(blank, nblank)))
	}
	return w
}

// newVocab builds a vocabulary from tokens indexed by id.
func newVocab(tokens []string) (*Vocab, error) { return newVocabOf(tokens, nil) }

// newVocabOf is newVocab where canonical, when not nil, is the vocabulary's canonical form
// (each token and "\n"), which it hashes as it is.
func newVocabOf(tokens []string, canonical []byte) (*Vocab, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("vocabulary is empty")
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("vocabulary has %d tokens, more than int32 ids allow", len(tokens))
	}
	v := &Vocab{tokens: tokens, ids: newVocabIndex(tokens), source: "vocabulary"}
	// The hash of the canonical form (each token and "\n"), fed in chunks rather than from
	// a copy of the whole vocabulary.
	if canonical != nil {
		sum := sha256.Sum256(canonical)
		v.sha256 = hex.EncodeToString(sum[:])
		return v, nil
	}
	h := sha256.New()
	var chunk [32 << 10]byte
	buf := chunk[:0]
	for _, tok := range tokens {
		if len(buf)+len(tok)+1 > len(chunk) {
			h.Write(buf)
			buf = chunk[:0]
		}
		if len(tok)+1 > len(chunk) {
			h.Write([]byte(tok))
			h.Write([]byte{'\n'})
			continue
		}
		buf = append(append(buf, tok...), '\n')
	}
	h.Write(buf)
	v.sha256 = hex.EncodeToString(h.Sum(nil))
	return v, nil
}

// Size is the number of ids: one more than the largest id.
func (v *Vocab) Size() int { return len(v.tokens) }

// ID returns the id of a token.
func (v *Vocab) ID(token string) (int32, bool) {
	return v.ids.find(v.tokens, token)
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

// Warnings returns one line per kind of suspicious content in a vocab.txt that LoadVocab
// accepted, each naming the file, the count and the first few line numbers:
//   - a UTF-8 byte order mark at the start of line 1 (it stays part of the first token);
//   - duplicate tokens (the last line's id wins, as in Hugging Face);
//   - blank lines (each is the token "" and takes an id).
//
// It returns nil for a clean vocab.txt and for vocabularies not read from a vocab.txt. The
// caller may print the lines as warnings; ids are as Hugging Face gives them either way.
func (v *Vocab) Warnings() []string { return append([]string(nil), v.warnings...) }

// Special holds the ids of BERT's special tokens; -1 marks one the vocabulary lacks.
type Special = special.IDs

// RequireSpecial returns the ids of BERT's five special tokens, [PAD], [UNK], [CLS], [SEP] and
// [MASK], or an error naming the vocabulary's file and the tokens it lacks. Tokenizing needs
// only the unknown token; making pretraining data and training need all five.
func (v *Vocab) RequireSpecial() (Special, error) {
	sp := v.special()
	var missing []string
	for _, s := range []struct {
		name string
		id   int32
	}{{"[PAD]", sp.PAD}, {"[UNK]", sp.UNK}, {"[CLS]", sp.CLS}, {"[SEP]", sp.SEP}, {"[MASK]", sp.MASK}} {
		if s.id < 0 {
			missing = append(missing, s.name)
		}
	}
	if len(missing) == 0 {
		return sp, nil
	}
	what := "token"
	if len(missing) > 1 {
		what = "tokens"
	}
	err := fmt.Errorf("%s: no %s %s", v.source, strings.Join(missing, ", "), what)
	if v.bom {
		err = fmt.Errorf("%w (line 1 starts with a UTF-8 byte order mark, which is part of its token %q: remove it)", err, v.tokens[0])
	}
	return sp, err
}

// special looks BERT's special tokens up in v.
func (v *Vocab) special() Special {
	get := func(tok string) int32 {
		if id, ok := v.ids.find(v.tokens, tok); ok {
			return id
		}
		return -1
	}
	return Special{PAD: get("[PAD]"), UNK: get("[UNK]"), CLS: get("[CLS]"), SEP: get("[SEP]"), MASK: get("[MASK]")}
}
