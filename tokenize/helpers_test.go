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
