// Package prepflags defines the command-line flags that decide what kiln's prep writes (the
// corpus, the tokenizer, pairing, masking and shard settings) and their checks, so that every
// command that prepares shards (kiln prep, kiln pretrain, kiln-beam prep) offers the same
// flags, with the same defaults, ranges and messages.
//
// The definitions are those of cmd/kiln (exampleFlags, finishExampleFlags, shardFlags and
// their helpers), moved here unchanged so that the nested Beam module can reach them.
package prepflags

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/pipeline"
)

// ErrUsage marks an error already reported with the command's usage.
var ErrUsage = errors.New("usage error")

// ErrFlagValue marks a flag value that is out of range or malformed: exit code 2, as for a
// usage error, with the message printed.
var ErrFlagValue = errors.New("bad flag value")

// flagError is a bad flag value; BadFlag makes one.
type flagError string

func (e flagError) Error() string        { return string(e) }
func (e flagError) Is(target error) bool { return target == ErrFlagValue }

// BadFlag returns an error for a bad flag value; the message names the flag.
func BadFlag(format string, args ...any) error { return flagError(fmt.Sprintf(format, args...)) }

// NewFlagSet returns a FlagSet for the subcommand name of the command prog, whose usage lists
// synopsis and the flags (spelt "--name", as kiln's documentation spells them).
func NewFlagSet(prog, name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(prog+" "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s %s %s\n\nFlags:\n", prog, name, synopsis)
		PrintDefaults(fs, stderr)
	}
	return fs
}

// PrintDefaults prints the flags of fs as the flag package does, spelt "--name".
func PrintDefaults(fs *flag.FlagSet, w io.Writer) {
	var b strings.Builder
	out := fs.Output()
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(out)
	io.WriteString(w, strings.ReplaceAll("\n"+b.String(), "\n  -", "\n  --")[1:])
}

// Parse parses args, turning a parse failure into ErrUsage (the flag package has already
// printed the problem and the usage).
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	return nil
}

// MultiValue lets a flag take several values: "--input a b c" as well as repeated
// "--input a --input b".
type MultiValue []string

func (m *MultiValue) String() string     { return strings.Join(*m, " ") }
func (m *MultiValue) Set(v string) error { *m = append(*m, v); return nil }

// SpreadMulti rewrites "--name a b c --other" into "--name a --name b --name c --other" for
// each named multi-value flag, so that the flag package can parse it.
func SpreadMulti(args []string, names ...string) []string {
	isMulti := func(a string) bool {
		for _, n := range names {
			if a == "-"+n || a == "--"+n {
				return true
			}
		}
		return false
	}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		out = append(out, a)
		if !isMulti(a) {
			continue
		}
		first := true
		for i+1 < len(args) && (first || !strings.HasPrefix(args[i+1], "-")) {
			if !first {
				out = append(out, a)
			}
			out = append(out, args[i+1])
			i++
			first = false
		}
	}
	return out
}

// Upper bounds of the prep flags. Each is far above what a real run uses, and low enough that
// nothing derived from it overflows and that the memory it sets stays within a machine's.
const (
	// MaxWorkers: more goroutines than any machine has cores; each worker's buffers and the
	// chunks in flight between the stages (a few per worker) are counted in memory.
	MaxWorkers = 4096
	// MaxInputBytes bounds --max-line-bytes and --max-doc-bytes (1 GiB): a line or a document
	// is held in memory whole, a few times over (see the README's memory bound).
	MaxInputBytes = 1 << 30
	// MaxReservoirDocs: the reservoir holds about 64*--max-seq-len bytes per document
	// (16*max-seq-len int32 tokens), 8 GiB at 1e6 documents of 128.
	MaxReservoirDocs = 1_000_000
	// MaxDupeFactor: Google uses 10, RoBERTa-style static masking 40.
	MaxDupeFactor = 1000
	// MaxShuffleBuffer: rows held in memory, a few GB of rows at 1e7.
	MaxShuffleBuffer = 10_000_000
	// MaxSeqLen: the most a shard records (shards.Info.Validate).
	MaxSeqLen = 1 << 16
	// MaxShardMB: a shard of 1 TiB; --shard-mb * 2^20 stays far inside an int64.
	MaxShardMB = 1 << 20
	// MaxRowsPerBatch: an Arrow record batch is built in memory.
	MaxRowsPerBatch = 1 << 20
)

