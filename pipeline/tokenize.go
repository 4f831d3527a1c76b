package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"unsafe"

	"github.com/kiln-bert/kiln/tokenize"
)

// TokenizeConfig configures Tokenize: every line of some files, tokenized.
type TokenizeConfig struct {
	Tokenizer *tokenize.Tokenizer
	// Files are read in order; .gz and .zst are decompressed (OpenText); "-" is Stdin.
	Files []string
	Stdin io.Reader
	// Workers is the number of goroutines that tokenize; the output does not depend on it.
	Workers int
	// MaxLineBytes bounds a line: a longer one is a *LongLineError (each line has its output
	// line, so none is skipped).
	MaxLineBytes int
	// Pieces prints the word pieces instead of the ids.
	Pieces bool
}

// TokenizeStats counts what Tokenize read and made.
type TokenizeStats struct {
	Lines   int64 // lines read
	Tokens  int64
	UNK     int64
	Bytes   int64 // bytes of text, one line ending counted per line
	Invalid int64 // invalid UTF-8 sequences replaced
}

// Tokenize writes, for each line of cfg.Files in order, one line to w: the line's token ids
// (or pieces), space separated, without special tokens. Lines are those of the source's line
// reader (the byte order mark handled as the source does: a UTF-8 one dropped, a UTF-16 one an
// error naming the file), read in blocks of whole lines (blockReader), tokenized on
// cfg.Workers goroutines (OrderedMap) and written in input order. The counts cover what was read, also when it fails.
func Tokenize(ctx context.Context, cfg TokenizeConfig, w io.Writer) (TokenizeStats, error) {
	var sum TokenizeStats
	var words idWords // the ids' decimal forms, built by the reader once a second block is read
	blocks := 0
	for _, name := range cfg.Files {
		if err := tokenizeFile(ctx, cfg, &words, &blocks, name, w, &sum); err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// tokenizeBatch is a run of input lines tokenized together by one worker.
type tokenizeBatch struct {
	first int64   // line number of the batch's first line
	err   error   // the first line that could not be encoded
	text  []byte  // the lines, each ending in "\n" (blockReader.next)
	out   []byte  // the output lines, ready to write
	words idWords // the ids' decimal forms; nil: formatted one by one
	stats TokenizeStats
}

// tokenizeFile tokenizes every line of one file ("-" for cfg.Stdin) and adds its counts to
// sum. Its reader builds *words, the ids' decimal forms (unless cfg.Pieces), once *blocks, the
// blocks read so far, exceeds one: a one-line run does without (the ids of a batch without it
// are formatted one by one, the same bytes).
func tokenizeFile(ctx context.Context, cfg TokenizeConfig, words *idWords, blocks *int, name string, w io.Writer, sum *TokenizeStats) error {
	r := cfg.Stdin
	display := "standard input"
	if name != "-" {
		f, err := OpenText(name) // .gz and .zst decompressed, as prep does
		if err != nil {
			return err
		}
		defer f.Close()
		r, display = f, name
	}
	if r == nil {
		return fmt.Errorf("%s: no reader", display)
	}
	workers := max(1, cfg.Workers)
	tok := cfg.Tokenizer
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	br := &blockReader{ctx: ctx, r: r, limit: cfg.MaxLineBytes}

	// Batches written out come back to the reader, buffers and all, so that a run allocates
	// a few batches instead of one per block (and the collector has little to do).
	free := make(chan *tokenizeBatch, 8*workers+8)
	newBatch := func() *tokenizeBatch {
		select {
		case b := <-free:
			*b = tokenizeBatch{text: b.text[:0], out: b.out[:0]}
			return b
		default:
			return &tokenizeBatch{}
		}
	}
	batches := make(chan *tokenizeBatch)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		for {
			b := newBatch()
			b.first = br.line + 1
			var lines int
			var at int64
			var err error
			b.text, lines, at, err = br.next(b.text)
			if err != nil {
				if ctx.Err() != nil {
					readErr <- ctx.Err()
					return
				}
				if err == errUTF16 {
					readErr <- fmt.Errorf("%s: %w", display, err)
				} else {
					readErr <- fmt.Errorf("%s: line %d: %w", display, at, err)
				}
				return
			}
			if lines == 0 {
				break
			}
			if *blocks++; *blocks > 1 && *words == nil && !cfg.Pieces {
				*words = newIDWords(tok.Vocab().Size())
			}
			b.words = *words // read by the worker after the batch is sent
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
	unkID := tok.Special().UNK
	pieces := cfg.Pieces
	// A window of two batches a worker keeps them busy; each batch more in flight is fresh
	// memory (its text and output buffers) to fault in.
	results := OrderedMap(ctx, batches, workers, 2*workers, func(b *tokenizeBatch) *tokenizeBatch {
		var enc tokenize.Encoding
		// The lines are read as slices of b.text without a copy: Encode keeps nothing of
		// its text, and b.text is reused only after the writer is done with this batch.
		text := unsafe.String(unsafe.SliceData(b.text), len(b.text))
		b.out = slices.Grow(b.out[:0], len(text)+len(text)/2+64)
		for i := 0; len(text) > 0; i++ {
			end := strings.IndexByte(text, '\n') // every line of the batch ends in one
			line := text[:end]
			text = text[end+1:]
			for len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			if err := tok.Encode(&enc, line); err != nil && b.err == nil {
				b.err = fmt.Errorf("%s: line %d: %w", display, b.first+int64(i), err)
			}
			b.stats.Bytes += int64(len(line)) + 1
			b.stats.Tokens += int64(len(enc.IDs))
			b.stats.Invalid += int64(enc.Invalid)
			for _, id := range enc.IDs {
				if id == unkID {
					b.stats.UNK++
				}
			}
			if pieces {
				for i, id := range enc.IDs {
					if i > 0 {
						b.out = append(b.out, ' ')
					}
					b.out = append(b.out, vocab.Token(id)...)
				}
			} else {
				b.out = b.words.appendIDs(b.out, enc.IDs)
			}
			b.out = append(b.out, '\n')
		}
		return b
	})
	// stop ends the run early: the reader's count of lines is read only once it has stopped.
	stop := func(err error) error {
		cancel()
		for range results {
		}
		<-readErr
		sum.Lines += br.line
		return err
	}
	for b := range results {
		if b.err != nil {
			return stop(b.err)
		}
		if _, err := w.Write(b.out); err != nil {
			return stop(fmt.Errorf("writing output: %w", err))
		}
		sum.Tokens += b.stats.Tokens
		sum.UNK += b.stats.UNK
		sum.Bytes += b.stats.Bytes
		sum.Invalid += b.stats.Invalid
		select { // for the reader to reuse
		case free <- b:
		default:
		}
	}
	err := <-readErr
	sum.Lines += br.line
	if err != nil {
		return err
	}
	return ctx.Err()
}
