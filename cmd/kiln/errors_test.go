package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// TestErrorPrefixes checks the error convention end to end: a line says "kiln CMD: " once,
// then what is wrong and where, with no package or layer prefixes stacked between (a changed
// shard used to read "kiln train: train: step 1: loader: DIR/shard has sha256 ..."), kiln's
// flag names for the trainer's settings, and the remedy that is a command at the end.
func TestErrorPrefixes(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "shards")
	if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
		"--output", data, "--max-seq-len", "32"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	out := filepath.Join(tmp, "run")
	train := []string{"train", "--data", data, "--out", out, "--steps", "1", "--batch-size", "4", "--seed", "3"}
	if code, _, stderr := kiln(t, train...); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}

	// Another --seed on resume: the trainer's TrainConfig.Seed is named --seed.
	code, _, stderr := kiln(t, append(train, "--resume", "--seed", "4")...)
	if code != 1 || !strings.HasPrefix(stderr, "kiln train: resume "+filepath.Join(out, "checkpoint-00000001")+": ") ||
		!strings.Contains(stderr, "--seed 3 (checkpoint) vs 4 (now)") || strings.Contains(stderr, "Config.") {
		t.Errorf("resume with another --seed: exit %d, stderr %q; want one kiln train prefix, --seed named as the flag", code, stderr)
	}

	// One byte of each shard changed, its size kept: the loader's sha256 check finds it.
	m, err := shards.ReadManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range m.Shards {
		p := filepath.Join(data, filepath.FromSlash(sh.File))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr = kiln(t, "train", "--data", data, "--out", filepath.Join(tmp, "run2"), "--steps", "1", "--batch-size", "4")
	wantStart := "kiln train: " + filepath.Join(data, "shard-")
	wantEnd := "the shard changed after it was written (kiln verify " + data + " lists every problem)\n"
	if code != 1 || !strings.HasPrefix(stderr, wantStart) || !strings.Contains(stderr, " has sha256 ") || !strings.HasSuffix(stderr, wantEnd) {
		t.Errorf("changed shard: exit %d, stderr %q; want exit 1, %q ... %q", code, stderr, wantStart, wantEnd)
	}
}
