package wordpiece

import (
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

// nodeCommand returns a command running a script from testdata with the peers' node_modules
// (the npm package tokenizers, Hugging Face's Rust library) on NODE_PATH.
func nodeCommand(t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	node, err := exec.LookPath("node")
	require(t, err == nil, "node (for the Hugging Face tokenizers peer)")
	modules, err := filepath.Abs("../../tools/peers/node_modules")
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
