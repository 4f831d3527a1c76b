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
	"slices"
	"strconv"
	"time"
	"unsafe"

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

// tokenizeBatch is a run of input lines tokenized together by one worker.
type tokenizeBatch struct {
	first  int64  // line number of the batch's first line
	err    error  // the first line that could not be encoded
	text   []byte // the lines' bytes, one after the other, without line ends
	ends   []int  // ends[i]: where line i ends in text
	out    []byte // the output lines, ready to write
	tokens int64
	unk    int64
	bytes  int64
	bad    int64
}

func runTokenize(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("tokenize", "--vocab FILE [--cased] [--tokenizer tokenizer.json] [--workers N] [--output ids|tokens] [FILE...]\n\nFILEs ending in .gz or .zst are decompressed; no FILE (or -) reads standard input.", stderr)
	vocab := fs.String("vocab", "", "WordPiece vocabulary `FILE` (vocab.txt, one token per line)")
	cased := fs.Bool("cased", false, "keep case and accents (for cased vocabularies)")
	tokJSON := fs.String("tokenizer", "", "Hugging Face tokenizer.json `FILE` (instead of --vocab)")
	workers := fs.Int("workers", runtime.NumCPU(), "tokenizer goroutines (1 to 4096)")
	output := fs.String("output", "ids", "what to print for each line: ids or tokens (the word pieces)")
	maxLine := fs.Int("max-line-bytes", 64<<20, "fail on an input line longer than this (at most 1 GiB)")
	quiet := fs.Bool("quiet", false, "no summary on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *output != "ids" && *output != "tokens" {
		return badFlag("--output %q: want ids or tokens", *output)
	}
	if err := cmp.Or(checkRange("workers", *workers, 1, pipeline.MaxWorkers), checkRange("max-line-bytes", *maxLine, 1, pipeline.MaxInputBytes)); err != nil {
		return err
	}
	tok, err := loadTokenizer(*vocab, *tokJSON, *cased)
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
	var sum tokenizeBatch
	var lines int64
	w := bufio.NewWriterSize(stdout, 1<<20)
	tokens := *output == "tokens"
	unkID := tok.Special().UNK
	for _, name := range files {
		n, err := tokenizeFile(ctx, tok, name, *workers, *maxLine, tokens, unkID, w, &sum)
		lines += n
		if err != nil {
			w.Flush()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if !*quiet {
		secs := time.Since(start).Seconds()
		unkRate := 0.0
		if sum.tokens > 0 {
			unkRate = 100 * float64(sum.unk) / float64(sum.tokens)
		}
		fmt.Fprintf(stderr, "kiln tokenize: %d lines, %d tokens, [UNK] %.3f%%, %d invalid UTF-8 sequences replaced, %.1f MB in %.2fs (%.1f MB/s, %d workers)\n",
			lines, sum.tokens, unkRate, sum.bad, float64(sum.bytes)/1e6, secs, float64(sum.bytes)/1e6/secs, *workers)
	}
	return nil
}

// tokenizeFile tokenizes every line of one file ("-" for stdin) on workers goroutines and
// writes the results in input order. It returns the number of lines read.
func tokenizeFile(ctx context.Context, tok *tokenize.Tokenizer, name string, workers, maxLine int, tokens bool, unkID int32, w io.Writer, sum *tokenizeBatch) (int64, error) {
	var r io.Reader = os.Stdin
	display := "standard input"
	if name != "-" {
		f, err := pipeline.OpenText(name) // .gz and .zst decompressed, as kiln prep does
		if err != nil {
			return 0, err
		}
		defer f.Close()
		r, display = f, name
	}
	br := bufio.NewReaderSize(r, 1<<20)
	if head, _ := br.Peek(2); string(head) == "\xff\xfe" || string(head) == "\xfe\xff" {
		return 0, fmt.Errorf("%s: UTF-16 text (it starts with a UTF-16 byte order mark); kiln reads UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)", display)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// A batch is 512 lines or 1 MiB of text, whichever comes first (or one longer line).
	const batchLines, batchBytes = 512, 1 << 20
	// Batches written out come back to the reader, buffers and all, so that a run allocates
	// a few batches instead of one per 512 lines (and the collector has little to do).
	free := make(chan *tokenizeBatch, 8*workers+8)
	newBatch := func(first int64) *tokenizeBatch {
		select {
		case b := <-free:
			*b = tokenizeBatch{first: first, text: b.text[:0], ends: b.ends[:0], out: b.out[:0]}
			return b
		default:
			return &tokenizeBatch{first: first}
		}
	}
	batches := make(chan *tokenizeBatch)
	var lines int64
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		b := newBatch(1)
		for {
			var err error
			b.text, err = appendLine(ctx, b.text, br, maxLine)
			if err == io.EOF {
				break
			}
			if err != nil {
				if ctx.Err() != nil {
					readErr <- ctx.Err()
					return
				}
				readErr <- fmt.Errorf("%s: line %d: %w", display, lines+1, err)
				return
			}
			lines++
			b.ends = append(b.ends, len(b.text))
			if len(b.ends) == batchLines || len(b.text) >= batchBytes {
				select {
				case batches <- b:
				case <-ctx.Done():
					readErr <- ctx.Err()
					return
				}
				b = newBatch(lines + 1)
			}
		}
		if len(b.ends) > 0 {
			select {
			case batches <- b:
			case <-ctx.Done():
				readErr <- ctx.Err()
				return
			}
		}
		readErr <- nil
	}()

	vocab := tok.Vocab()
	results := pipeline.OrderedMap(ctx, batches, workers, 4*workers, func(b *tokenizeBatch) *tokenizeBatch {
		var enc tokenize.Encoding
		// The lines are read as slices of b.text without a copy: Encode keeps nothing of
		// its text, and b.text is reused only after the writer is done with this batch.
		text := unsafe.String(unsafe.SliceData(b.text), len(b.text))
		b.out = slices.Grow(b.out[:0], len(text)+len(text)/2+64)
		start := 0
		for i, end := range b.ends {
			line := text[start:end]
			start = end
			tok.Encode(&enc, line)
			if enc.Err != nil && b.err == nil {
				b.err = fmt.Errorf("%s: line %d: %w", display, b.first+int64(i), enc.Err)
			}
			b.bytes += int64(len(line)) + 1
			b.tokens += int64(len(enc.IDs))
			b.bad += int64(enc.Invalid)
			for i, id := range enc.IDs {
				if i > 0 {
					b.out = append(b.out, ' ')
				}
				if id == unkID {
					b.unk++
				}
				if tokens {
					b.out = append(b.out, vocab.Token(id)...)
				} else {
					b.out = strconv.AppendInt(b.out, int64(id), 10)
				}
			}
			b.out = append(b.out, '\n')
		}
		return b
	})
	// stop ends the run early: the reader's count of lines is read only once it has stopped.
	stop := func(err error) (int64, error) {
		cancel()
		for range results {
		}
		<-readErr
		return lines, err
	}
	for b := range results {
		if b.err != nil {
			return stop(b.err)
		}
		if _, err := w.Write(b.out); err != nil {
			return stop(fmt.Errorf("writing output: %w", err))
		}
		sum.tokens += b.tokens
		sum.unk += b.unk
		sum.bytes += b.bytes
		sum.bad += b.bad
		select { // for the reader to reuse
		case free <- b:
		default:
		}
	}
	if err := <-readErr; err != nil {
		return lines, err
	}
	return lines, ctx.Err()
}

// appendLine reads one line and appends it to dst without its line ending ("\n" or "\r\n").
// A line longer than max bytes is an error; at the end of the input it returns io.EOF. ctx is
// checked every MiB of a long line, so that a cancelled run stops promptly, whatever the line's
// length.
func appendLine(ctx context.Context, dst []byte, br *bufio.Reader, max int) ([]byte, error) {
	start := len(dst)
	unchecked := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if unchecked += len(chunk); unchecked >= 1<<20 {
			unchecked = 0
			if cerr := ctx.Err(); cerr != nil {
				return dst[:start], cerr
			}
		}
		if len(dst)-start+len(chunk) > max+2 {
			return dst[:start], fmt.Errorf("line longer than %d bytes (see --max-line-bytes)", max)
		}
		dst = append(dst, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(dst) == start {
				return dst, io.EOF
			}
			break
		}
		if err != nil {
			return dst[:start], err
		}
		break
	}
	n := len(dst)
	if n > start && dst[n-1] == '\n' {
		n--
		if n > start && dst[n-1] == '\r' {
			n--
		}
	}
	return dst[:n], nil
}
