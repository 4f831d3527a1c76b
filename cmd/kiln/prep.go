package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
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
	fs.IntVar(&cfg.MaxSeqLen, "max-seq-len", cfg.MaxSeqLen, "longest sequence, [CLS] and [SEP]s included")
	fs.IntVar(&cfg.MaxPredictions, "max-predictions", cfg.MaxPredictions, "most masked positions per sequence")
	fs.Float64Var(&cfg.MaskedLMProb, "masked-lm-prob", cfg.MaskedLMProb, "share of tokens to mask")
	fs.Float64Var(&cfg.ShortSeqProb, "short-seq-prob", cfg.ShortSeqProb, "probability of a shorter target length for a document pass")
	fs.IntVar(&cfg.DupeFactor, "dupe-factor", cfg.DupeFactor, "passes over each document, each with other pairs and masks")
	fs.StringVar(&cfg.Task, "task", cfg.Task, "pair task: nsp (next sentence prediction), sop (sentence order prediction) or none (MLM only)")
	if forPretrain {
		cfg.Masking = "dynamic"
	} else {
		fs.StringVar(&cfg.Masking, "masking", cfg.Masking, "static (masks stored in the shards) or dynamic (the trainer masks at read time)")
	}
	fs.BoolVar(&cfg.WholeWordMask, "whole-word-mask", false, "mask whole words (## pieces join their word)")
	fs.IntVar(&cfg.ReservoirDocs, "reservoir-docs", cfg.ReservoirDocs, "previous documents kept to draw NotNext segments from")
	fs.IntVar(&cfg.ShuffleBuffer, "shuffle-buffer", cfg.ShuffleBuffer, "rows mixed in a seeded shuffle buffer before writing (0: document order)")
	if !forPretrain {
		fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed")
	}
	fs.IntVar(&cfg.Workers, "workers", runtime.NumCPU(), "goroutines that split and tokenize (the output does not depend on it)")
	fs.IntVar(&cfg.MaxLineBytes, "max-line-bytes", cfg.MaxLineBytes, "input lines longer than this are skipped and counted")
	fs.IntVar(&cfg.MaxDocBytes, "max-doc-bytes", cfg.MaxDocBytes, "documents longer than this are cut in parts and counted")
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
	for _, f := range []struct {
		name string
		v    int
	}{{"workers", cfg.Workers}, {"max-line-bytes", cfg.MaxLineBytes}, {"max-doc-bytes", cfg.MaxDocBytes}, {"reservoir-docs", cfg.ReservoirDocs}} {
		if f.v < 1 {
			return badFlag("--%s %d: want at least 1", f.name, f.v)
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
	case cfg.MaxPredictions < 1:
		return badFlag("--max-predictions %d: want at least 1", cfg.MaxPredictions)
	case !(cfg.MaskedLMProb > 0 && cfg.MaskedLMProb <= 1):
		return badFlag("--masked-lm-prob %v: want a share in (0, 1]", cfg.MaskedLMProb)
	case !(cfg.ShortSeqProb >= 0 && cfg.ShortSeqProb <= 1):
		return badFlag("--short-seq-prob %v: want a probability in [0, 1]", cfg.ShortSeqProb)
	case cfg.DupeFactor < 1:
		return badFlag("--dupe-factor %d: want at least 1", cfg.DupeFactor)
	case cfg.ShuffleBuffer < 0:
		return badFlag("--shuffle-buffer %d: want 0 (document order) or more", cfg.ShuffleBuffer)
	}
	return nil
}

