package prepflags

import (
	"flag"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
)

func TestSpreadMulti(t *testing.T) {
	got := SpreadMulti([]string{"--input", "a", "b", "--format", "text", "-input", "c", "--", "--input", "d"}, "input")
	want := []string{"--input", "a", "--input", "b", "--format", "text", "-input", "c", "--", "--input", "d"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SpreadMulti = %q, want %q", got, want)
	}
}

// TestFlagNamesCover: every field that ExampleConfig.Validate and ShardOptions.Validate may
// name, when the flags fill it, maps to a flag: no bad flag value is reported by a Go field
// name.
func TestFlagNamesCover(t *testing.T) {
	prep := flag.NewFlagSet("prep", flag.ContinueOnError)
	cfg, _ := RegisterExample(prep, false)
	RegisterShard(prep)
	prep.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "")
	for _, c := range []struct {
		fs    *flag.FlagSet
		names map[string]string
	}{{prep, exampleFlagNames}, {prep, shardFlagNames}} {
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
		cfg, inputs := RegisterExample(fs, false)
		fs.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "")
		if err := Parse(fs, append([]string{"--input", "x"}, args...)); err == nil {
			err = FinishExample(fs, cfg, inputs)
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
	RegisterExample(fs, false)
	RegisterShard(fs)
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
