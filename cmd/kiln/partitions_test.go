package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/pipeline"
)

// TestPrepPartitions runs kiln prep --partitions on the sample and reads the result with
// every reader of shards: verify, inspect, train and loss. --partitions 1 writes what prep
// writes without the flag, and values out of range are usage errors naming the flag.
func TestPrepPartitions(t *testing.T) {
	tmp := t.TempDir()
	data := filepath.Join(tmp, "parts")
	args := []string{"prep", "--input", "sample/corpus", "--format", "text", "--vocab", sampleVocab, "--seed", "7", "--shard-mb", "0.1"}
	code, stdout, stderr := kiln(t, append(args, "--output", data, "--partitions", "3", "--workers", "2")...)
	if code != 0 {
		t.Fatalf("prep --partitions 3: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "51 files, 51 documents") {
		t.Errorf("prep summary: %s", stdout)
	}
	for i := range 3 {
		if _, err := os.Stat(filepath.Join(data, pipeline.PartitionDirName(i), "shard-00000.arrow")); err != nil {
			t.Errorf("partition %d: %v", i, err)
		}
	}
	if code, stdout, _ := kiln(t, "verify", data); code != 0 || !strings.Contains(stdout, ": ok:") {
		t.Fatalf("verify: exit %d: %s", code, stdout)
	}
	code, stdout, stderr = kiln(t, "inspect", "--examples", "1", data)
	if code != 0 || !strings.Contains(stdout, "[MASK:") || !strings.Contains(stdout, "labels:") {
		t.Fatalf("inspect: exit %d: %s %s", code, stdout, stderr)
	}
	model := filepath.Join(tmp, "model")
	if code, _, stderr := kiln(t, "train", "--data", data, "--out", model, "--model", "tiny", "--steps", "2", "--batch-size", "4",
		"--warmup", "1", "--checkpoint-every", "2"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	code, stdout, stderr = kiln(t, "loss", "--checkpoint", filepath.Join(model, "checkpoint-00000002"), "--data", data, "--limit", "16")
	if code != 0 || !strings.Contains(stdout, "total_loss") {
		t.Fatalf("loss: exit %d: %s %s", code, stdout, stderr)
	}

	one, plain := filepath.Join(tmp, "one"), filepath.Join(tmp, "plain")
	if code, _, stderr := kiln(t, append(args, "--output", one, "--partitions", "1")...); code != 0 {
		t.Fatalf("prep --partitions 1: exit %d: %s", code, stderr)
	}
	if code, _, stderr := kiln(t, append(args, "--output", plain)...); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"manifest.json", "shard-00000.arrow"} {
		a, err1 := os.ReadFile(filepath.Join(one, f))
		b, err2 := os.ReadFile(filepath.Join(plain, f))
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs between --partitions 1 and no --partitions (%v, %v)", f, err1, err2)
		}
	}

	for _, bad := range [][]string{
		{"--partitions", "-1"},
		{"--partitions", "65537"},
		{"--partitions", "2", "--eval-fraction", "0.1"},
	} {
		code, _, stderr := kiln(t, append(append(args, "--output", filepath.Join(tmp, "bad")), bad...)...)
		if code != 2 || !strings.Contains(stderr, "--partitions") {
			t.Errorf("prep %v: exit %d, want 2 with a message naming --partitions: %s", bad, code, stderr)
		}
	}
}
