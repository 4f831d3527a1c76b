package main

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
)

// TestFlagValueOneMechanism: a flag value out of range, in any command, is reported one way:
// exit 2 and one line "kiln CMD: --FLAG VALUE: want ...", from the config's Validate, with no
// usage dump. (The training flags were checked by the flag package as they were parsed:
// "invalid value ... for flag -lr", then the whole usage.)
func TestFlagValueOneMechanism(t *testing.T) {
	in := "sample/corpus/moby_dick_chapter_001.txt"
	out := filepath.Join(t.TempDir(), "out")
	prep := []string{"prep", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress"}
	train := []string{"train", "--data", "no-such-shards", "--out", out}
	pretrain := []string{"pretrain", "--input", in, "--vocab", sampleVocab, "--out", out}
	loss := []string{"loss", "--checkpoint", "no-such-checkpoint", "--data", "no-such-shards"}
	for _, tc := range []struct {
		base      []string
		flag, val string
		want      string
	}{
		{prep, "task", "mlm", `--task "mlm": want nsp, sop or none`},
		{prep, "masking", "later", `--masking "later": want static or dynamic`},
		{prep, "format", "csv", `--format "csv": want lines, text, jsonl, parquet or arrow`},
		{prep, "compression", "gzip", `--compression "gzip": want zstd, lz4 or none`},
		{prep, "arrow-format", "parquet", `--arrow-format "parquet": want file or stream`},
		{prep, "max-seq-len", "4", "--max-seq-len 4: want at least 5 for --task nsp"},
		{prep, "max-predictions", "129", "--max-predictions 129: want at most --max-seq-len (128)"},
		{prep, "workers", "0", "--workers 0: want 1 to 4096"},
		{prep, "mask-token-prob", "1.5", "--mask-token-prob 1.5: want a probability in [0, 1]"},
		{prep, "random-token-prob", "0.3", "--mask-token-prob 0.8 and --random-token-prob 0.3: want shares that add up to at most 1"},
		{prep, "eval-fraction", "1", "--eval-fraction 1: want a share in [0, 1)"},
		{prep, "rows-per-batch", "0", "--rows-per-batch 0: want 1 to 1048576"},
		{prep, "bins", "32,64", `--bins "32,64": want a last bin that holds the longest rows (--max-seq-len 128)`},
		{train, "steps", "0", "--steps 0: want 1 to 1000000000"},
		{train, "lr", "0", "--lr 0: want a positive, finite learning rate"},
		{train, "lr", "2", "--lr 2: want a learning rate in (0, 1]"},
		{train, "weight-decay", "-1", "--weight-decay -1: want a finite weight decay, 0 or more"},
		{train, "warmup", "-1", "--warmup -1: want 0 to 1000000000 warm-up steps"},
		{pretrain, "log-every", "0", "--log-every 0: want 1 to 1000000000"},
		{pretrain, "task", "mlm", `--task "mlm": want nsp, sop or none`},
		{loss, "limit", "-1", "--limit -1: want 0 (all rows) or more"},
		{loss, "batch-size", "0", "--batch-size 0: want 1 to 16777216"},
		{[]string{"tokenize", "--vocab", sampleVocab}, "workers", "0", "--workers 0: want 1 to 4096"},
	} {
		args := append(append([]string(nil), tc.base...), "--"+tc.flag, tc.val)
		if tc.base[0] == "tokenize" {
			args = append(args, in)
		}
		code, _, stderr := kiln(t, args...)
		want := "kiln " + tc.base[0] + ": " + tc.want
		if code != 2 || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 and the one line %q", strings.Join(args, " "), code, stderr, want)
		}
	}
}

// TestTrainFlagNamesCover: every field that TrainConfig.Validate may name, when the flags fill
// it, maps to a flag: no bad flag value is reported by a Go field name. (The prep flags' maps
// are checked in internal/prepflags, TestFlagNamesCover.)
func TestTrainFlagNamesCover(t *testing.T) {
	train := flag.NewFlagSet("train", flag.ContinueOnError)
	trainFlags(train)
	for field, name := range trainFlagNames {
		if train.Lookup(strings.TrimPrefix(name, "--")) == nil {
			t.Errorf("field %s maps to %s, which is no flag of %s", field, name, train.Name())
		}
	}
}
