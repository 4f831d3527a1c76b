package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// copySample copies n files of the sample corpus into dir.
func copySample(t *testing.T, dir string, n int) {
	t.Helper()
	files, err := filepath.Glob("sample/corpus/*.txt")
	if err != nil || len(files) < n {
		t.Fatalf("sample corpus: %v (%d files)", err, len(files))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files[:n] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPrepOutputInsideInput: an output directory inside the input directory is not read as
// input, and the run says so. The rerun used to read the first run's shards and manifest as
// text, fail ("rows regenerated ... differ") and leave a progress file behind, so that verify
// failed on the good output and every later rerun failed too.
func TestPrepOutputInsideInput(t *testing.T) {
	corpus := filepath.Join(t.TempDir(), "corpus")
	copySample(t, corpus, 4)
	out := filepath.Join(corpus, "shards")
	args := []string{"prep", "--input", corpus, "--vocab", sampleVocab, "--output", out, "--no-progress"}
	code, stdout1, stderr := kiln(t, args...)
	if code != 0 {
		t.Fatalf("first run: exit %d: %s", code, stderr)
	}
	first, err := os.ReadFile(filepath.Join(out, shards.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		code, stdout, stderr := kiln(t, args...)
		if code != 0 {
			t.Fatalf("rerun %d: exit %d: %s", i+1, code, stderr)
		}
		if !strings.Contains(stderr, "holds the output directory "+out+": its files are not read as input") {
			t.Errorf("rerun %d does not say that it leaves the output directory out: stderr %q", i+1, stderr)
		}
		// The same 4 files read, the same documents and sequences.
		if got, want := strings.SplitN(stdout, " in ", 2)[0], strings.SplitN(stdout1, " in ", 2)[0]; got != want {
			t.Errorf("rerun %d read other inputs:\n got %s\nwant %s", i+1, got, want)
		}
	}
	again, err := os.ReadFile(filepath.Join(out, shards.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(first) {
		t.Error("the reruns changed the manifest")
	}
	if _, err := os.Stat(filepath.Join(out, shards.ProgressName)); err == nil {
		t.Errorf("a rerun left %s behind", shards.ProgressName)
	}
	if code, _, stderr := kiln(t, "verify", out); code != 0 {
		t.Errorf("verify after the reruns: exit %d: %s", code, stderr)
	}
	// The output directory itself, or a file in it, given as the input is refused.
	for _, in := range []string{out, filepath.Join(out, shards.ManifestName)} {
		code, _, stderr := kiln(t, "prep", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress")
		if code != 1 || !strings.Contains(stderr, "is inside the output directory") {
			t.Errorf("--input %s --output %s: exit %d, stderr %q; want exit 1, inside the output directory", in, out, code, stderr)
		}
	}
}
