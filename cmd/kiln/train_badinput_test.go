package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/trainer"
)

// TestTrainBadFlagValues checks that bad values of the training flags (shared by train and
// pretrain) and of loss's are usage errors naming the flag, before anything starts.
func TestTrainBadFlagValues(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	train := []string{"train", "--data", "no-such-shards", "--out", out}
	pretrain := []string{"pretrain", "--input", "sample/corpus", "--vocab", sampleVocab, "--out", out}
	loss := []string{"loss", "--checkpoint", "no-such-checkpoint", "--data", "no-such-shards"}
	tests := []struct {
		base []string
		flag string
		val  string
		want string
	}{
		{train, "lr", "-1", "a positive, finite learning rate"},
		{train, "lr", "0", "a positive, finite learning rate"},
		{train, "lr", "NaN", "a positive, finite learning rate"},
		{train, "lr", "+Inf", "a learning rate in (0, 1]"},
		{train, "weight-decay", "NaN", "a finite weight decay, 0 or more"},
		{train, "weight-decay", "-1", "a finite weight decay, 0 or more"},
		{train, "warmup", "-1", "0 to 1000000000 warm-up steps"},
		{train, "steps", "0", "1 to 1000000000"},
		{train, "batch-size", "0", "1 to 16777216"},
		{train, "checkpoint-every", "0", "1 to 1000000000"},
		{train, "log-every", "-3", "1 to 1000000000"},
		{pretrain, "lr", "-1", "a positive, finite learning rate"},
		{pretrain, "batch-size", "0", "1 to 16777216"},
		{loss, "limit", "-5", "0 (all rows) or more"},
		{loss, "batch-size", "0", "1 to 16777216"},
	}
	for _, tc := range tests {
		t.Run(tc.base[0]+" --"+tc.flag+" "+tc.val, func(t *testing.T) {
			code, _, stderr := kiln(t, append(tc.base[:len(tc.base):len(tc.base)], "--"+tc.flag, tc.val)...)
			if code != 2 || !strings.Contains(stderr, "--"+tc.flag+" "+tc.val+": want "+tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 naming --%s and saying %q", code, stderr, tc.flag, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused command created %s", out)
	}
}

// writeConfig writes a Hugging Face config.json of the tiny model with the given fields changed.
func writeConfig(t *testing.T, path string, fields map[string]any) string {
	t.Helper()
	c := map[string]any{"vocab_size": 30522, "hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
		"intermediate_size": 512, "max_position_embeddings": 512, "type_vocab_size": 2}
	for k, v := range fields {
		c[k] = v
	}
	b, _ := json.Marshal(c)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainBadInput runs train and loss against bad data, models and checkpoints: each is
// refused with an error naming the file or flag and what is wrong.
func TestTrainBadInput(t *testing.T) {
	tmp := t.TempDir()
	chapter := "sample/corpus/moby_dick_chapter_001.txt"
	data := filepath.Join(tmp, "shards")
	if code, _, stderr := kiln(t, "prep", "--input", chapter, "--vocab", sampleVocab, "--output", data, "--max-seq-len", "32"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	// The same text with a vocabulary that differs in one token.
	vb, err := os.ReadFile(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(vb), "\n")
	lines[2000] = "zzqqxx"
	otherVocab := filepath.Join(tmp, "other-vocab.txt")
	if err := os.WriteFile(otherVocab, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	otherData := filepath.Join(tmp, "other-shards")
	if code, _, stderr := kiln(t, "prep", "--input", chapter, "--vocab", otherVocab, "--output", otherData, "--max-seq-len", "32"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	out := filepath.Join(tmp, "run")
	train := []string{"train", "--data", data, "--out", out, "--steps", "2", "--batch-size", "4", "--warmup", "1"}
	code, _, stderr := kiln(t, append(train, "--resume")...)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "no checkpoint in "+out+": starting from step 0") {
		t.Errorf("--resume without a checkpoint did not say it starts afresh: %s", stderr)
	}
	ckpt := filepath.Join(out, "checkpoint-00000002")

	notShards := filepath.Join(tmp, "fx")
	if err := os.MkdirAll(notShards, 0o755); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated")
	if err := os.CopyFS(truncated, os.DirFS(data)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(truncated, "shard-00000.arrow"), 100); err != nil {
		t.Fatal(err)
	}
	hugeCkpt := filepath.Join(tmp, "huge-checkpoint")
	if err := os.MkdirAll(hugeCkpt, 0o755); err != nil {
		t.Fatal(err)
	}
	writeConfig(t, filepath.Join(hugeCkpt, "config.json"), map[string]any{"vocab_size": 1e12})
	fresh := filepath.Join(tmp, "fresh")
	freshTrain := []string{"train", "--data", data, "--out", fresh, "--steps", "1", "--batch-size", "4"}
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"not shards", []string{"train", "--data", notShards, "--out", fresh}, []string{notShards + " is not a kiln shards directory (no manifest.json"}},
		{"eval data not shards", append(freshTrain, "--eval-data", notShards), []string{"--eval-data: " + notShards + " is not a kiln shards directory"}},
		{"truncated shard", []string{"train", "--data", truncated, "--out", fresh}, []string{filepath.Join(truncated, "shard-00000.arrow") + " is 100 bytes", "kiln verify " + truncated}},
		{"loss truncated shard", []string{"loss", "--checkpoint", ckpt, "--data", truncated}, []string{"kiln verify " + truncated}},
		{"huge config", append(freshTrain, "--model", writeConfig(t, filepath.Join(tmp, "huge.json"), map[string]any{"hidden_size": 1e12})),
			[]string{"huge.json", "hidden_size 1000000000000 is more than kiln supports"}},
		{"layers 1e9", append(freshTrain, "--model", writeConfig(t, filepath.Join(tmp, "deep.json"), map[string]any{"num_hidden_layers": 1e9})),
			[]string{"deep.json", "(2^34) parameters"}},
		{"positions", append(freshTrain, "--model", writeConfig(t, filepath.Join(tmp, "short.json"), map[string]any{"max_position_embeddings": 16})),
			[]string{"short.json", filepath.Join(data, "manifest.json"), "max_seq_len 32 tokens, more than the model's max_position_embeddings 16"}},
		{"type vocab", append(freshTrain, "--model", writeConfig(t, filepath.Join(tmp, "onetype.json"), map[string]any{"type_vocab_size": 1})),
			[]string{"onetype.json", "type_vocab_size is 1"}},
		{"resume other model", append(train, "--resume", "--model", "mini"), []string{"differs from --model mini", "hidden_size 128 (checkpoint) vs 256 (--model)"}},
		{"resume other steps", append(append(train[:len(train):len(train)], "--resume"), "--steps", "5"), []string{"--steps 2 (checkpoint) vs 5 (now)"}},
		{"resume other vocabulary", []string{"train", "--data", otherData, "--out", out, "--steps", "2", "--batch-size", "4", "--warmup", "1", "--resume"},
			[]string{"--data " + otherData + " holds shards made with another vocabulary"}},
		{"loss huge checkpoint config", []string{"loss", "--checkpoint", hugeCkpt, "--data", data}, []string{filepath.Join(hugeCkpt, "config.json"), "vocab_size 1000000000000"}},
		{"loss other vocabulary", []string{"loss", "--checkpoint", ckpt, "--data", otherData}, []string{filepath.Join(otherData, "manifest.json"), "another vocabulary"}},
	}
	if total, ok := trainer.MemTotal(); ok && total < 1<<40 {
		tests = append(tests, struct {
			name string
			args []string
			want []string
		}{"batch too large", append(freshTrain, "--batch-size", "10000000"), []string{"model config tiny", "parameters need at least", "this machine has"}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := kiln(t, tc.args...)
			if code != 1 {
				t.Errorf("exit %d, want 1: %s", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Errorf("a refused run created %s", fresh)
	}
	if code, stdout, stderr := kiln(t, append(train, "--resume", "--model", "tiny")...); code != 0 || !strings.Contains(stdout, "step 2") {
		t.Errorf("resume with the checkpoint's own --model: exit %d: %s", code, stderr)
	}

	// A checkpoint whose weights hold NaN.
	m, err := trainer.LoadModel(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	ts := m.Tensors()
	ts[0].Data[3] = float32(math.NaN())
	if err := trainer.WriteSafetensors(filepath.Join(ckpt, trainer.WeightsFile), ts, nil); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := kiln(t, "loss", "--checkpoint", ckpt, "--data", data); code != 1 || !strings.Contains(stderr, ts[0].Name+`" holds NaN at index 3`) {
		t.Errorf("loss on NaN weights: exit %d: %s %s", code, stdout, stderr)
	}
}

// TestTrainMovedVocab checks the message when the vocabulary that dynamically masked shards
// name in their manifest has moved, and that --vocab gives it.
func TestTrainMovedVocab(t *testing.T) {
	tmp := t.TempDir()
	vocab := filepath.Join(tmp, "vocab.txt")
	b, err := os.ReadFile(sampleVocab)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vocab, b, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "shards")
	if code, _, stderr := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", vocab, "--output", data,
		"--max-seq-len", "32", "--masking", "dynamic"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, stderr)
	}
	moved := filepath.Join(tmp, "moved.txt")
	if err := os.Rename(vocab, moved); err != nil {
		t.Fatal(err)
	}
	args := []string{"train", "--data", data, "--out", filepath.Join(tmp, "run"), "--steps", "1", "--batch-size", "4"}
	code, _, stderr := kiln(t, args...)
	if code != 1 || !strings.Contains(stderr, "the vocabulary named in "+filepath.Join(data, "manifest.json")) ||
		!strings.Contains(stderr, vocab) || !strings.Contains(stderr, "give --vocab FILE") {
		t.Errorf("moved vocabulary: exit %d: %s", code, stderr)
	}
	if code, _, stderr := kiln(t, append(args, "--vocab", moved)...); code != 0 {
		t.Errorf("with --vocab: exit %d: %s", code, stderr)
	}
}
