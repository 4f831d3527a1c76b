package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestPrepNotNextUnreachable: when --max-seq-len is so short that most chunks are one sentence
// (always NotNext), the 50% NotNext share that the README promises cannot be held: prep warns,
// and its summary says so, instead of reporting 81% without a word. At the default length
// there is no such warning.
func TestPrepNotNextUnreachable(t *testing.T) {
	for _, tc := range []struct {
		seqLen string
		warn   bool
	}{{"16", true}, {"128", false}} {
		out := filepath.Join(t.TempDir(), "out")
		code, stdout, stderr := kiln(t, "prep", "--input", "sample/corpus", "--vocab", sampleVocab, "--output", out,
			"--max-seq-len", tc.seqLen, "--max-predictions", "4", "--no-progress")
		if code != 0 {
			t.Fatalf("--max-seq-len %s: exit %d: %s", tc.seqLen, code, stderr)
		}
		warned := strings.Contains(stderr, "warning: NotNext is") && strings.Contains(stderr, "not 50%") &&
			strings.Contains(stderr, "--max-seq-len "+tc.seqLen)
		summary := strings.Contains(stdout, "(50% unreachable:")
		if warned != tc.warn || summary != tc.warn {
			t.Errorf("--max-seq-len %s: warned %v, summary says unreachable %v; want %v\nstdout %s\nstderr %s",
				tc.seqLen, warned, summary, tc.warn, stdout, stderr)
		}
	}
}
