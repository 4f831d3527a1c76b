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

// TestVerifyPartitionedStray runs kiln prep --partitions 2 on the sample (with and without
// --bins), then places, one at a time, a copy of a real shard or a temporary file where
// the partitioned layout keeps them but the manifest does not list it: in a partition's
// directory, a partition's bin, a staging directory of a partition attempt, or as a
// partition record's temporary file or one kiln-beam publishes through. kiln verify must fail and name the file, and pass
// again once it is removed.
func TestVerifyPartitionedStray(t *testing.T) {
	tmp := t.TempDir()
	for _, tc := range []struct {
		name   string
		flags  []string
		shard  string   // a shard of the run, copied as the stray
		strays []string // where the copy goes, relative to the run's directory
	}{
		{"flat", nil, "part-00000/shard-00000.arrow", []string{
			"part-00001/shard-00007.arrow",
			"part-00000/.shard-00001.tmp",
			".staging/part-00001.ABCDEF/shard-00000.arrow",
			".staging/part-00001.ABCDEF/.shard-00000.tmp",
			"part-00000/.partition.json.123456.tmp",
			"part-00001/shard-00000.arrow.tmp-ABCDEF", // kiln-beam's publishing names
			"part-00000/partition.json.tmp-ABCDEF",
		}},
		{"bins", []string{"--bins", "64,128"}, "part-00000/bin-128/shard-00000.arrow", []string{
			"part-00000/bin-128/shard-00009.arrow",
			"part-00001/bin-064/.shard-00003.tmp",
			".staging/part-00000.ABCDEF/bin-128/shard-00000.arrow",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(tmp, tc.name)
			args := append([]string{"prep", "--input", "sample/corpus", "--format", "text", "--vocab", sampleVocab,
				"--seed", "7", "--output", data, "--partitions", "2", "--workers", "2"}, tc.flags...)
			if code, _, stderr := kiln(t, args...); code != 0 {
				t.Fatalf("prep: exit %d: %s", code, stderr)
			}
			shard, err := os.ReadFile(filepath.Join(data, filepath.FromSlash(tc.shard)))
			if err != nil {
				t.Fatal(err)
			}
			if code, stdout, _ := kiln(t, "verify", data); code != 0 {
				t.Fatalf("verify of the run: exit %d: %s", code, stdout)
			}
			for _, rel := range tc.strays {
				p := filepath.Join(data, filepath.FromSlash(rel))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, shard, 0o644); err != nil {
					t.Fatal(err)
				}
				code, stdout, _ := kiln(t, "verify", data)
				if want := "FAIL " + rel + ": file is not listed in the manifest"; code != 1 || !strings.Contains(stdout, want) {
					t.Errorf("verify with %s: exit %d, want 1 and %q: %s", rel, code, want, stdout)
				}
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				if code, stdout, _ := kiln(t, "verify", data); code != 0 {
					t.Fatalf("verify once %s is removed: exit %d: %s", rel, code, stdout)
				}
			}
		})
	}
}
