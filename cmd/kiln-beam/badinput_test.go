package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputNamesFile runs the pipeline over a corpus with a truncated .gz file: the job
// must fail with an error that names the file, and leave no manifest (no output that looks
// complete).
func TestBadInputNamesFile(t *testing.T) {
	tmp := t.TempDir()
	corpus := filepath.Join(tmp, "corpus")
	if err := os.Mkdir(corpus, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"moby_dick_chapter_001.txt", "moby_dick_chapter_002.txt"} {
		b, err := os.ReadFile(filepath.Join(sampleCorpus, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(corpus, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bad := filepath.Join(corpus, "moby_dick_chapter_003.txt.gz")
	if err := os.WriteFile(bad, truncatedGzip(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out")
	code, msg := runBeam(t, "prep", "--input", corpus, "--vocab", sampleVocab, "--output", out, "--partitions", "2")
	if code != 1 || !strings.Contains(msg, "input "+bad) || !strings.Contains(msg, "truncated or corrupt") {
		t.Errorf("exit %d, want 1 with an error naming %s as truncated:\n%s", code, bad, msg)
	}
	if first, _, _ := strings.Cut(msg, "\n"); !strings.HasPrefix(first, "kiln-beam prep: input "+bad+": ") {
		t.Errorf("the first line does not name the file: %q", first)
	}
	if _, err := os.Stat(filepath.Join(out, "manifest.json")); err == nil {
		t.Errorf("a failed job left %s/manifest.json", out)
	}
}

// TestOutputNotEmpty checks that a run into a directory that holds a finished run (or any file)
// is refused, naming the directory, before any work.
func TestOutputNotEmpty(t *testing.T) {
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "manifest.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, msg := runBeam(t, "prep", "--input", sampleCorpus, "--vocab", sampleVocab, "--output", out, "--partitions", "2")
	if code != 1 || !strings.Contains(msg, "output "+out+" is not empty (it holds a finished run)") {
		t.Errorf("exit %d, want 1 naming %s as not empty:\n%s", code, out, msg)
	}
}

// truncatedGzip returns the first half of a gzip of the sample's chapter 3: a .gz input that
// ends in the middle of its stream.
func truncatedGzip(t *testing.T) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join(sampleCorpus, "moby_dick_chapter_003.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	return gz.Bytes()[:gz.Len()/2]
}
