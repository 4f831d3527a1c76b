package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/shards"
)

// Regression tests of issue 10's reading side, through the command line: special files where
// regular ones belong, a manifest's vocabulary path pointing elsewhere, shard names leaving the
// directory, and a shard whose footer points past its data. Each command must fail at once with
// a message naming the file, never hang, exhaust memory, or report a partial result as whole.

// kilnWithin runs kiln and fails the test if it does not return within 60 s.
func kilnWithin(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		c, o, e := kiln(t, args...)
		done <- result{c, o, e}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(60 * time.Second):
		t.Fatalf("kiln %s hangs", strings.Join(args, " "))
	}
	return 0, "", ""
}

// prepSample preps one sample chapter into a new directory and returns it.
func prepSample(t *testing.T, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "shards")
	args := append([]string{"prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab, "--output", out,
		"--max-seq-len", "64", "--no-progress"}, extra...)
	if code, _, stderr := kiln(t, args...); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	return out
}

// editManifest applies edit to dir's manifest.
func editManifest(t *testing.T, dir string, edit func(m *shards.Manifest)) {
	t.Helper()
	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(dir, shards.ManifestName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSpecialFiles: /dev/zero and FIFOs given where kiln reads a regular file are refused at
// once, naming the file. Before the fix --vocab /dev/zero and --tokenizer /dev/zero grew to
// gigabytes, a manifest or shard linked to /dev/zero read (or hashed) without end, and a FIFO
// hung.
func TestSpecialFiles(t *testing.T) {
	tmp := t.TempDir()
	fifo := filepath.Join(tmp, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	zeroDir := prepSample(t)
	os.Remove(filepath.Join(zeroDir, shards.ManifestName))
	os.Symlink("/dev/zero", filepath.Join(zeroDir, shards.ManifestName))
	fifoDir := prepSample(t)
	os.Remove(filepath.Join(fifoDir, shards.ManifestName))
	syscall.Mkfifo(filepath.Join(fifoDir, shards.ManifestName), 0o644)
	shardZero := prepSample(t)
	shard := filepath.Join(shardZero, "shard-00000.arrow")
	os.Remove(shard)
	os.Symlink("/dev/zero", shard)
	shardFifo := prepSample(t)
	shard2 := filepath.Join(shardFifo, "shard-00000.arrow")
	os.Remove(shard2)
	syscall.Mkfifo(shard2, 0o644)
	text := "sample/corpus/moby_dick_chapter_001.txt"
	for _, tc := range []struct {
		args []string
		file string
	}{
		{[]string{"tokenize", "--vocab", "/dev/zero", text}, "/dev/zero"},
		{[]string{"tokenize", "--tokenizer", "/dev/zero", text}, "/dev/zero"},
		{[]string{"tokenize", "--vocab", fifo, text}, fifo},
		{[]string{"prep", "--input", text, "--vocab", "/dev/zero", "--output", filepath.Join(tmp, "out"), "--no-progress"}, "/dev/zero"},
		{[]string{"verify", zeroDir}, filepath.Join(zeroDir, shards.ManifestName)},
		{[]string{"inspect", zeroDir}, filepath.Join(zeroDir, shards.ManifestName)},
		{[]string{"verify", fifoDir}, filepath.Join(fifoDir, shards.ManifestName)},
		{[]string{"train", "--data", fifoDir, "--out", filepath.Join(tmp, "run"), "--steps", "1"}, filepath.Join(fifoDir, shards.ManifestName)},
		{[]string{"inspect", shardZero}, shard},
		{[]string{"inspect", shardFifo}, shard2},
	} {
		code, stdout, stderr := kilnWithin(t, tc.args...)
		t.Logf("kiln %s: exit %d: %s%s", strings.Join(tc.args, " "), code, stdout, stderr)
		if code != 1 || !strings.Contains(stdout+stderr, tc.file) || !strings.Contains(stdout+stderr, "not a regular file") {
			t.Errorf("kiln %s: exit %d, %s%s; want exit 1 naming %s as not a regular file", strings.Join(tc.args, " "), code, stdout, stderr, tc.file)
		}
	}
	// verify hashes every shard: a shard linked to /dev/zero fails, at once.
	code, stdout, _ := kilnWithin(t, "verify", shardZero)
	if code != 1 || !strings.Contains(stdout, "shard-00000.arrow") || !strings.Contains(stdout, "not a regular file") {
		t.Errorf("verify of a shard linked to /dev/zero: exit %d: %s", code, stdout)
	}
}

// TestManifestVocabulary: inspect decodes with the vocabulary a manifest names only when it is
// the one the manifest records (sha256); before the fix "vocab": "/etc/passwd" printed the
// lines of that file as tokens, and "/dev/zero" was read until memory ran out. verify holds
// vocab_size to the vocabulary's size.
func TestManifestVocabulary(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(secret, []byte(strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 200)), 0o644)
	for _, tc := range []struct{ vocab, want string }{
		{secret, "is not the vocabulary the shards in"},
		{"/dev/zero", "not a regular file"},
	} {
		dir := prepSample(t)
		editManifest(t, dir, func(m *shards.Manifest) {
			var cfg map[string]any
			json.Unmarshal(m.Config, &cfg)
			cfg["vocab"] = tc.vocab
			m.Config, _ = json.Marshal(cfg)
		})
		code, stdout, stderr := kilnWithin(t, "inspect", dir)
		t.Logf("kiln inspect (vocab %s): exit %d: %s", tc.vocab, code, stderr)
		if code != 0 || strings.Contains(stdout, "root:x") || !strings.Contains(stderr, tc.want) || !strings.Contains(stdout, "<101?>") {
			t.Errorf("inspect with vocab %s: exit %d; stderr %s; stdout shows the file: %v, ids: %v", tc.vocab, code, stderr,
				strings.Contains(stdout, "root:x"), strings.Contains(stdout, "<101?>"))
		}
		code, stdout, _ = kilnWithin(t, "verify", dir)
		t.Logf("kiln verify (vocab %s): exit %d: %s", tc.vocab, code, stdout)
		if code != 1 || !strings.Contains(stdout, tc.want) {
			t.Errorf("verify with vocab %s: exit %d: %s", tc.vocab, code, stdout)
		}
	}
}

// TestInspectOutsideDir: inspect refuses shard names that leave the directory (as verify,
// train and loss do); before the fix it decoded a shard from outside.
func TestInspectOutsideDir(t *testing.T) {
	outside := prepSample(t)
	dir := prepSample(t)
	rel, _ := filepath.Rel(dir, filepath.Join(outside, "shard-00000.arrow"))
	editManifest(t, dir, func(m *shards.Manifest) { m.Shards[0].File = filepath.ToSlash(rel) })
	code, stdout, stderr := kilnWithin(t, "inspect", dir)
	t.Logf("kiln inspect: exit %d: %s", code, stderr)
	if code != 1 || !strings.Contains(stderr, "leads outside the manifest's directory") {
		t.Errorf("inspect: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestFooterPastTheData: a shard whose last footer block points past its data (the manifest's
// sha256 restamped) makes inspect, loss and train fail naming the shard; before the fix inspect
// and loss reported the rows before it, exit 0, and train said the data ended at step 0.
func TestFooterPastTheData(t *testing.T) {
	dir := prepSample(t, "--rows-per-batch", "8")
	shard := filepath.Join(dir, "shard-00000.arrow")
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	// The last record batch block of the footer (24 bytes: offset, metadata length, body
	// length) is the one whose batch ends where the footer starts (or 8 bytes before, at an
	// end-of-stream marker): find it by scanning the footer, and point it past the file's end.
	size := int64(len(b))
	flen := int64(binary.LittleEndian.Uint32(b[size-10:]))
	fstart := size - 10 - flen
	patched := false
	for at := fstart; at+24 <= size-10; at += 8 {
		off := int64(binary.LittleEndian.Uint64(b[at:]))
		meta := int64(int32(binary.LittleEndian.Uint32(b[at+8:])))
		body := int64(binary.LittleEndian.Uint64(b[at+16:]))
		if end := off + meta + body; off > 0 && meta > 0 && body > 0 && (end == fstart || end+8 == fstart) {
			binary.LittleEndian.PutUint64(b[at:], uint64((size+16)&^7)) // past the end, 8-aligned
			patched = true
			break
		}
	}
	if !patched {
		t.Fatal("last footer block not found")
	}
	os.WriteFile(shard, b, 0o644)
	sum := sha256.Sum256(b)
	editManifest(t, dir, func(m *shards.Manifest) { m.Shards[0].SHA256 = hex.EncodeToString(sum[:]) })

	// A model to evaluate with, trained on intact shards.
	run := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := kiln(t, "train", "--data", prepSample(t, "--rows-per-batch", "8"), "--out", run, "--steps", "1", "--batch-size", "4"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	ckpts, _ := filepath.Glob(filepath.Join(run, "checkpoint-*"))
	if len(ckpts) == 0 {
		t.Fatal("no checkpoint")
	}
	for _, args := range [][]string{
		{"inspect", dir},
		{"loss", "--checkpoint", ckpts[0], "--data", dir, "--limit", "0"},
		{"train", "--data", dir, "--out", filepath.Join(t.TempDir(), "run2"), "--steps", "2", "--batch-size", "4"},
	} {
		code, stdout, stderr := kilnWithin(t, args...)
		t.Logf("kiln %s: exit %d: %s", args[0], code, stderr)
		if code != 1 || !strings.Contains(stderr, shard) || strings.Contains(stderr, "data ended") {
			t.Errorf("kiln %s: exit %d: %s %s; want exit 1 naming %s", strings.Join(args, " "), code, stdout, stderr, shard)
		}
	}
}