// IntRange is an integer flag's value and the range it must lie in.
type IntRange struct {
	Name     string
	V        int
	Min, Max int
}

// Check returns a usage error naming the flag when V is outside [Min, Max].
func (r IntRange) Check() error {
	if r.V < r.Min || r.V > r.Max {
		return BadFlag("--%s %d: want %d to %d", r.Name, r.V, r.Min, r.Max)
	}
	return nil
}

// Example holds the flags that say how a corpus becomes examples.
type Example struct {
	Config *pipeline.ExampleConfig
	Inputs *MultiValue // the --input values
}

// RegisterExample registers the flags that say how a corpus becomes examples (shared by prep
// and pretrain) on fs. For pretrain (forPretrain), --seed is the trainer's and --masking is
// not offered: pretrain always masks rows as they are read.
func RegisterExample(fs *flag.FlagSet, forPretrain bool) *Example {
	c := pipeline.DefaultExampleConfig()
	cfg := &c
	inputs := new(MultiValue)
	fs.Var(inputs, "input", "input `PATH`s: files, directories (read recursively, sorted) or globs; several may follow one --input")
	fs.StringVar(&cfg.Format, "format", cfg.Format, "input format: lines (one sentence per line, blank line between documents), text (one document per file, paragraphs at blank lines), jsonl, parquet or arrow (Arrow IPC file or stream; one document per row)")
	fs.StringVar(&cfg.JSONField, "json-field", cfg.JSONField, "jsonl: the field that holds a document's text")
	fs.StringVar(&cfg.TextColumn, "text-column", "text", "parquet, arrow: the string column that holds a document's text (jsonl: the same as --json-field)")
	fs.Int64Var(&cfg.MaxRowGroupBytes, "max-row-group-bytes", pipeline.DefaultMaxRowGroupBytes, "parquet, arrow: the most memory one row group or record batch may take, as the file declares it; larger ones are an error")
	fs.StringVar(&cfg.Vocab, "vocab", "", "WordPiece vocabulary `FILE` (vocab.txt)")
	fs.StringVar(&cfg.Tokenizer, "tokenizer", "", "Hugging Face tokenizer.json `FILE` (instead of --vocab)")
	fs.BoolVar(&cfg.Cased, "cased", false, "keep case and accents (for cased vocabularies)")
	fs.IntVar(&cfg.MaxSeqLen, "max-seq-len", cfg.MaxSeqLen, "longest sequence, [CLS] and [SEP]s included (at most 65536)")
	fs.IntVar(&cfg.MaxPredictions, "max-predictions", cfg.MaxPredictions, "most masked positions per sequence")
	fs.Float64Var(&cfg.MaskedLMProb, "masked-lm-prob", cfg.MaskedLMProb, "share of tokens to mask")
	fs.Var(&shareFlag{&cfg.MaskTokenProb, 0.8}, "mask-token-prob",
		"share of the masked positions replaced by [MASK] (`P` in [0, 1]; Hugging Face's mask_replace_prob)")
	fs.Var(&shareFlag{&cfg.RandomTokenProb, 0.1}, "random-token-prob",
		"share of the masked positions replaced by a random token (`P` in [0, 1], with --mask-token-prob at most 1; the rest keep their token; Hugging Face's random_replace_prob)")
	fs.Float64Var(&cfg.ShortSeqProb, "short-seq-prob", cfg.ShortSeqProb, "probability of a shorter target length for a document pass")
	fs.IntVar(&cfg.DupeFactor, "dupe-factor", cfg.DupeFactor, "passes over each document, each with other pairs and masks (1 to 1000)")
	fs.StringVar(&cfg.Task, "task", cfg.Task, "pair task: nsp (next sentence prediction), sop (sentence order prediction) or none (MLM only)")
	if forPretrain {
		cfg.Masking = "dynamic"
	} else {
		fs.StringVar(&cfg.Masking, "masking", cfg.Masking, "static (masks stored in the shards) or dynamic (the trainer masks at read time)")
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
	return &Example{Config: cfg, Inputs: inputs}
}

// Finish moves the --input values and stray arguments of fs into the config, and checks the
// values that the pipeline would otherwise replace by its defaults.
func (e *Example) Finish(fs *flag.FlagSet) error {
	cfg := e.Config
	cfg.Inputs = append(append([]string(nil), (*e.Inputs)...), fs.Args()...)
	if len(cfg.Inputs) == 0 {
		fmt.Fprintln(fs.Output(), "no input: give --input PATH...")
		fs.Usage()
		return ErrUsage
	}
	for _, f := range []IntRange{
		{"workers", cfg.Workers, 1, MaxWorkers},
		{"max-line-bytes", cfg.MaxLineBytes, 1, MaxInputBytes},
		{"max-doc-bytes", cfg.MaxDocBytes, 1, MaxInputBytes},
		{"reservoir-docs", cfg.ReservoirDocs, 1, MaxReservoirDocs},
		{"dupe-factor", cfg.DupeFactor, 1, MaxDupeFactor},
		{"shuffle-buffer", cfg.ShuffleBuffer, 0, MaxShuffleBuffer},
	} {
		if err := f.Check(); err != nil {
			return err
		}
	}
	if cfg.Format == "jsonl" && strings.TrimSpace(cfg.JSONField) == "" {
		return BadFlag("--json-field is empty: name the field that holds each document's text")
	}
	// The stages check these too; here the message names the flag and the exit code is 2.
	for _, f := range []struct{ name, v, want string }{
		{"format", cfg.Format, "lines text jsonl parquet arrow"}, {"task", cfg.Task, "nsp sop none"}, {"masking", cfg.Masking, "static dynamic"},
	} {
		if !slices.Contains(strings.Fields(f.want), f.v) {
			return BadFlag("--%s %q: want one of %s", f.name, f.v, strings.ReplaceAll(f.want, " ", ", "))
		}
	}
	if err := finishTextColumn(fs, cfg); err != nil {
		return err
	}
	minLen := 5 // [CLS] A [SEP] B [SEP]
	if cfg.Task == "none" {
		minLen = 4
	}
	switch {
	case cfg.MaxSeqLen < minLen:
		return BadFlag("--max-seq-len %d: want at least %d for --task %s", cfg.MaxSeqLen, minLen, cfg.Task)
	case cfg.MaxSeqLen > MaxSeqLen:
		return BadFlag("--max-seq-len %d: want at most %d (the most a shard holds)", cfg.MaxSeqLen, MaxSeqLen)
	case cfg.MaxPredictions < 1:
		return BadFlag("--max-predictions %d: want at least 1", cfg.MaxPredictions)
	case cfg.MaxPredictions > cfg.MaxSeqLen:
		return BadFlag("--max-predictions %d: want at most --max-seq-len (%d)", cfg.MaxPredictions, cfg.MaxSeqLen)
	case !(cfg.MaskedLMProb > 0 && cfg.MaskedLMProb <= 1):
		return BadFlag("--masked-lm-prob %v: want a share in (0, 1]", cfg.MaskedLMProb)
	case !(cfg.ShortSeqProb >= 0 && cfg.ShortSeqProb <= 1):
		return BadFlag("--short-seq-prob %v: want a probability in [0, 1]", cfg.ShortSeqProb)
	}
	s := cfg.MaskSplit()
	if err := s.Validate(); err != nil {
		return BadFlag("--mask-token-prob %v and --random-token-prob %v: want shares that add up to at most 1 (the rest keep their token)", s.Mask, s.Random)
	}
	return nil
}

// finishTextColumn checks --text-column against --format and --json-field, and leaves
// cfg.TextColumn set for the table formats only (jsonl takes it as its field).
func finishTextColumn(fs *flag.FlagSet, cfg *pipeline.ExampleConfig) error {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch cfg.Format {
	case "parquet", "arrow":
		if set["json-field"] && !set["text-column"] {
			return BadFlag("--json-field is for --format jsonl: name the text column of --format %s with --text-column", cfg.Format)
		}
		if strings.TrimSpace(cfg.TextColumn) == "" {
			return BadFlag("--text-column is empty: name the column that holds each document's text")
		}
	case "jsonl":
		if set["text-column"] {
			if set["json-field"] && cfg.JSONField != cfg.TextColumn {
				return BadFlag("--text-column %q and --json-field %q disagree: give one of them", cfg.TextColumn, cfg.JSONField)
			}
			if strings.TrimSpace(cfg.TextColumn) == "" {
				return BadFlag("--text-column is empty: name the field that holds each document's text")
			}
			cfg.JSONField = cfg.TextColumn
		}
		cfg.TextColumn = ""
	default:
		if set["text-column"] {
			return BadFlag("--text-column is for --format jsonl, parquet or arrow, not %s", cfg.Format)
		}
		cfg.TextColumn = ""
	}
	if cfg.MaxRowGroupBytes < 1 {
		return BadFlag("--max-row-group-bytes %d: want at least 1", cfg.MaxRowGroupBytes)
	}
	return nil
}

// shareFlag is a probability flag in [0, 1] stored through a pointer that stays nil while the
// flag is not given (pipeline.ExampleConfig's MaskTokenProb and RandomTokenProb).
type shareFlag struct {
	p   **float64
	def float64 // shown in --help
}

func (f *shareFlag) String() string {
	if f == nil || f.p == nil {
		return "0"
	}
	if *f.p == nil {
		return strconv.FormatFloat(f.def, 'g', -1, 64)
	}
	return strconv.FormatFloat(**f.p, 'g', -1, 64)
}

func (f *shareFlag) Set(s string) error {
	x, err := strconv.ParseFloat(s, 64)
	switch {
	case err != nil:
		return errors.New("not a number")
	case math.IsNaN(x) || !(x >= 0 && x <= 1):
		return errors.New("want a probability in [0, 1]")
	}
	*f.p = &x
	return nil
}

// Shard holds the flags that say how shards are written.
type Shard struct {
	compression, arrowFormat, bins string
	shardMB                        float64
	rowsPerBatch                   int
}

// RegisterShard registers the flags that say how shards are written on fs.
func RegisterShard(fs *flag.FlagSet) *Shard {
	v := &Shard{}
	fs.StringVar(&v.compression, "compression", "zstd", "shard body compression: zstd, lz4 or none")
	fs.StringVar(&v.arrowFormat, "arrow-format", "file", "Arrow IPC format: file (random access) or stream (what Hugging Face datasets reads; memory-mapped without a copy only with --compression none)")
	fs.Float64Var(&v.shardMB, "shard-mb", 128, "start a new shard after this many MB (at most 1048576)")
	fs.IntVar(&v.rowsPerBatch, "rows-per-batch", 32768, "rows per Arrow record batch (Arrow builds a zstd encoder per batch: few, large batches are faster)")
	fs.StringVar(&v.bins, "bins", "", "group rows into shards by length, NVIDIA LDDL style: ascending upper bounds, e.g. 32,64,128")
	return v
}

// Options checks the shard flags and returns the options they give for shards of rows of at
// most maxSeqLen tokens written to dir, recording version as kiln's.
func (v *Shard) Options(dir string, maxSeqLen int, version string) (pipeline.ShardOptions, error) {
	if !(v.shardMB > 0) || v.shardMB > MaxShardMB {
		return pipeline.ShardOptions{}, BadFlag("--shard-mb %v: want a size in MB above 0 and at most %d (1 TiB)", v.shardMB, MaxShardMB)
	}
	if v.compression != "zstd" && v.compression != "lz4" && v.compression != "none" {
		return pipeline.ShardOptions{}, BadFlag("--compression %q: want zstd, lz4 or none", v.compression)
	}
	if v.arrowFormat != "file" && v.arrowFormat != "stream" {
		return pipeline.ShardOptions{}, BadFlag("--arrow-format %q: want file or stream", v.arrowFormat)
	}
	if err := (IntRange{"rows-per-batch", v.rowsPerBatch, 1, MaxRowsPerBatch}).Check(); err != nil {
		return pipeline.ShardOptions{}, err
	}
	o := pipeline.ShardOptions{
		Dir: dir, Compression: v.compression, ArrowFormat: v.arrowFormat,
		ShardBytes: max(1, int64(v.shardMB*(1<<20))), RowsPerBatch: v.rowsPerBatch, Version: version,
	}
	if v.bins != "" {
		for _, f := range strings.Split(v.bins, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return o, BadFlag("--bins %q: %v", v.bins, err)
			}
			if b < 1 || (len(o.Bins) > 0 && b <= o.Bins[len(o.Bins)-1]) {
				return o, BadFlag("--bins %q: want ascending lengths of at least 1", v.bins)
			}
			o.Bins = append(o.Bins, b)
		}
		if last := o.Bins[len(o.Bins)-1]; last < maxSeqLen {
			return o, BadFlag("--bins %q: the last bin (%d) must hold the longest rows (--max-seq-len %d)", v.bins, last, maxSeqLen)
		}
	}
	return o, nil
}
