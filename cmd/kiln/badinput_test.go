package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
	"github.com/klauspost/compress/gzip"
)

// TestBadFlagValues: flag values out of range are usage errors (exit 2) that name the flag,
// before any work; they are not replaced by defaults without a word.
func TestBadFlagValues(t *testing.T) {
	in := "sample/corpus/moby_dick_chapter_001.txt"
	prep := func(extra ...string) []string {
		out := filepath.Join(t.TempDir(), "out")
		return append([]string{"prep", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress"}, extra...)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{prep("--workers", "0"), "--workers"},
		{prep("--max-line-bytes", "0"), "--max-line-bytes"},
		{prep("--max-doc-bytes", "-1"), "--max-doc-bytes"},
		{prep("--reservoir-docs", "0"), "--reservoir-docs"},
		{prep("--shard-mb", "0"), "--shard-mb"},
		{prep("--shard-mb", "NaN"), "--shard-mb"},
		{prep("--rows-per-batch", "-5"), "--rows-per-batch"},
		{prep("--format", "jsonl", "--json-field", ""), "--json-field"},
		{prep("--bins", "32,x"), "--bins"},
		{prep("--format", "csv"), "--format"},
		{prep("--task", "mlm"), "--task"},
		{prep("--masking", "later"), "--masking"},
		{prep("--max-seq-len", "4"), "--max-seq-len"},
		{prep("--max-predictions", "0"), "--max-predictions"},
		{prep("--masked-lm-prob", "-0.1"), "--masked-lm-prob"},
		{prep("--masked-lm-prob", "NaN"), "--masked-lm-prob"},
		{prep("--short-seq-prob", "2"), "--short-seq-prob"},
		{prep("--dupe-factor", "0"), "--dupe-factor"},
		{prep("--shuffle-buffer", "-1"), "--shuffle-buffer"},
		{prep("--compression", "gzip"), "--compression"},
		{prep("--arrow-format", "parquet"), "--arrow-format"},
		{[]string{"tokenize", "--vocab", sampleVocab, "--max-line-bytes", "0", in}, "--max-line-bytes"},
		{[]string{"tokenize", "--vocab", sampleVocab, "--workers", "-1", in}, "--workers"},
		{[]string{"tokenize", "--vocab", sampleVocab, "--output", "pieces", in}, "--output"},
	} {
		code, _, stderr := kiln(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.flag) {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(tc.args, " "), code, stderr, tc.flag)
		}
	}
}

// TestTokenizeCompressed: kiln tokenize reads .gz files as kiln prep does, decompressed.
func TestTokenizeCompressed(t *testing.T) {
	text, err := os.ReadFile("sample/corpus/moby_dick_chapter_001.txt")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(text)
	zw.Close()
	gz := filepath.Join(t.TempDir(), "chapter.txt.gz")
	if err := os.WriteFile(gz, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	code, plain, stderr := kiln(t, "tokenize", "--vocab", sampleVocab, "sample/corpus/moby_dick_chapter_001.txt")
	if code != 0 {
		t.Fatalf("tokenize: exit %d: %s", code, stderr)
	}
	code, fromGz, stderr := kiln(t, "tokenize", "--vocab", sampleVocab, gz)
	if code != 0 || fromGz != plain || !strings.Contains(stderr, " 0 invalid") {
		t.Errorf("tokenize of the .gz: exit %d, same ids as the text: %v; stderr %s", code, fromGz == plain, stderr)
	}
}

// TestTokenizeUTF16: UTF-16 input is refused, not tokenized as invalid UTF-8.
func TestTokenizeUTF16(t *testing.T) {
	u16 := []byte{0xff, 0xfe}
	for _, r := range "Hello there.\n" {
		u16 = append(u16, byte(r), 0)
	}
	in := filepath.Join(t.TempDir(), "u16.txt")
	if err := os.WriteFile(in, u16, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := kiln(t, "tokenize", "--vocab", sampleVocab, in)
	if code != 1 || stdout != "" || !strings.Contains(stderr, in+": UTF-16 text") {
		t.Errorf("tokenize of UTF-16: exit %d, stdout %q, stderr %q; want exit 1 naming the file as UTF-16", code, stdout, stderr)
	}
}

// TestPrepReportsProblems: a corpus that makes no sequence fails with the reason and writes
// no manifest; a one-document corpus (no NotNext possible) and an unfinished output directory
// are pointed out; verify wants a directory.
func TestPrepReportsProblems(t *testing.T) {
	tmp := t.TempDir()
	empty := filepath.Join(tmp, "empty.txt")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "none")
	code, _, stderr := kiln(t, "prep", "--input", empty, "--vocab", sampleVocab, "--output", out, "--no-progress")
	if code != 1 || !strings.Contains(stderr, "no sequences") {
		t.Errorf("prep of an empty file: exit %d, stderr %q; want exit 1 saying no sequences", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, shards.ManifestName)); err == nil {
		t.Error("prep of an empty file wrote a manifest")
	}

	one := filepath.Join(tmp, "one")
	code, _, stderr = kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
		"--output", one, "--max-seq-len", "64", "--no-progress")
	if code != 0 || !strings.Contains(stderr, "warning") || !strings.Contains(stderr, "no other document") {
		t.Errorf("prep of one document: exit %d, stderr %q; want a warning about NotNext", code, stderr)
	}

	other := filepath.Join(tmp, "other-vocab.txt")
	vb, err := os.ReadFile(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(vb, "extra\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = kiln(t, "inspect", "--vocab", other, one)
	if code != 0 || !strings.Contains(stderr, "is not the vocabulary the shards were made with") {
		t.Errorf("inspect with another vocabulary: exit %d, stderr %q; want a warning", code, stderr)
	}

	code, _, stderr = kiln(t, "verify", filepath.Join(one, "shard-00000.arrow"))
	if code != 2 || !strings.Contains(stderr, "is a file") {
		t.Errorf("verify of a shard file: exit %d, stderr %q; want exit 2 asking for the directory", code, stderr)
	}

	// An unfinished run: the progress file, no manifest (as a killed kiln prep leaves it).
	if err := os.Rename(filepath.Join(one, shards.ManifestName), filepath.Join(one, shards.ProgressName)); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = kiln(t, "inspect", one)
	if code != 0 || !strings.Contains(stderr, "unfinished kiln prep run") {
		t.Errorf("inspect of an unfinished run: exit %d, stderr %q; want a warning", code, stderr)
	}
	code, _, stderr = kiln(t, "verify", one)
	if code != 1 || !strings.Contains(stderr, "unfinished kiln prep run") {
		t.Errorf("verify of an unfinished run: exit %d, stderr %q; want a failure saying so", code, stderr)
	}
}

// TestVocabAndTokenizerDisagree: --vocab and --tokenizer together must hold one vocabulary;
// otherwise one of them would be ignored without a word.
func TestVocabAndTokenizerDisagree(t *testing.T) {
	b, err := os.ReadFile(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	tokens := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	write := func(tokens []string) string {
		vocab := make(map[string]int, len(tokens))
		for id, tok := range tokens {
			vocab[tok] = id
		}
		cfg := map[string]any{
			"version":        "1.0",
			"normalizer":     map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
			"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
			"post_processor": nil,
			"decoder":        map[string]any{"type": "WordPiece", "prefix": "##", "cleanup": true},
			"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
				"max_input_chars_per_word": 100, "vocab": vocab},
		}
		j, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "tokenizer.json")
		if err := os.WriteFile(p, j, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(tokJSON string) (int, string) {
		code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", sampleVocab,
			"--tokenizer", tokJSON, "--output", filepath.Join(t.TempDir(), "out"), "--max-seq-len", "64", "--no-progress")
		return code, stderr
	}
	if code, stderr := run(write(tokens)); code != 0 {
		t.Errorf("the same vocabulary twice: exit %d: %s", code, stderr)
	}
	swapped := append([]string(nil), tokens...)
	swapped[2000], swapped[2001] = swapped[2001], swapped[2000]
	if code, stderr := run(write(swapped)); code != 1 || !strings.Contains(stderr, "disagree: id 2000") {
		t.Errorf("two vocabularies: exit %d, stderr %q; want exit 1 naming id 2000", code, stderr)
	}
}

// TestDemoDir: kiln demo empties only a directory it made itself; bad flag values stop it
// before it touches anything.
func TestDemoDir(t *testing.T) {
	tmp := t.TempDir()
	keep := filepath.Join(tmp, "other", "keep.txt")
	if err := os.MkdirAll(filepath.Dir(keep), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--dir", filepath.Dir(keep)}, "did not make"},
		{[]string{"demo", "--dir", tmp}, "did not make"},
		{[]string{"demo", "--dir", keep}, "is a file"},
		{[]string{"demo", "--dir", filepath.Dir(keep), "--steps", "0"}, "steps"},
		{[]string{"demo", "--dir", filepath.Dir(keep), "--max-seq-len", "100000"}, "max-seq-len"},
	} {
		code, _, stderr := kiln(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
		if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
			t.Fatalf("kiln %s touched %s: %q, %v", strings.Join(tc.args, " "), keep, b, err)
		}
	}
	// A directory of an earlier demo is emptied and made again.
	dir := filepath.Join(tmp, "demo")
	if err := freshDemoDir(dir); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "stale.txt")
	if err := os.WriteFile(stale, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := freshDemoDir(dir); err != nil {
		t.Fatalf("an earlier demo's directory: %v", err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("an earlier demo's directory was not emptied")
	}
}

// TestPretrainResumeOtherData: pretrain --resume refuses a corpus or prep settings other than
// the checkpoint's, naming what differs, and resumes with the same ones.
func TestPretrainResumeOtherData(t *testing.T) {
	out := filepath.Join(t.TempDir(), "model")
	args := func(extra ...string) []string {
		return append([]string{"pretrain", "--input", "sample/corpus/moby_dick_chapter_001.txt", "sample/corpus/moby_dick_chapter_002.txt",
			"--vocab", sampleVocab, "--out", out, "--steps", "4", "--batch-size", "4", "--checkpoint-every", "2"}, extra...)
	}
	if code, _, stderr := kiln(t, args("--max-seq-len", "64")...); code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, stderr)
	}
	if err := os.RemoveAll(filepath.Join(out, "checkpoint-00000004")); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := kiln(t, args("--max-seq-len", "32", "--resume")...)
	if code != 1 || !strings.Contains(stderr, "max_seq_len 64 (checkpoint) vs 32 (now)") {
		t.Errorf("resume with another --max-seq-len: exit %d, stderr %q; want it refused, naming max_seq_len", code, stderr)
	}
	if code, _, stderr := kiln(t, args("--max-seq-len", "64", "--resume")...); code != 0 {
		t.Errorf("resume with the same settings: exit %d: %s", code, stderr)
	}
}

// TestTrainChangedShard: a shard whose bytes changed after prep (same size) is refused by
// train and loss, as data and as --eval-data, naming the shard, instead of being trained on.
func TestTrainChangedShard(t *testing.T) {
	tmp := t.TempDir()
	data, clean := filepath.Join(tmp, "shards"), filepath.Join(tmp, "clean")
	for _, dir := range []string{data, clean} {
		if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "sample/corpus/moby_dick_chapter_002.txt",
			"--vocab", sampleVocab, "--output", dir, "--max-seq-len", "64", "--compression", "none", "--no-progress"); code != 0 {
			t.Fatalf("prep: exit %d: %s", code, stderr)
		}
	}
	good := filepath.Join(tmp, "good")
	if code, _, stderr := kiln(t, "train", "--data", clean, "--out", good, "--steps", "2", "--batch-size", "4"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	shard := filepath.Join(data, "shard-00000.arrow")
	b, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01 // an id in the uncompressed body: the file still reads
	if err := os.WriteFile(shard, b, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"train", "--data", data, "--out", filepath.Join(tmp, "m1"), "--steps", "2", "--batch-size", "4"},
		{"train", "--data", clean, "--out", filepath.Join(tmp, "m2"), "--steps", "2", "--batch-size", "4", "--eval-data", data},
		{"loss", "--checkpoint", filepath.Join(good, "checkpoint-00000002"), "--data", data},
	} {
		code, _, stderr := kiln(t, args...)
		if code != 1 || !strings.Contains(stderr, shard) || !strings.Contains(stderr, "sha256") {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 1 naming %s and its sha256", strings.Join(args, " "), code, stderr, shard)
		}
	}
}
