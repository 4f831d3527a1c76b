package pipeline

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/kiln-bert/kiln/internal/setting"
)

// Format names the layout of the input text.
type Format int

const (
	// Lines is the format of Google's BERT scripts: one sentence per line, a blank line ends
	// a document.
	Lines Format = iota
	// Text is raw text: one document per file, paragraphs separated by blank lines (the lines
	// of a paragraph are joined with a space), sentences found by the sentence splitter.
	Text
	// JSONL holds one document per line, a JSON object whose text field (by default "text")
	// is raw text, split into paragraphs at blank lines and into sentences by the splitter.
	JSONL
	// Parquet holds one document per row of a Parquet file, its text in a string column
	// (by default "text"), read as a jsonl document's text is (source_parquet.go).
	Parquet
	// Arrow holds one document per row of an Arrow IPC file or stream (Hugging Face
	// datasets' cache files), its text in a string column (source_arrow.go).
	Arrow
)

// ParseFormat parses "lines", "text", "jsonl", "parquet" or "arrow".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "lines":
		return Lines, nil
	case "text":
		return Text, nil
	case "jsonl":
		return JSONL, nil
	case "parquet":
		return Parquet, nil
	case "arrow":
		return Arrow, nil
	}
	return 0, setting.Errorf("Format", s, "lines, text, jsonl, parquet or arrow")
}

