package main

import (
	"flag"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
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

// TestFlagNamesCover: every field that ExampleConfig.Validate, ShardOptions.Validate and
// TrainConfig.Validate may name, when the flags fill it, maps to a flag: no bad flag value is
// reported by a Go field name.
func TestFlagNamesCover(t *testing.T) {
	prep := flag.NewFlagSet("prep", flag.ContinueOnError)
	cfg, _ := exampleFlags(prep, false)
	shardFlags(prep)
	prep.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "")
	train := flag.NewFlagSet("train", flag.ContinueOnError)
	trainFlags(train)
	for _, c := range []struct {
		fs    *flag.FlagSet
		names map[string]string
	}{{prep, exampleFlagNames}, {prep, shardFlagNames}, {train, trainFlagNames}} {
		for field, name := range c.names {
			if c.fs.Lookup(strings.TrimPrefix(name, "--")) == nil {
				t.Errorf("field %s maps to %s, which is no flag of %s", field, name, c.fs.Name())
			}
		}
	}
	// The fields the flags fill, each given a bad value through its flag.
	for _, args := range [][]string{
		{"--format", "csv"}, {"--task", "mlm"}, {"--masking", "x"}, {"--json-field", "", "--format", "jsonl"},
		{"--text-column", "", "--format", "arrow"}, {"--max-row-group-bytes", "0"}, {"--max-seq-len", "3"},
		{"--max-predictions", "0"}, {"--masked-lm-prob", "2"}, {"--mask-token-prob", "2"}, {"--random-token-prob", "2"},
		{"--short-seq-prob", "2"}, {"--dupe-factor", "0"}, {"--reservoir-docs", "0"}, {"--shuffle-buffer", "-1"},
		{"--workers", "0"}, {"--max-line-bytes", "0"}, {"--max-doc-bytes", "0"}, {"--eval-fraction", "2"},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg, inputs := exampleFlags(fs, false)
		fs.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "")
		if err := parseFlags(fs, append([]string{"--input", "x"}, args...)); err == nil {
			err = finishExampleFlags(fs, cfg, inputs)
			if err == nil || !strings.HasPrefix(err.Error(), args[0]+" ") {
				t.Errorf("%q: %v, want an error naming %s", args, err, args[0])
			}
		} else if !strings.HasPrefix(err.Error(), args[0]+" ") {
			t.Errorf("%q: %v, want an error naming %s", args, err, args[0])
		}
	}
}

// TestFlagDefaultsAgree: the command line's defaults are the library's, defined once
// (shards.DefaultRowsPerBatch was 8192 beside --rows-per-batch 32768).
func TestFlagDefaultsAgree(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	exampleFlags(fs, false)
	shardFlags(fs)
	d := pipeline.DefaultExampleConfig()
	for name, want := range map[string]string{
		"rows-per-batch": strconv.Itoa(shards.DefaultRowsPerBatch), "shuffle-buffer": strconv.Itoa(shards.DefaultShuffleBuffer),
		"shard-mb": strconv.Itoa(shards.DefaultShardBytes >> 20), "format": d.Format.String(), "task": d.Task.String(),
		"masking": d.Masking.String(), "compression": string(shards.Zstd), "arrow-format": string(shards.IPCFile),
		"max-row-group-bytes": strconv.Itoa(pipeline.DefaultMaxRowGroupBytes), "reservoir-docs": strconv.Itoa(d.ReservoirDocs),
	} {
		if got := fs.Lookup(name).DefValue; got != want {
			t.Errorf("--%s defaults to %s, the library to %s", name, got, want)
		}
	}
	if shards.DefaultRowsPerBatch != 32768 || d.ShuffleBuffer != 10000 {
		t.Errorf("defaults changed from the README's: rows per batch %d, shuffle buffer %d", shards.DefaultRowsPerBatch, d.ShuffleBuffer)
	}
}
