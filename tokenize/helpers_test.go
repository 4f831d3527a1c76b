package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// vocabPath is the BERT base uncased vocabulary of the bundled sample (cmd/kiln/sample).
func vocabPath(t testing.TB) string {
	t.Helper()
	return testenv.Vocab(t)
}

// nodeCommand returns a command running a script from testdata with the peers' node_modules
// (the npm package tokenizers, Hugging Face's Rust library) on NODE_PATH.
func nodeCommand(t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := testenv.Node(t, []string{"tokenizers"}, filepath.Join("testdata", script), args...)
	cmd.Stderr = os.Stderr
	return cmd
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// buildTrie builds one trie of every token (the tokenizer builds pieceTries' groups of them
// instead), for the tests that compare with it: tokens[i] gets id i, empty tokens are skipped,
// and for a token listed twice the last id wins, as in the vocabulary's map.
func buildTrie(tokens []string) *trie {
	var b trieBuilder
	return b.build(tokens, tokenIDs(tokens), 0)
}

// tokenIDs returns the ids of the non-empty tokens, for trieBuilder.build.
func tokenIDs(tokens []string) []int32 {
	var ids []int32
	for id, tok := range tokens {
		if tok != "" {
			ids = append(ids, int32(id))
		}
	}
	return ids
}
