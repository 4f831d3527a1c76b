package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// exampleFlags registers the flags that say how a corpus becomes examples (shared by prep and
// pretrain) and returns the config they fill and the --input values.
// For pretrain (forPretrain), --seed is the trainer's and --masking is not offered: pretrain
// always masks rows as they are read.
func exampleFlags(fs *flag.FlagSet, forPretrain bool) (*pipeline.ExampleConfig, *multiValue) {
	cfg := pipeline.DefaultExampleConfig()
	inputs := new(multiValue)
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
	maskSplitFlags(fs, &cfg)
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
	return &cfg, inputs
}

// finishExampleFlags moves --input values and stray arguments into cfg, and checks the values
// that the pipeline would otherwise replace by its defaults.
func finishExampleFlags(fs *flag.FlagSet, cfg *pipeline.ExampleConfig, inputs *multiValue) error {
	cfg.Inputs = append(append([]string(nil), (*inputs)...), fs.Args()...)
	if len(cfg.Inputs) == 0 {
		fmt.Fprintln(fs.Output(), "no input: give --input PATH...")
		fs.Usage()
		return errUsage
	}
	for _, f := range []intRange{
		{"workers", cfg.Workers, 1, maxWorkers},
		{"max-line-bytes", cfg.MaxLineBytes, 1, maxInputBytes},
		{"max-doc-bytes", cfg.MaxDocBytes, 1, maxInputBytes},
		{"reservoir-docs", cfg.ReservoirDocs, 1, maxReservoirDocs},
		{"dupe-factor", cfg.DupeFactor, 1, maxDupeFactor},
		{"shuffle-buffer", cfg.ShuffleBuffer, 0, maxShuffleBuffer},
	} {
		if err := f.check(); err != nil {
			return err
		}
	}
	if cfg.Format == "jsonl" && strings.TrimSpace(cfg.JSONField) == "" {
		return badFlag("--json-field is empty: name the field that holds each document's text")
	}
	// The stages check these too; here the message names the flag and the exit code is 2.
	for _, f := range []struct{ name, v, want string }{
		{"format", cfg.Format, "lines text jsonl parquet arrow"}, {"task", cfg.Task, "nsp sop none"}, {"masking", cfg.Masking, "static dynamic"},
	} {
		if !slices.Contains(strings.Fields(f.want), f.v) {
			return badFlag("--%s %q: want one of %s", f.name, f.v, strings.ReplaceAll(f.want, " ", ", "))
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
		return badFlag("--max-seq-len %d: want at least %d for --task %s", cfg.MaxSeqLen, minLen, cfg.Task)
	case cfg.MaxSeqLen > maxSeqLen:
		return badFlag("--max-seq-len %d: want at most %d (the most a shard holds)", cfg.MaxSeqLen, maxSeqLen)
	case cfg.MaxPredictions < 1:
		return badFlag("--max-predictions %d: want at least 1", cfg.MaxPredictions)
	case cfg.MaxPredictions > cfg.MaxSeqLen:
		return badFlag("--max-predictions %d: want at most --max-seq-len (%d)", cfg.MaxPredictions, cfg.MaxSeqLen)
	case !(cfg.MaskedLMProb > 0 && cfg.MaskedLMProb <= 1):
		return badFlag("--masked-lm-prob %v: want a share in (0, 1]", cfg.MaskedLMProb)
	case !(cfg.ShortSeqProb >= 0 && cfg.ShortSeqProb <= 1):
		return badFlag("--short-seq-prob %v: want a probability in [0, 1]", cfg.ShortSeqProb)
	}
	return checkMaskSplit(cfg)
}

// Upper bounds of the prep flags. Each is far above what a real run uses, and low enough that
// nothing derived from it overflows and that the memory it sets stays within a machine's.
const (
	// maxWorkers: more goroutines than any machine has cores; each worker's buffers and the
	// chunks in flight between the stages (a few per worker) are counted in memory.
	maxWorkers = 4096
	// maxInputBytes bounds --max-line-bytes and --max-doc-bytes (1 GiB): a line or a document
	// is held in memory whole, a few times over (see the README's memory bound).
	maxInputBytes = 1 << 30
	// maxReservoirDocs: the reservoir holds about 64*--max-seq-len bytes per document
	// (16*max-seq-len int32 tokens), 8 GiB at 1e6 documents of 128.
	maxReservoirDocs = 1_000_000
	// maxDupeFactor: Google uses 10, RoBERTa-style static masking 40.
	maxDupeFactor = 1000
	// maxShuffleBuffer: rows held in memory, a few GB of rows at 1e7.
	maxShuffleBuffer = 10_000_000
	// maxSeqLen: the most a shard records (shards.Info.Validate).
	maxSeqLen = 1 << 16
	// maxShardMB: a shard of 1 TiB; --shard-mb * 2^20 stays far inside an int64.
	maxShardMB = 1 << 20
	// maxRowsPerBatch: an Arrow record batch is built in memory.
	maxRowsPerBatch = 1 << 20
)

// intRange is an integer flag's value and the range it must lie in.
type intRange struct {
	name string
	v    int
	min  int
	max  int
}

// check returns a usage error naming the flag when v is outside [min, max].
func (r intRange) check() error {
	if r.v < r.min || r.v > r.max {
		return badFlag("--%s %d: want %d to %d", r.name, r.v, r.min, r.max)
	}
	return nil
}

func runPrep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prep", "--input PATH... --format lines|text|jsonl|parquet|arrow --vocab FILE [--tokenizer FILE] --output DIR [--eval-fraction F | --partitions N] [flags]", stderr)
	cfg, inputs := exampleFlags(fs, false)
	fs.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "share of documents, in [0, 1), held out (chosen by a seeded hash of each document) into a second shard set in DIR/eval, for train --eval-data; NotNext partners stay within each set")
	out := fs.String("output", "", "output `DIR` for the shards and manifest.json")
	partitions := fs.Int("partitions", 0, "split the run into N partitions (2 to 65536), prepared in parallel, each paired, shuffled and written on its own to DIR/part-NNNNN/; 0 or 1: one stream, as without the flag (see the README's partitioned prep)")
	so := shardFlags(fs)
	noProgress := fs.Bool("no-progress", false, "no progress bar, even on a terminal")
	if err := parseFlags(fs, spreadMulti(args, "input")); err != nil {
		return err
	}
	if err := finishExampleFlags(fs, cfg, inputs); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "no output: give --output DIR")
		fs.Usage()
		return errUsage
	}
	if !(cfg.EvalFraction >= 0 && cfg.EvalFraction < 1) {
		return badFlag("--eval-fraction %v: want a share in [0, 1)", cfg.EvalFraction)
	}
	if err := (intRange{"partitions", *partitions, 0, pipeline.MaxPartitions}).check(); err != nil {
		return err
	}
	if *partitions > 1 && cfg.EvalFraction > 0 {
		return badFlag("--partitions %d with --eval-fraction %v: a partitioned run has no held-out set yet; give one of them", *partitions, cfg.EvalFraction)
	}
	opts, err := so.options(*out, cfg.MaxSeqLen)
	if err != nil {
		return err
	}
	cfg.Exclude = []string{*out} // a rerun must not read the shards as text
	ex, err := pipeline.NewExamples(*cfg)
	if err != nil {
		return err
	}
	printNotes("prep", ex, stderr)
	warnVocab("prep", ex.Tokenizer(), stderr)
	stop := startProgress(ex, stderr, *noProgress)
	var sum *pipeline.PrepSummary
	if *partitions > 1 {
		sum, err = pipeline.PrepPartitioned(ctx, ex, opts, *partitions)
	} else {
		sum, err = pipeline.Prep(ctx, ex, opts)
	}
	stop()
	if err != nil {
		return err
	}
	printPrepSummary(stdout, sum, *out)
	for _, n := range sum.Notes {
		fmt.Fprintf(stderr, "kiln prep: note: %s\n", n)
	}
	for _, w := range prepWarnings(sum, ex.Config()) {
		fmt.Fprintf(stderr, "kiln prep: warning: %s\n", w)
	}
	return nil
}

