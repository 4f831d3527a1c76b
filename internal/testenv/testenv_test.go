package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// childEnv, set to 1, makes TestMissing the child: it calls Missing.
const childEnv = "KILN_TESTENV_CHILD"

// TestMissing runs itself as a child process that calls Missing, without CI and with CI set:
// without, the child's test is skipped with the message; with, it fails with it.
func TestMissing(t *testing.T) {
	const msg = "peer frob is not installed (install it: apt-get install frob)"
	if os.Getenv(childEnv) == "1" {
		Missing(t, "peer %s is not installed (install it: apt-get install %s)", "frob", "frob")
		t.Fatal("Missing returned")
	}
	for _, ci := range []string{"", "true"} {
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "CI=") {
				env = append(env, kv)
			}
		}
		env = append(env, childEnv+"=1")
		if ci != "" {
			env = append(env, "CI="+ci)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v", "-test.count=1")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		got := string(out)
		switch {
		case ci == "" && (err != nil || !strings.Contains(got, "--- SKIP: TestMissing") || !strings.Contains(got, msg)):
			t.Errorf("without CI: %v, output:\n%s\nwant the test skipped with %q", err, got, msg)
		case ci != "" && (err == nil || !strings.Contains(got, "--- FAIL: TestMissing") || !strings.Contains(got, msg) || !strings.Contains(got, "CI is set")):
			t.Errorf("with CI=%s: %v, output:\n%s\nwant the test failed with %q", ci, err, got, msg)
		}
	}
}

// TestSample checks the paths the tests use: the root holds go.mod, and the sample holds the
// vocabulary and the 51 corpus files in order, SOTU first.
func TestSample(t *testing.T) {
	if _, err := os.Stat(filepath.Join(Root(t), "go.mod")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(Vocab(t)); err != nil {
		t.Fatal(err)
	}
	files := CorpusFiles(t)
	if len(files) != 51 || !strings.HasPrefix(filepath.Base(files[0]), "sotu_2001") ||
		filepath.Base(files[50]) != "moby_dick_chapter_030.txt" {
		t.Errorf("corpus files %d: %s ... %s", len(files), files[0], files[len(files)-1])
	}
}
