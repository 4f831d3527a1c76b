package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

func runPrep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "prep", "--input PATH... --format lines|text|jsonl|parquet|arrow --vocab FILE [--tokenizer FILE] --output DIR [--eval-fraction F | --partitions N] [flags]", stderr)
	cfg, inputs := prepflags.RegisterExample(fs, false)
	fs.Float64Var(&cfg.EvalFraction, "eval-fraction", 0, "share of documents, in [0, 1), held out (chosen by a seeded hash of each document) into a second shard set in DIR/eval, for train --eval-data; NotNext partners stay within each set")
	out := fs.String("output", "", "output `DIR` for the shards and manifest.json")
	partitions := fs.Int("partitions", 0, "split the run into N partitions (2 to 65536), prepared in parallel, each paired, shuffled and written on its own to DIR/part-NNNNN/; 0 or 1: one stream, as without the flag (see the README's partitioned prep)")
	so := prepflags.RegisterShard(fs)
	noProgress := fs.Bool("no-progress", false, "no progress bar, even on a terminal")
	if err := prepflags.Parse(fs, prepflags.SpreadMulti(args, "input")); err != nil {
		return err
	}
	if err := prepflags.FinishExample(fs, cfg, inputs); err != nil {
		return err
	}
	if *out == "" {
		fmt.Fprintln(stderr, "no output: give --output DIR")
		fs.Usage()
		return prepflags.ErrUsage
	}
	if err := prepflags.CheckRange("partitions", *partitions, 0, pipeline.MaxPartitions); err != nil {
		return err
	}
	if *partitions > 1 && cfg.EvalFraction > 0 {
		return prepflags.BadFlag("--partitions %d with --eval-fraction %v: a partitioned run has no held-out set yet; give one of them", *partitions, cfg.EvalFraction)
	}
	opts, err := so.Options(*out, cfg.MaxSeqLen)
	if err != nil {
		return err
	}
	cfg.Exclude = []string{*out} // a rerun must not read the shards as text
	restoreGC := startupGC()
	ex, err := pipeline.NewExamples(*cfg)
	restoreGC()
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
	if cfg.Task == pairing.NSP && notNextUnreachable(e) {
		out = append(out, fmt.Sprintf("NotNext is %.1f%% of the pairs, not 50%%: %.1f%% were one-sentence chunks, which NSP always makes NotNext (as Google's script does), more than the 4/9 that kiln's balance can offset; at --max-seq-len %d a chunk holds %d tokens, less than most sentences: raise --max-seq-len (or use --task sop)",
			pct(int64(p.NotNext), int64(p.Instances)), pct(int64(p.ForcedNotNext), int64(p.Instances)), cfg.MaxSeqLen, cfg.MaxSeqLen-3))
	}
	if cfg.Task == pairing.NSP && p.NoPartner > 0 && pct(int64(p.NoPartner), int64(p.Instances)) > 1 {
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

// nullRows describes the null rows a table input skipped, for the prep summary ("" if none).
func nullRows(s pipeline.SourceStats) string {
	if s.SkippedNullRows == 0 {
		return ""
	}
	return fmt.Sprintf(", %d null rows", s.SkippedNullRows)
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