// shardFlagValues holds the flags that say how shards are written.
type shardFlagValues struct {
	compression, arrowFormat, bins string
	shardMB                        float64
	rowsPerBatch                   int
}

func shardFlags(fs *flag.FlagSet) *shardFlagValues {
	v := &shardFlagValues{}
	fs.StringVar(&v.compression, "compression", "zstd", "shard body compression: zstd, lz4 or none")
	fs.StringVar(&v.arrowFormat, "arrow-format", "file", "Arrow IPC format: file (random access) or stream (what Hugging Face datasets reads; memory-mapped without a copy only with --compression none)")
	fs.Float64Var(&v.shardMB, "shard-mb", 128, "start a new shard after this many MB (at most 1048576)")
	fs.IntVar(&v.rowsPerBatch, "rows-per-batch", 32768, "rows per Arrow record batch (Arrow builds a zstd encoder per batch: few, large batches are faster)")
	fs.StringVar(&v.bins, "bins", "", "group rows into shards by length, NVIDIA LDDL style: ascending upper bounds, e.g. 32,64,128")
	return v
}

// options checks the shard flags and returns the options they give for shards of rows of at
// most maxSeqLen tokens written to dir.
func (v *shardFlagValues) options(dir string, maxSeqLen int) (pipeline.ShardOptions, error) {
	if !(v.shardMB > 0) || v.shardMB > maxShardMB {
		return pipeline.ShardOptions{}, badFlag("--shard-mb %v: want a size in MB above 0 and at most %d (1 TiB)", v.shardMB, maxShardMB)
	}
	if v.compression != "zstd" && v.compression != "lz4" && v.compression != "none" {
		return pipeline.ShardOptions{}, badFlag("--compression %q: want zstd, lz4 or none", v.compression)
	}
	if v.arrowFormat != "file" && v.arrowFormat != "stream" {
		return pipeline.ShardOptions{}, badFlag("--arrow-format %q: want file or stream", v.arrowFormat)
	}
	if err := (intRange{"rows-per-batch", v.rowsPerBatch, 1, maxRowsPerBatch}).check(); err != nil {
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
				return o, badFlag("--bins %q: %v", v.bins, err)
			}
			if b < 1 || (len(o.Bins) > 0 && b <= o.Bins[len(o.Bins)-1]) {
				return o, badFlag("--bins %q: want ascending lengths of at least 1", v.bins)
			}
			o.Bins = append(o.Bins, b)
		}
		if last := o.Bins[len(o.Bins)-1]; last < maxSeqLen {
			return o, badFlag("--bins %q: the last bin (%d) must hold the longest rows (--max-seq-len %d)", v.bins, last, maxSeqLen)
		}
	}
	return o, nil
}

