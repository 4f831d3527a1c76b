package prepflags

import (
	"flag"
	"fmt"
	"runtime"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pipeline"
)

// RegisterExample registers on fs the flags that say how a corpus becomes examples (shared by
// kiln prep, kiln pretrain and kiln-beam prep) and returns the config they fill and the
// --input values. For pretrain (forPretrain), --seed is the trainer's and --masking is not
// offered: pretrain always masks rows as they are read.
func RegisterExample(fs *flag.FlagSet, forPretrain bool) (*pipeline.ExampleConfig, *MultiValue) {
	cfg := pipeline.DefaultExampleConfig()
	inputs := new(MultiValue)
	fs.Var(inputs, "input", "input `PATH`s: files, directories (read recursively, sorted) or globs; several may follow one --input")
	TextVar(fs, &cfg.Format, "format", "input `FORMAT`: lines (one sentence per line, blank line between documents), text (one document per file, paragraphs at blank lines), jsonl, parquet or arrow (Arrow IPC file or stream; one document per row)")
	fs.StringVar(&cfg.JSONField, "json-field", cfg.JSONField, "jsonl: the field that holds a document's text")
	fs.StringVar(&cfg.TextColumn, "text-column", "text", "parquet, arrow: the string column that holds a document's text (jsonl: the same as --json-field)")
	fs.Int64Var(&cfg.MaxRowGroupBytes, "max-row-group-bytes", pipeline.DefaultMaxRowGroupBytes, "parquet, arrow: the most memory one row group or record batch may take, as the file declares it; larger ones are an error")
	fs.StringVar(&cfg.Vocab, "vocab", "", "WordPiece vocabulary `FILE` (vocab.txt)")
	fs.StringVar(&cfg.Tokenizer, "tokenizer", "", "Hugging Face tokenizer.json `FILE` (instead of --vocab)")
	fs.BoolVar(&cfg.Cased, "cased", false, "keep case and accents (for cased vocabularies)")
	fs.IntVar(&cfg.MaxSeqLen, "max-seq-len", cfg.MaxSeqLen, "longest sequence, [CLS] and [SEP]s included (at most 65536)")
	fs.IntVar(&cfg.MaxPredictions, "max-predictions", cfg.MaxPredictions, "most masked positions per sequence")
	fs.Float64Var(&cfg.MaskedLMProb, "masked-lm-prob", cfg.MaskedLMProb, "share of tokens to mask")
	maskSplitFlags(fs, &cfg)
	fs.Float64Var(&cfg.ShortSeqProb, "short-seq-prob", cfg.ShortSeqProb, "probability of a shorter target length for a document pass")
	fs.IntVar(&cfg.DupeFactor, "dupe-factor", cfg.DupeFactor, "passes over each document, each with other pairs and masks (1 to 1000)")
	TextVar(fs, &cfg.Task, "task", "pair `TASK`: nsp (next sentence prediction), sop (sentence order prediction) or none (MLM only)")
	if forPretrain {
		cfg.Masking = masking.Dynamic
	} else {
		TextVar(fs, &cfg.Masking, "masking", "`MODE`: static (masks stored in the shards) or dynamic (the trainer masks at read time)")
	}
	fs.BoolVar(&cfg.WholeWordMask, "whole-word-mask", false, "mask whole words (## pieces join their word)")
	fs.IntVar(&cfg.ReservoirDocs, "reservoir-docs", cfg.ReservoirDocs, "previous documents kept to draw NotNext segments from (1 to 1000000)")
	fs.IntVar(&cfg.ShuffleBuffer, "shuffle-buffer", cfg.ShuffleBuffer, "rows mixed in a seeded shuffle buffer before writing (0: document order; at most 10000000)")
	if !forPretrain {
		fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	}
	fs.IntVar(&cfg.Workers, "workers", runtime.NumCPU(), "goroutines that split and tokenize, 1 to 4096 (the output does not depend on it)")
	fs.IntVar(&cfg.MaxLineBytes, "max-line-bytes", cfg.MaxLineBytes, "input lines longer than this are skipped and counted (at most 1 GiB)")
	fs.IntVar(&cfg.MaxDocBytes, "max-doc-bytes", cfg.MaxDocBytes, "documents longer than this are cut in parts and counted (at most 1 GiB; memory is a multiple of it)")
	return &cfg, inputs
}

// FinishExample moves --input values and stray arguments into cfg and checks it
// (ExampleConfig.Validate): a bad value is a usage error naming its flag.
func FinishExample(fs *flag.FlagSet, cfg *pipeline.ExampleConfig, inputs *MultiValue) error {
	cfg.Inputs = append(append([]string(nil), (*inputs)...), fs.Args()...)
	if len(cfg.Inputs) == 0 {
		fmt.Fprintln(fs.Output(), "no input: give --input PATH...")
		fs.Usage()
		return ErrUsage
	}
	if err := finishTextColumn(fs, cfg); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return SettingError(err, exampleFlagNames)
	}
	return nil
}

// exampleFlagNames maps pipeline.ExampleConfig's fields to their flags (SettingError).
var exampleFlagNames = map[string]string{
	"Format": "--format", "JSONField": "--json-field", "TextColumn": "--text-column",
	"MaxRowGroupBytes": "--max-row-group-bytes", "MaxSeqLen": "--max-seq-len",
	"MaxPredictions": "--max-predictions", "MaskedLMProb": "--masked-lm-prob",
	"MaskTokenProb": "--mask-token-prob", "RandomTokenProb": "--random-token-prob",
	"ShortSeqProb": "--short-seq-prob", "DupeFactor": "--dupe-factor", "Task": "--task",
	"Masking": "--masking", "ReservoirDocs": "--reservoir-docs", "ShuffleBuffer": "--shuffle-buffer",
	"Workers": "--workers", "MaxLineBytes": "--max-line-bytes", "MaxDocBytes": "--max-doc-bytes",
	"EvalFraction": "--eval-fraction",
}
