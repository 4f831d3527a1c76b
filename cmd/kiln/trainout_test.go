package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainRefusesForeignOut: kiln train and kiln pretrain refuse an --out directory holding
// files that kiln did not make (exit 2, naming --out and the files), as kiln demo refuses its
// --dir, instead of replacing metrics.jsonl and loss.png there.
func TestTrainRefusesForeignOut(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "shards")
	if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
		"--output", data, "--max-seq-len", "64", "--no-progress"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	out := filepath.Join(tmp, "results")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	mine := "{\"epoch\": 1, \"accuracy\": 0.91}\n"
	if err := os.WriteFile(filepath.Join(out, "metrics.jsonl"), []byte(mine), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"train", "--data", data, "--out", out, "--steps", "1", "--batch-size", "4"},
		{"pretrain", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab, "--max-seq-len", "64",
			"--out", out, "--steps", "1", "--batch-size", "4"},
	} {
		code, _, stderr := kiln(t, args...)
		if code != 2 || !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "metrics.jsonl") {
			t.Errorf("kiln %s into a directory holding another metrics.jsonl: exit %d, stderr %q; want exit 2 naming --out and the file",
				args[0], code, stderr)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "metrics.jsonl")); err != nil || string(b) != mine {
		t.Errorf("metrics.jsonl was replaced: %.60q, %v", b, err)
	}
	// A new directory is the run's own: training there, and resuming, works.
	own := filepath.Join(tmp, "model")
	for _, extra := range [][]string{nil, {"--resume"}} {
		args := append([]string{"train", "--data", data, "--out", own, "--steps", "1", "--batch-size", "4"}, extra...)
		if code, _, stderr := kiln(t, args...); code != 0 {
			t.Fatalf("kiln %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
	}
}