// startProgress shows a progress bar on a terminal (bytes read of the total, documents,
// sequences per second) until the returned function is called.
func startProgress(ex *pipeline.Examples, stderr io.Writer, disabled bool) (stop func()) {
	if !showProgress(stderr, disabled) {
		return func() {}
	}
	bar := newBytesBar(stderr, ex.Inputs())
	ex.SetProgress(func(n int64) { bar.Add64(n) })
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s := ex.Stats()
				bar.Describe(fmt.Sprintf("%d docs, %d seqs (%.0f/s)", s.Source.Documents, s.Rows, float64(s.Rows)/time.Since(start).Seconds()))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
		bar.Finish()
	}
}

// showProgress says whether a progress bar goes to stderr: a terminal, and not disabled.
func showProgress(stderr io.Writer, disabled bool) bool {
	f, ok := stderr.(*os.File)
	return !disabled && ok && term.IsTerminal(int(f.Fd()))
}

// newBytesBar returns a progress bar of the bytes read of the inputs' total size.
func newBytesBar(stderr io.Writer, ins []pipeline.Input, opts ...progressbar.Option) *progressbar.ProgressBar {
	var total int64
	for _, in := range ins {
		total += in.Size
	}
	return progressbar.NewOptions64(total, append([]progressbar.Option{
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200 * time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	}, opts...)...)
}

