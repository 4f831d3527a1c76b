package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagUpperBounds: a numeric flag value too large for a real run is a usage error (exit 2)
// naming the flag, before any work, never an overflow that changes its meaning (--shard-mb
// 1e18 once gave one-byte shards, --max-line-bytes 2^63-1 skipped every line), a panic or an
// allocation of what the flag asks (--workers 1e9), nor a run that trains to nonsense
// (--weight-decay 9e18). Nothing is written.
func TestFlagUpperBounds(t *testing.T) {
	in := "sample/corpus/moby_dick_chapter_001.txt"
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	prep := func(extra ...string) []string {
		return append([]string{"prep", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress"}, extra...)
	}
	pretrain := func(extra ...string) []string {
		return append([]string{"pretrain", "--input", in, "--vocab", sampleVocab, "--out", out, "--steps", "1"}, extra...)
	}
	train := func(extra ...string) []string {
		return append([]string{"train", "--data", filepath.Join(tmp, "no-such-shards"), "--out", out}, extra...)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{prep("--shard-mb", "1e18"), "--shard-mb"},
		{prep("--shard-mb", "Inf"), "--shard-mb"},
		{prep("--max-line-bytes", "9223372036854775807"), "--max-line-bytes"},
		{prep("--max-doc-bytes", "9223372036854775807"), "--max-doc-bytes"},
		{prep("--workers", "1000000000"), "--workers"},
		{prep("--reservoir-docs", "9223372036854775807"), "--reservoir-docs"},
		{prep("--dupe-factor", "1000000000"), "--dupe-factor"},
		{prep("--shuffle-buffer", "9223372036854775807"), "--shuffle-buffer"},
		{prep("--rows-per-batch", "9223372036854775807"), "--rows-per-batch"},
		{prep("--max-seq-len", "65537"), "--max-seq-len"},
		{prep("--max-predictions", "129"), "--max-predictions"},
		{prep("--bins", "64,32,128"), "--bins"},
		{prep("--bins", "0,128"), "--bins"},
		{prep("--bins", "32,64"), "--bins"}, // the last bin is below --max-seq-len 128
		{pretrain("--workers", "1000000000"), "--workers"},
		{pretrain("--save-shards", filepath.Join(tmp, "saved"), "--shard-mb", "1e18"), "--shard-mb"},
		{[]string{"tokenize", "--vocab", sampleVocab, "--max-line-bytes", "9223372036854775807", in}, "--max-line-bytes"},
		{[]string{"tokenize", "--vocab", sampleVocab, "--workers", "1000000000", in}, "--workers"},
		{train("--weight-decay", "9e18"), "weight-decay"},
		{train("--lr", "1e6"), "lr"},
		{train("--steps", "9223372036854775807"), "steps"},
		{train("--batch-size", "1000000000"), "batch-size"},
		{train("--warmup", "9223372036854775807"), "warmup"},
		{[]string{"loss", "--checkpoint", "x", "--data", "y", "--batch-size", "1000000000"}, "batch-size"},
	} {
		code, stdout, stderr := kiln(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.flag) {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(tc.args, " "), code, stderr, tc.flag)
		}
		if tc.args[0] == "tokenize" && stdout != "" {
			t.Errorf("kiln %s printed ids: %.80q", strings.Join(tc.args, " "), stdout)
		}
	}
	for _, p := range []string{out, filepath.Join(tmp, "saved")} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a refused command made %s", p)
		}
	}
}

// TestFlagUpperBoundsAccepted: the bounds leave room for real runs; values at the bounds'
// working end are accepted.
func TestFlagUpperBoundsAccepted(t *testing.T) {
	in := "sample/corpus/moby_dick_chapter_001.txt"
	out := filepath.Join(t.TempDir(), "out")
	code, _, stderr := kiln(t, "prep", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress",
		"--shard-mb", "1048576", "--max-line-bytes", "1073741824", "--workers", "64", "--dupe-factor", "2",
		"--max-seq-len", "512", "--max-predictions", "512", "--bins", "128,512", "--shuffle-buffer", "100000")
	if code != 0 {
		t.Fatalf("prep at the bounds: exit %d: %s", code, stderr)
	}
}
