package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/kiln-bert/kiln/tokenize/wordpiece"
	"github.com/schollz/progressbar/v3"
)

// defaultMaxWords bounds the word-count table of kiln vocab (about 100 bytes a word).
const defaultMaxWords = 5_000_000

func runVocab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "vocab", "--input PATH... --format lines|text|jsonl --output vocab.txt [flags]", stderr)
	inputs := new(prepflags.MultiValue)
	def := wordpiece.BertDefaults()
	fs.Var(inputs, "input", "input `PATH`s: files, directories (read recursively, sorted) or globs; several may follow one --input")
	format := fs.String("format", "lines", "input format: lines (one sentence per line), text (one document per file) or jsonl")
	jsonField := fs.String("json-field", "text", "jsonl: the field that holds a document's text")
	out := fs.String("output", "", "the vocab.txt `FILE` to write")
	tokJSON := fs.String("tokenizer-json", "", "also write a Hugging Face tokenizer.json `FILE` for the new vocabulary")
	vocabSize := fs.Int("vocab-size", def.VocabSize, "most tokens in the vocabulary, special tokens and alphabet included")
	minFreq := fs.Int64("min-frequency", def.MinFrequency, "merge only pairs seen at least this many times")
	limitAlphabet := fs.Int("limit-alphabet", def.LimitAlphabet, "keep only this many of the most frequent characters (0: no limit)")
	specials := fs.String("special-tokens", strings.Join(def.SpecialTokens, ","), "comma-separated special tokens, first in the vocabulary (\"\": none)")
	initial := fs.String("initial-alphabet", "", "characters kept in the alphabet even if the corpus lacks them (they count as the most frequent)")
	cased := fs.Bool("cased", false, "keep case and accents (a cased vocabulary; use --cased with prep too)")
	workers := fs.Int("workers", runtime.NumCPU(), "goroutines that count words (the vocabulary does not depend on it)")
	maxWords := fs.Int("max-words", defaultMaxWords, "most distinct words kept while counting; when full, the rarest are pruned")
	maxLineBytes := fs.Int("max-line-bytes", 1<<20, "input lines longer than this are skipped and counted")
	noProgress := fs.Bool("no-progress", false, "no progress bar, even on a terminal")
	if err := prepflags.Parse(fs, prepflags.SpreadMulti(args, "input")); err != nil {
		return err
	}
	paths := append(append([]string(nil), (*inputs)...), fs.Args()...)
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "no input: give --input PATH...")
		fs.Usage()
		return prepflags.ErrUsage
	}
	if *out == "" {
		fmt.Fprintln(stderr, "no output: give --output vocab.txt")
		fs.Usage()
		return prepflags.ErrUsage
	}
	f, err := pipeline.ParseFormat(*format)
	if err != nil {
		return prepflags.BadFlag("--format %q: want one of lines, text, jsonl", *format)
	}
	cfg := wordpiece.Config{VocabSize: *vocabSize, MinFrequency: *minFreq, LimitAlphabet: *limitAlphabet, Prefix: "##"}
	if !utf8.ValidString(*initial) {
		return prepflags.BadFlag("--initial-alphabet %q: not valid UTF-8", *initial)
	}
	for _, r := range *initial {
		if !slices.Contains(cfg.InitialAlphabet, r) {
			cfg.InitialAlphabet = append(cfg.InitialAlphabet, r)
		}
	}
	if *specials != "" {
		seen := map[string]bool{}
		for _, s := range strings.Split(*specials, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				return prepflags.BadFlag("--special-tokens %q: an empty token (give tokens separated by commas, or \"\" for none)", *specials)
			}
			if seen[s] {
				return prepflags.BadFlag("--special-tokens %q: %s is listed twice", *specials, s)
			}
			seen[s] = true
			cfg.SpecialTokens = append(cfg.SpecialTokens, s)
		}
	}
	switch {
	case *vocabSize < 1:
		return prepflags.BadFlag("--vocab-size %d: want at least 1", *vocabSize)
	case *vocabSize < len(cfg.SpecialTokens):
		return prepflags.BadFlag("--vocab-size %d: want at least the %d special tokens", *vocabSize, len(cfg.SpecialTokens))
	case *minFreq < 0:
		return prepflags.BadFlag("--min-frequency %d: want 0 or more", *minFreq)
	case *limitAlphabet < 0:
		return prepflags.BadFlag("--limit-alphabet %d: want 0 (no limit) or more", *limitAlphabet)
	case *workers < 1:
		return prepflags.BadFlag("--workers %d: want at least 1", *workers)
	case *maxWords < 1:
		return prepflags.BadFlag("--max-words %d: want at least 1", *maxWords)
	case *maxLineBytes < 1:
		return prepflags.BadFlag("--max-line-bytes %d: want at least 1", *maxLineBytes)
	case *tokJSON != "" && !slices.Contains(cfg.SpecialTokens, "[UNK]"):
		return prepflags.BadFlag("--tokenizer-json needs [UNK] among --special-tokens (%q): a WordPiece tokenizer.json names its unknown token", *specials)
	case f == pipeline.JSONL && strings.TrimSpace(*jsonField) == "":
		return prepflags.BadFlag("--json-field is empty: name the field that holds each document's text")
	}

	start := time.Now()
	ins, err := pipeline.ExpandInputs(paths)
	if err != nil {
		return err
	}
	sp, err := tokenize.NewWordSplitter(tokenize.BertOptions(*cased))
	if err != nil {
		return err
	}
	src := pipeline.NewSource(ins, pipeline.SourceOptions{Format: f, JSONField: *jsonField, MaxLineBytes: *maxLineBytes})
	stop := startVocabProgress(ins, src, stderr, *noProgress)
	read := func(emit func(string) error) error {
		return src.Run(ctx, func(d pipeline.Document) error {
			for _, u := range d.Units {
				if err := emit(u); err != nil {
					return err
				}
			}
			return nil
		})
	}
	counter, err := wordpiece.Count(ctx, read, wordpiece.CountOptions{Splitter: sp, Workers: *workers, MaxWords: *maxWords})
	stop()
	if err != nil {
		return err
	}
	counted := time.Since(start)
	cs, ss := counter.Stats(), src.Stats()
	if cs.Words == 0 {
		return fmt.Errorf("no words in %d file(s) (%d documents): nothing to train a vocabulary on", ss.Files, ss.Documents)
	}
	stop = startMergeProgress(&cfg, stderr, *noProgress)
	res, err := wordpiece.Train(ctx, counter.Counts(), cfg)
	stop()
	if err != nil {
		return err
	}
	v, err := tokenize.NewVocab(res.Tokens)
	if err != nil {
		return err
	}
	if err := tokenize.WriteVocab(*out, v); err != nil {
		return err
	}
	if *tokJSON != "" {
		if err := tokenize.WriteTokenizerJSON(*tokJSON, v, tokenize.BertOptions(*cased)); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "kiln vocab: %d files, %d documents, %d words (%d distinct) -> %d tokens (%d special, %d characters, %d merges) in %.1fs (counting %.1fs)\n",
		ss.Files, ss.Documents, cs.Words, cs.Distinct, len(res.Tokens), res.Specials, res.Alphabet, res.Merges,
		time.Since(start).Seconds(), counted.Seconds())
	if res.Dropped > 0 {
		fmt.Fprintf(stdout, "  alphabet: %d rare characters left out by --limit-alphabet %d (words are split without them)\n", res.Dropped, *limitAlphabet)
	}
	if cs.Prunes > 0 {
		fmt.Fprintf(stdout, "  word table full (--max-words %d): pruned %d times (threshold up to %d), %d occurrences of rare words dropped; every word seen more than %d times is kept, its count at most %d short\n",
			*maxWords, cs.Prunes, cs.Threshold, cs.PrunedCount, cs.MaxLoss, cs.MaxLoss)
	}
	if n := ss.SkippedBinary + ss.SkippedLongLine + ss.SkippedBadJSON; n > 0 || cs.Invalid > 0 {
		fmt.Fprintf(stdout, "  set aside: %d binary documents, %d long lines, %d bad JSON lines; %d invalid UTF-8 bytes removed\n",
			ss.SkippedBinary, ss.SkippedLongLine, ss.SkippedBadJSON, cs.Invalid)
		for _, p := range ss.Problems {
			fmt.Fprintf(stdout, "    %s\n", p)
		}
	}
	wrote := *out
	if *tokJSON != "" {
		wrote += " and " + *tokJSON
	}
	fmt.Fprintf(stdout, "  wrote %s\n", wrote)
	if len(res.Tokens) < *vocabSize {
		fmt.Fprintf(stderr, "kiln vocab: warning: %d tokens, fewer than --vocab-size %d: no pair seen at least --min-frequency %d times was left to merge\n",
			len(res.Tokens), *vocabSize, max(*minFreq, 1))
	}
	if _, err := v.RequireSpecial(); err != nil {
		fmt.Fprintf(stderr, "kiln vocab: warning: %v: kiln prep and train need all five BERT special tokens (see --special-tokens)\n", err)
	}
	return nil
}

// startVocabProgress shows a progress bar on a terminal (bytes read of the total) until the
// returned function is called.
func startVocabProgress(ins []pipeline.Input, src *pipeline.Source, stderr io.Writer, disabled bool) (stop func()) {
	if !showProgress(stderr, disabled) {
		return func() {}
	}
	bar := newBytesBar(stderr, ins, progressbar.OptionSetDescription("counting words"))
	src.SetProgress(func(n int64) { bar.Add64(n) })
	return func() { bar.Finish() }
}

// startMergeProgress shows a progress bar of the vocabulary's size during the merges, on a
// terminal, until the returned function is called.
func startMergeProgress(cfg *wordpiece.Config, stderr io.Writer, disabled bool) (stop func()) {
	if !showProgress(stderr, disabled) {
		return func() {}
	}
	bar := progressbar.NewOptions(cfg.VocabSize,
		progressbar.OptionSetWriter(stderr),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetDescription("merging"),
	)
	cfg.Progress = func(tokens int) { bar.Set(tokens) }
	return func() { bar.Finish() }
}