func printPrepSummary(w io.Writer, s *pipeline.PrepSummary, dir string) {
	e := s.Examples
	p := e.Pairing
	fmt.Fprintf(w, "kiln prep: %d files, %d documents, %d sentences, %d tokens ([UNK] %.3f%%) -> %d sequences in %d shards (%.1f MB, %.2f bytes/token) in %.1fs (%.1f MB/s of text)\n",
		e.Source.Files, e.Source.Documents, e.Sentences, e.Tokens, pct(e.UNK, e.Tokens), e.Rows-e.EvalRows, s.Shards,
		float64(s.ShardBytes)/1e6, s.BytesPerToken, s.Seconds, s.MBPerSecond)
	if p.Instances > 0 {
		unreachable := ""
		if notNextUnreachable(e) {
			unreachable = fmt.Sprintf(" (50%% unreachable: %.1f%% of the pairs were one-sentence chunks, always NotNext)", pct(int64(p.ForcedNotNext), int64(p.Instances)))
		}
		fmt.Fprintf(w, "  pairs: NotNext %.2f%%%s, short targets %.1f%% of document passes, %d tokens truncated\n",
			pct(int64(p.NotNext), int64(p.Instances)), unreachable, pct(int64(p.ShortTargets), int64(p.Documents)), p.TruncatedTokens)
	}
	if e.Masked > 0 {
		fmt.Fprintf(w, "  masks: %d positions: [MASK] %.1f%%, random %.1f%%, kept %.1f%%\n",
			e.Masked, pct(e.MaskedAsMask, e.Masked), pct(e.MaskedRandom, e.Masked), pct(e.MaskedKept, e.Masked))
	}
	src := e.Source
	if n := src.SkippedBinary + src.SkippedLongLine + src.SkippedBadJSON + src.SkippedNullRows + src.CutDocuments; n > 0 || e.InvalidUTF8 > 0 {
		fmt.Fprintf(w, "  set aside: %d binary documents, %d long lines, %d bad JSON lines%s; %d documents cut; %d invalid UTF-8 sequences replaced\n",
			src.SkippedBinary, src.SkippedLongLine, src.SkippedBadJSON, nullRows(src), src.CutDocuments, e.InvalidUTF8)
		for _, p := range src.Problems {
			fmt.Fprintf(w, "    %s\n", p)
		}
	}
	if e.EvalDocuments > 0 || s.EvalShards > 0 {
		fmt.Fprintf(w, "  held out: %d of %d documents (%.1f%%) -> %d sequences in %d shards (%.1f MB) in %s/%s\n",
			e.EvalDocuments, e.Source.Documents, pct(e.EvalDocuments, e.Source.Documents), e.EvalRows, s.EvalShards,
			float64(s.EvalShardBytes)/1e6, dir, pipeline.EvalDirName)
	}
	fmt.Fprintf(w, "  wrote %s/manifest.json and %s/%s\n", dir, dir, pipeline.StatsName)
}

// printNotes prints what the user should know about the inputs of ex (an output directory
// inside an input directory, not read), as notes of the command name.
func printNotes(name string, ex *pipeline.Examples, stderr io.Writer) {
	for _, n := range ex.Notes() {
		fmt.Fprintf(stderr, "kiln %s: note: %s\n", name, n)
	}
}

// warnVocab prints what is odd in tok's vocabulary file (duplicate tokens, blank lines, a
// byte order mark), as warnings of the command name.
func warnVocab(name string, tok *tokenize.Tokenizer, stderr io.Writer) {
	for _, w := range tok.Vocab().Warnings() {
		fmt.Fprintf(stderr, "kiln %s: warning: %s\n", name, w)
	}
}

// prepWarnings returns what in a finished run's figures suggests a mistake in its inputs or
// flags: most tokens unknown to the vocabulary, or NSP pairs that found no other document.
func prepWarnings(s *pipeline.PrepSummary, cfg pipeline.ExampleConfig) []string {
	var out []string
	e, p := s.Examples, s.Examples.Pairing
	if u := pct(e.UNK, e.Tokens); u > 5 {
		out = append(out, fmt.Sprintf("%.1f%% of the tokens are [UNK]: is the vocabulary right for this text (and --cased)?", u))
	}
	if cfg.Task == "nsp" && notNextUnreachable(e) {
		out = append(out, fmt.Sprintf("NotNext is %.1f%% of the pairs, not 50%%: %.1f%% were one-sentence chunks, which NSP always makes NotNext (as Google's script does), more than the 4/9 that kiln's balance can offset; at --max-seq-len %d a chunk holds %d tokens, less than most sentences: raise --max-seq-len (or use --task sop)",
			pct(int64(p.NotNext), int64(p.Instances)), pct(int64(p.ForcedNotNext), int64(p.Instances)), cfg.MaxSeqLen, cfg.MaxSeqLen-3))
	}
	if cfg.Task == "nsp" && p.NoPartner > 0 && pct(int64(p.NoPartner), int64(p.Instances)) > 1 {
		out = append(out, fmt.Sprintf("%d pairs wanted a NotNext segment but no other document was at hand (%d document(s) read; NotNext %.1f%%); with --format text each file is one document, with lines a blank line ends one",
			p.NoPartner, e.Source.Documents, pct(int64(p.NotNext), int64(p.Instances))))
	}
	return out
}

// notNextUnreachable reports whether a run's NSP pairs are NotNext well over the 50% that the
// pairer holds them at: that happens when too many chunks are one sentence long (always
// NotNext), more than the 4/9 of the chunks that the balance can offset (see package pairing),
// as at a short --max-seq-len. Short runs, whose share wanders, are not judged.
func notNextUnreachable(e pipeline.ExampleStats) bool {
	p := e.Pairing
	return p.Instances >= 100 && pct(int64(p.NotNext), int64(p.Instances)) > 52
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
