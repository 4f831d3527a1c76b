package tokenize

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// require skips the test when an external resource is absent, except under CI, where a
// missing resource is a failure.
func require(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (CI is set, so this is a failure, not a skip)", what)
	}
	t.Skipf("skipping: %s is missing", what)
}

// sharedDir finds the shared data directory: the repository's parent holds shared/.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs("../../shared/data")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(dir, "vocab", "bert-base-uncased-vocab.txt"))
	require(t, err == nil, "shared data ("+dir+")")
	return dir
}

// vocabPath is the shared BERT base uncased vocabulary.
func vocabPath(t testing.TB) string {
	return filepath.Join(sharedDir(t), "vocab", "bert-base-uncased-vocab.txt")
}

// nodeCommand returns a command running a script from testdata with the peers' node_modules
// (the npm package tokenizers, Hugging Face's Rust library) on NODE_PATH.
func nodeCommand(t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	node, err := exec.LookPath("node")
	require(t, err == nil, "node (for the Hugging Face tokenizers peer)")
	modules, err := filepath.Abs("../tools/peers/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat(filepath.Join(modules, "tokenizers", "package.json"))
	require(t, err == nil, "npm package tokenizers in "+modules)
	cmd := exec.Command(node, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stderr = os.Stderr
	return cmd
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
