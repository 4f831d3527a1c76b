package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
)

// loadTokenizer loads a tokenizer.json when one is given, else a vocab.txt.
func loadTokenizer(vocab, tokenizerJSON string, cased bool) (*tokenize.Tokenizer, error) {
	switch {
	case tokenizerJSON != "":
		return tokenize.LoadJSON(tokenizerJSON)
	case vocab != "":
		return tokenize.Load(vocab, cased)
	}
	return nil, errors.New("no vocabulary: give --vocab FILE or --tokenizer tokenizer.json")
}

func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "tokenize", "--vocab FILE [--cased] [--tokenizer tokenizer.json] [--workers N] [--output ids|tokens] [FILE...]\n\nFILEs ending in .gz or .zst are decompressed; no FILE (or -) reads standard input.", stderr)
	vocab := fs.String("vocab", "", "WordPiece vocabulary `FILE` (vocab.txt, one token per line)")
	cased := fs.Bool("cased", false, "keep case and accents (for cased vocabularies)")
	tokJSON := fs.String("tokenizer", "", "Hugging Face tokenizer.json `FILE` (instead of --vocab)")
	workers := fs.Int("workers", runtime.NumCPU(), "tokenizer goroutines (1 to 4096)")
	output := fs.String("output", "ids", "what to print for each line: ids or tokens (the word pieces)")
	maxLine := fs.Int("max-line-bytes", 64<<20, "fail on an input line longer than this (at most 1 GiB)")
	quiet := fs.Bool("quiet", false, "no summary on stderr")
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	if *output != "ids" && *output != "tokens" {
		return prepflags.BadFlag("--output %q: want ids or tokens", *output)
	}
	if err := cmp.Or(prepflags.CheckRange("workers", *workers, 1, pipeline.MaxWorkers), prepflags.CheckRange("max-line-bytes", *maxLine, 1, pipeline.MaxInputBytes)); err != nil {
		return err
	}
	restoreGC := startupGC()
	tok, err := loadTokenizer(*vocab, *tokJSON, *cased)
	restoreGC()
	if err != nil {
		return err
	}
	if !*quiet {
		warnVocab("tokenize", tok, stderr)
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	for _, f := range files {
		if f == "-" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return err // before any work
		}
	}

	start := time.Now()
	w := bufio.NewWriterSize(stdout, 64<<10) // a batch's output (more than 64 KiB of ids) is written as it is, not copied
	sum, err := pipeline.Tokenize(ctx, pipeline.TokenizeConfig{
		Tokenizer: tok, Files: files, Stdin: os.Stdin, Workers: *workers, MaxLineBytes: *maxLine, Pieces: *output == "tokens",
	}, w)
	if err != nil {
		w.Flush()
		if _, ok := errors.AsType[*pipeline.LongLineError](err); ok {
			err = fmt.Errorf("%w (see --max-line-bytes)", err)
		}
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if !*quiet {
		secs := time.Since(start).Seconds()
		unkRate := 0.0
		if sum.Tokens > 0 {
			unkRate = 100 * float64(sum.UNK) / float64(sum.Tokens)
		}
		fmt.Fprintf(stderr, "kiln tokenize: %d lines, %d tokens, [UNK] %.3f%%, %d invalid UTF-8 sequences replaced, %.1f MB in %.2fs (%.1f MB/s, %d workers)\n",
			sum.Lines, sum.Tokens, unkRate, sum.Invalid, float64(sum.Bytes)/1e6, secs, float64(sum.Bytes)/1e6/secs, *workers)
	}
	return nil
}