// String returns the flag spelling of f.
func (f Format) String() string {
	switch f {
	case Lines:
		return "lines"
	case Text:
		return "text"
	case JSONL:
		return "jsonl"
	case Parquet:
		return "parquet"
	case Arrow:
		return "arrow"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Document is one document read from an input file.
type Document struct {
	File      string // the input's path
	FileIndex int    // the input's position in the input order, from 0
	Line      int    // 1-based line of the file where the document starts (parquet, arrow: its row)
	Index     int    // 0-based index of the document within its file
	// Units are sentences for the lines format; for text and jsonl they are paragraphs that
	// still need sentence splitting (Split is true). The units of a file's documents may share
	// memory: a caller that keeps a part of one long after the document (a word as a map key)
	// should keep a copy (strings.Clone), not to hold the text around it.
	Units []string
	Split bool
	Bytes int // bytes of text in Units
}

// SourceOptions configures a Source.
type SourceOptions struct {
	Format       Format
	JSONField    string // jsonl: the field that holds the text; "" means "text"
	MaxLineBytes int    // longer lines are skipped and counted; 0 means 1 MiB
	MaxDocBytes  int    // longer documents are cut at unit boundaries and counted; 0 means 64 MiB
	// TextColumn is the column that holds the text (parquet, arrow); "" means "text".
	TextColumn string
	// MaxRowGroupBytes bounds what one Parquet row group or Arrow record batch may take in
	// memory, as the file declares it; 0 means 1 GiB.
	MaxRowGroupBytes int64
	// Open opens an input by its Input.Path; nil opens it on the local file system. A Source
	// names every input by its Input.Path, whatever Open reads.
	Open Opener
}

// SourceStats counts what a Source read and what it set aside. Every line that does not
// reach a document is counted in one of the Skipped fields.
type SourceStats struct {
	Files           int      `json:"files"`
	BytesRead       int64    `json:"bytes_read"` // bytes read from disk (compressed for .gz/.zst)
	TextBytes       int64    `json:"text_bytes"` // bytes of text after decompression
	Documents       int64    `json:"documents"`
	SkippedBinary   int64    `json:"skipped_binary_documents"`
	SkippedLongLine int64    `json:"skipped_long_lines"`
	SkippedBadJSON  int64    `json:"skipped_bad_json_lines"`
	CutDocuments    int64    `json:"cut_documents"` // documents longer than MaxDocBytes, cut in parts
	Problems        []string `json:"problems,omitempty"`
	// PerFile has one entry per file read, in order.
	PerFile []FileStats `json:"-"`

	// SkippedNullRows counts the rows (parquet, arrow) whose text is null.
	SkippedNullRows int64 `json:"skipped_null_rows,omitempty"`
}

// FileStats counts the documents read from one file and those set aside.
type FileStats struct {
	Path      string
	Bytes     int64 // read from disk
	Documents int64
	Skipped   int64 // binary documents, long lines, bad JSON lines and null rows
}

// maxProblems bounds the number of problem descriptions kept in SourceStats.
const maxProblems = 20

func (s *SourceStats) problem(format string, args ...any) {
	if len(s.Problems) < maxProblems {
		s.Problems = append(s.Problems, fmt.Sprintf(format, args...))
	}
}

// Source reads documents from a list of inputs, one file after another. It is not safe for
// concurrent use.
type Source struct {
	opts   SourceOptions
	inputs []Input
	stats  SourceStats
	// progress, if set, is called with the number of bytes read from disk since the last call.
	progress func(n int64)
	// fileBuf and textBuf are the read buffers, reused from file to file.
	fileBuf, textBuf *bufio.Reader
	// reserve, if set, is called with the bytes of text the source is about to hold for the
	// document it builds, before it holds them; it may wait (for the stages downstream to
	// let go of earlier documents) and fails when the run is cancelled. own is what the
	// source already holds for that document. unreserve gives back the bytes of a document
	// the source drops (a binary one). An emitted document carries its Bytes downstream.
	reserve   func(n, own int64) error
	unreserve func(n int64)
}

// NewSource returns a Source over inputs (as ExpandInputs returns them).
func NewSource(inputs []Input, opts SourceOptions) *Source {
	if opts.JSONField == "" {
		opts.JSONField = "text"
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 1 << 20
	}
	if opts.MaxDocBytes <= 0 {
		opts.MaxDocBytes = 64 << 20
	}
	if opts.TextColumn == "" {
		opts.TextColumn = "text"
	}
	if opts.MaxRowGroupBytes <= 0 {
		opts.MaxRowGroupBytes = DefaultMaxRowGroupBytes
	}
	return &Source{opts: opts, inputs: inputs}
}

// Stats returns the counts so far. Call it after Run returns for the final figures.
func (s *Source) Stats() SourceStats { return s.stats }

// Run reads every input in order and calls emit for each document. It stops at the first
// error (a file that cannot be opened, a truncated .gz or .zst, an error from emit) or when
// ctx is cancelled. The Document passed to emit is the callee's to keep.
func (s *Source) Run(ctx context.Context, emit func(Document) error) error {
	for i, in := range s.inputs {
		if err := ctx.Err(); err != nil {
			return err
		}
		read := s.readFile
		if s.opts.Format == Parquet || s.opts.Format == Arrow {
			read = s.readTableFile // source_table.go
		}
		if err := read(ctx, i, in, emit); err != nil {
			return err
		}
		s.stats.Files++
	}
	return nil
}

func (s *Source) readFile(ctx context.Context, index int, in Input, emit func(Document) error) error {
	if s.fileBuf == nil {
		s.fileBuf = bufio.NewReaderSize(nil, readBufferSize)
		s.textBuf = bufio.NewReaderSize(nil, readBufferSize)
	}
	r, counter, closeFn, err := openInputWith(s.opts.Open, in.Path, s.progress, s.fileBuf, s.textBuf)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Path, err)
	}
	defer closeFn()
	before := s.stats
	fr := &fileReader{src: s, path: in.Path, fileIndex: index, br: r, emit: emit, ctx: ctx}
	err = fr.run(ctx)
	s.stats.BytesRead += counter.n
	s.stats.PerFile = append(s.stats.PerFile, FileStats{
		Path: in.Path, Bytes: counter.n, Documents: s.stats.Documents - before.Documents,
		Skipped: s.stats.SkippedBinary + s.stats.SkippedLongLine + s.stats.SkippedBadJSON -
			before.SkippedBinary - before.SkippedLongLine - before.SkippedBadJSON,
	})
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("input %s: line %d: file is truncated or corrupt: %w", in.Path, fr.line, err)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("input %s: line %d: %w", in.Path, fr.line, err)
	}
	return nil
}
