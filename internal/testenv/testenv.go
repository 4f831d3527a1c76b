// Package testenv is what kiln's tests share about where they run: the repository's root, the
// sample that ships in it (cmd/kiln/sample: the bert-base-uncased vocabulary, 21 State of the
// Union addresses and 30 chapters of Moby Dick), the reference peers (node with the npm packages
// of tools/peers, PyTorch), and the one rule for a peer that is absent: the test is skipped with
// a message saying how to install it, except under CI (the CI environment variable set), where
// it fails.
//
// Tests read only what ships in the repository. Benchmarks may read a larger corpus from
// outside it; see BenchData.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// CI reports whether the tests run under CI (the CI environment variable is set and not
// empty), where every skip for an absent peer is a failure.
func CI() bool { return os.Getenv("CI") != "" }

// Missing skips the test because something it needs is absent, or fails it under CI. The
// message must say what is missing and how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (CI is set: a missing peer is a failure, not a skip)", msg)
	}
	t.Skip(msg)
}

// Root returns the repository's root: the first directory holding go.mod at or above the
// working directory (go test runs a test in its package's directory).
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("working directory: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod at or above %s", dir)
		}
	}
}

// Sample returns the bundled sample's directory, cmd/kiln/sample.
func Sample(t testing.TB) string {
	t.Helper()
	return filepath.Join(Root(t), "cmd", "kiln", "sample")
}

// Vocab returns the bundled bert-base-uncased vocabulary (30,522 entries).
func Vocab(t testing.TB) string {
	t.Helper()
	return filepath.Join(Sample(t), "vocab.txt")
}

// Corpus returns the bundled corpus directory: 21 State of the Union addresses (sotu_*.txt,
// one address per file, one line each) and 30 chapters of Moby Dick
// (moby_dick_chapter_*.txt, one paragraph per line).
func Corpus(t testing.TB) string {
	t.Helper()
	return filepath.Join(Sample(t), "corpus")
}

// SOTU returns the 21 State of the Union address files of the sample, sorted.
func SOTU(t testing.TB) []string { t.Helper(); return corpusFiles(t, "sotu_", 21) }

// MobyDick returns the 30 Moby Dick chapter files of the sample, sorted.
func MobyDick(t testing.TB) []string { t.Helper(); return corpusFiles(t, "moby_dick_chapter_", 30) }

// CorpusFiles returns every file of the sample corpus (SOTU, then Moby Dick), sorted.
func CorpusFiles(t testing.TB) []string {
	t.Helper()
	return append(SOTU(t), MobyDick(t)...)
}

func corpusFiles(t testing.TB, prefix string, want int) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Corpus(t), prefix+"*.txt"))
	if err != nil || len(files) != want {
		t.Fatalf("the sample corpus %s holds %d %s*.txt files, want %d (%v)", Corpus(t), len(files), prefix, want, err)
	}
	sort.Strings(files)
	return files
}

// NodeModules returns node's path and tools/peers/node_modules, checking that each of pkgs is
// installed there; when node or a package is absent the test is skipped (failed under CI)
// with the command that installs it.
func NodeModules(t testing.TB, pkgs ...string) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		Missing(t, "node is not on PATH (install Node.js, then npm ci --prefix tools/peers --no-audit --no-fund): %v", err)
	}
	modules = filepath.Join(Root(t), "tools", "peers", "node_modules")
	for _, pkg := range pkgs {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			Missing(t, "npm package %s is not installed in %s (run npm ci --prefix tools/peers --no-audit --no-fund at the repository's root)", pkg, modules)
		}
	}
	return node, modules
}

// Node returns a command running node on script with args, tools/peers/node_modules on
// NODE_PATH; pkgs are the npm packages the script needs (see NodeModules).
func Node(t testing.TB, pkgs []string, script string, args ...string) *exec.Cmd {
	t.Helper()
	node, modules := NodeModules(t, pkgs...)
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	return cmd
}

// Python is the interpreter the PyTorch reference runs under: Debian's, with python3-torch.
const Python = "/usr/bin/python3"

// Torch checks that Python imports torch, skipping the test (failing it under CI) with the
// command that installs it when it does not.
func Torch(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(Python, "-c", "import torch").CombinedOutput()
	if err != nil {
		Missing(t, "PyTorch is not available to %s (install it: apt-get install python3-torch): %v: %s",
			Python, err, strings.TrimSpace(string(out)))
	}
	return Python
}

// BenchDataEnv names the environment variable that points benchmarks at a larger corpus
// folder (vocab/bert-base-uncased-vocab.txt, corpora/sotu/*.txt, corpora/moby-dick/*.txt).
const BenchDataEnv = "KILN_BENCH_DATA"

// BenchData returns the folder of the larger corpora that benchmarks measure: $KILN_BENCH_DATA,
// or else shared/data beside the repository (where kiln's own machines keep it). Benchmarks
// only: go test ./... runs no benchmark, and tests read only the repository. Without the
// folder the benchmark is skipped, saying how to point it at one.
func BenchData(b testing.TB) string {
	b.Helper()
	dir := os.Getenv(BenchDataEnv)
	if dir == "" {
		dir = filepath.Join(filepath.Dir(Root(b)), "shared", "data")
	}
	if _, err := os.Stat(filepath.Join(dir, "corpora")); err != nil {
		b.Skipf("benchmark corpora not found (%v): set %s to a folder holding vocab/ and corpora/", err, BenchDataEnv)
	}
	return dir
}