func runPrep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("prep", "--input PATH... --format lines|text|jsonl|parquet|arrow --vocab FILE [--tokenizer FILE] --output DIR [flags]", stderr)
	cfg, inputs := exampleFlags(fs, false)
	out := fs.String("output", "", "output `DIR` for the shards and manifest.json")
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
	opts, err := so.options(*out)
	if err != nil {
		return err
	}
	ex, err := pipeline.NewExamples(*cfg)
	if err != nil {
		return err
	}
	warnVocab("prep", ex.Tokenizer(), stderr)
	stop := startProgress(ex, stderr, *noProgress)
	sum, err := pipeline.Prep(ctx, ex, opts)
	stop()
	if err != nil {
		return err
	}
	printPrepSummary(stdout, sum, *out)
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
	fs.StringVar(&v.arrowFormat, "arrow-format", "file", "Arrow IPC format: file (random access) or stream (what Hugging Face datasets reads)")
	fs.Float64Var(&v.shardMB, "shard-mb", 128, "start a new shard after this many MB")
	fs.IntVar(&v.rowsPerBatch, "rows-per-batch", 32768, "rows per Arrow record batch (Arrow builds a zstd encoder per batch: few, large batches are faster)")
	fs.StringVar(&v.bins, "bins", "", "group rows into shards by length, NVIDIA LDDL style: ascending upper bounds, e.g. 32,64,128")
	return v
}

func (v *shardFlagValues) options(dir string) (pipeline.ShardOptions, error) {
	if !(v.shardMB > 0) || math.IsInf(v.shardMB, 0) {
		return pipeline.ShardOptions{}, badFlag("--shard-mb %v: want a size in MB above 0", v.shardMB)
	}
	if v.compression != "zstd" && v.compression != "lz4" && v.compression != "none" {
		return pipeline.ShardOptions{}, badFlag("--compression %q: want zstd, lz4 or none", v.compression)
	}
	if v.arrowFormat != "file" && v.arrowFormat != "stream" {
		return pipeline.ShardOptions{}, badFlag("--arrow-format %q: want file or stream", v.arrowFormat)
	}
	if v.rowsPerBatch < 1 {
		return pipeline.ShardOptions{}, badFlag("--rows-per-batch %d: want at least 1", v.rowsPerBatch)
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
			o.Bins = append(o.Bins, b)
		}
	}
	return o, nil
}

// startProgress shows a progress bar on a terminal (bytes read of the total, documents,
// sequences per second) until the returned function is called.
func startProgress(ex *pipeline.Examples, stderr io.Writer, disabled bool) (stop func()) {
	f, ok := stderr.(*os.File)
	if disabled || !ok || !term.IsTerminal(int(f.Fd())) {
		return func() {}
	}
	var total int64
	for _, in := range ex.Inputs() {
		total += in.Size
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionClearOnFinish(),
	)
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

func printPrepSummary(w io.Writer, s *pipeline.PrepSummary, dir string) {
	e := s.Examples
	p := e.Pairing
	fmt.Fprintf(w, "kiln prep: %d files, %d documents, %d sentences, %d tokens ([UNK] %.3f%%) -> %d sequences in %d shards (%.1f MB, %.2f bytes/token) in %.1fs (%.1f MB/s of text)\n",
		e.Source.Files, e.Source.Documents, e.Sentences, e.Tokens, pct(e.UNK, e.Tokens), e.Rows, s.Shards,
		float64(s.ShardBytes)/1e6, s.BytesPerToken, s.Seconds, s.MBPerSecond)
	if p.Instances > 0 {
		fmt.Fprintf(w, "  pairs: NotNext %.2f%%, short targets %.1f%% of document passes, %d tokens truncated\n",
			pct(int64(p.NotNext), int64(p.Instances)), pct(int64(p.ShortTargets), int64(p.Documents)), p.TruncatedTokens)
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
	fmt.Fprintf(w, "  wrote %s/manifest.json and %s/%s\n", dir, dir, pipeline.StatsName)
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
	if cfg.Task == "nsp" && p.NoPartner > 0 && pct(int64(p.NoPartner), int64(p.Instances)) > 1 {
		out = append(out, fmt.Sprintf("%d pairs wanted a NotNext segment but no other document was at hand (%d document(s) read; NotNext %.1f%%); with --format text each file is one document, with lines a blank line ends one",
			p.NoPartner, e.Source.Documents, pct(int64(p.NotNext), int64(p.Instances))))
	}
	return out
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
