package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
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
	return 0, fmt.Errorf("unknown input format %q (want lines, text, jsonl, parquet or arrow)", s)
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

// Input is one file to read.
type Input struct {
	Path string // as found: an argument, or below a directory argument
	Size int64  // bytes on disk (compressed size for .gz and .zst)
}

// ExpandInputs turns file, directory and glob arguments into the list of files to read, in
// kiln's fixed order: arguments in the order given; a directory contributes every regular
// file below it whose name does not start with "." (recursively), sorted by path; a glob
// contributes its matches, sorted; a file named twice is read once, where it first appears.
// A path that names nothing, or a glob that matches nothing, is an error: prep fails before
// it starts any work.
func ExpandInputs(args []string) ([]Input, error) {
	in, _, err := ExpandInputsExcept(args, nil)
	return in, err
}

// ExpandInputsExcept is ExpandInputs that never reads a file inside one of the directories
// except names (kiln's output directories, which may lie inside an input directory: a rerun
// would otherwise read the first run's shards as text). A directory of except that does not
// exist yet is ignored. It returns, besides the inputs, one note for each argument that held
// such a directory, to tell the user; an argument that is itself inside one of them is an
// error.
func ExpandInputsExcept(args, except []string) ([]Input, []string, error) {
	if len(args) == 0 {
		return nil, nil, errors.New("no input given")
	}
	ex, err := newExclusions(except)
	if err != nil {
		return nil, nil, err
	}
	var out []Input
	var notes []string
	seen := make(map[string]bool)
	add := func(path string, size int64) {
		key := filepath.Clean(path)
		if !seen[key] {
			seen[key] = true
			out = append(out, Input{Path: path, Size: size})
		}
	}
	for _, arg := range args {
		if dir := ex.holding(arg); dir != "" {
			return nil, nil, fmt.Errorf("input %s is inside the output directory %s: give the corpus, not kiln's output", arg, dir)
		}
		info, err := os.Stat(arg)
		switch {
		case err == nil && info.IsDir():
			var files []Input
			skipped := map[string]bool{}
			err := filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != arg && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					if dir := ex.is(p); dir != "" {
						skipped[dir] = true
						return filepath.SkipDir
					}
					return nil
				}
				switch {
				case d.Type().IsRegular():
					fi, err := d.Info()
					if err != nil {
						return err
					}
					files = append(files, Input{Path: p, Size: fi.Size()})
				case d.Type()&fs.ModeSymlink != 0:
					// A link to a regular file is read; links to directories are not
					// followed (no cycles).
					fi, err := os.Stat(p)
					if err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					if dir := ex.holding(p); dir != "" {
						skipped[dir] = true
						return nil
					}
					if fi.Mode().IsRegular() {
						files = append(files, Input{Path: p, Size: fi.Size()})
					}
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", arg, err)
			}
			for _, dir := range ex.dirs {
				if skipped[dir.path] {
					notes = append(notes, fmt.Sprintf("input %s holds the output directory %s: its files are not read as input", arg, dir.path))
				}
			}
			if len(files) == 0 {
				return nil, nil, fmt.Errorf("input %s: directory holds no files", arg)
			}
			sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
			for _, f := range files {
				add(f.Path, f.Size)
			}
		case err == nil:
			add(arg, info.Size())
		case errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(arg, "*?["):
			matches, gerr := filepath.Glob(arg)
			if gerr != nil {
				return nil, nil, fmt.Errorf("input %s: %w", arg, gerr)
			}
			n, skipped := 0, 0
			for _, m := range matches { // Glob sorts its matches
				fi, err := os.Stat(m)
				if err != nil {
					return nil, nil, fmt.Errorf("input %s: %w", m, err)
				}
				if ex.holding(m) != "" {
					skipped++
					continue
				}
				if fi.Mode().IsRegular() {
					add(m, fi.Size())
					n++
				}
			}
			if skipped > 0 {
				notes = append(notes, fmt.Sprintf("input %s matches %d file(s) in the output directory: they are not read as input", arg, skipped))
			}
			if n == 0 {
				return nil, nil, fmt.Errorf("input %s: pattern matches no files", arg)
			}
		default:
			return nil, nil, fmt.Errorf("input %s: %w", arg, err)
		}
	}
	return out, notes, nil
}

// exclusions are the directories whose files are never read as input.
type exclusions struct {
	dirs []excludedDir
}

type excludedDir struct {
	path string      // as given
	real string      // absolute, symbolic links resolved
	info os.FileInfo // to recognise it under another name
}

func newExclusions(paths []string) (exclusions, error) {
	var ex exclusions
	for _, p := range paths {
		if p == "" {
			continue
		}
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // made by this run: no input can be in it yet
		}
		if err != nil {
			return ex, fmt.Errorf("output directory %s: %w", p, err)
		}
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			real, err = filepath.Abs(real)
		}
		if err != nil {
			return ex, fmt.Errorf("output directory %s: %w", p, err)
		}
		ex.dirs = append(ex.dirs, excludedDir{path: p, real: real, info: info})
	}
	return ex, nil
}

// is returns the excluded directory that dir is (by identity, whatever its name), or "".
func (ex exclusions) is(dir string) string {
	if len(ex.dirs) == 0 {
		return ""
	}
	info, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	for _, d := range ex.dirs {
		if os.SameFile(info, d.info) {
			return d.path
		}
	}
	return ""
}

// holding returns the excluded directory that holds path (or is path), symbolic links
// resolved, or "".
func (ex exclusions) holding(path string) string {
	if len(ex.dirs) == 0 {
		return ""
	}
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return ""
	}
	for _, d := range ex.dirs {
		if real == d.real || strings.HasPrefix(real, d.real+string(filepath.Separator)) {
			return d.path
		}
	}
	return ""
}

// Document is one document read from an input file.
type Document struct {
	File      string // the input's path
	FileIndex int    // the input's position in the input order, from 0
	Line      int    // 1-based line of the file where the document starts (parquet, arrow: its row)
	Index     int    // 0-based index of the document within its file
	// Units are sentences for the lines format; for text and jsonl they are paragraphs that
	// still need sentence splitting (Split is true).
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

// countingReader counts the bytes read through it.
type countingReader struct {
	r        io.Reader
	n        int64
	progress func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n))
	}
	return n, err
}

// readBufferSize is the size of the buffers the source reads through.
const readBufferSize = 256 << 10

// openInput opens path, decompressing .gz and .zst by extension, and returns a buffered
// reader of its text. The returned counter counts the bytes read from disk. br and tr are
// buffers to reuse (reset here): br reads the file, tr the decompressed text (plain text is
// read through br alone).
func openInput(path string, progress func(int64), br, tr *bufio.Reader) (*bufio.Reader, *countingReader, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	cr := &countingReader{r: f, progress: progress}
	br.Reset(cr)
	switch {
	case strings.HasSuffix(path, ".gz"):
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: not a gzip file: %w", path, err)
		}
		tr.Reset(zr)
		return tr, cr, f.Close, nil
	case strings.HasSuffix(path, ".zst"):
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			f.Close()
			return nil, nil, nil, fmt.Errorf("%s: not a zstd file: %w", path, err)
		}
		tr.Reset(zr.IOReadCloser())
		return tr, cr, func() error { zr.Close(); return f.Close() }, nil
	}
	return br, cr, f.Close, nil
}

// OpenText opens the file at path to read its text, decompressing .gz and .zst by extension
// as a Source does. Closing the result closes the file.
func OpenText(path string) (io.ReadCloser, error) {
	r, _, closeFn, err := openInput(path, nil, bufio.NewReaderSize(nil, readBufferSize), bufio.NewReaderSize(nil, readBufferSize))
	if err != nil {
		return nil, err
	}
	return textFile{r, closeFn}, nil
}

// textFile is the io.ReadCloser that OpenText returns.
type textFile struct {
	*bufio.Reader
	close func() error
}

func (f textFile) Close() error { return f.close() }

func (s *Source) readFile(ctx context.Context, index int, in Input, emit func(Document) error) error {
	if s.fileBuf == nil {
		s.fileBuf = bufio.NewReaderSize(nil, readBufferSize)
		s.textBuf = bufio.NewReaderSize(nil, readBufferSize)
	}
	r, counter, closeFn, err := openInput(in.Path, s.progress, s.fileBuf, s.textBuf)
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

// fileReader turns the lines of one file into documents.
type fileReader struct {
	src       *Source
	path      string
	fileIndex int
	br        *bufio.Reader
	emit      func(Document) error
	line      int // lines read so far
	// ctx is checked every cancelCheckBytes of input, whatever the lines' lengths: a run
	// stops promptly even while it skips an endless line.
	ctx       context.Context
	unchecked int // bytes read since ctx was last checked

	doc      Document // the document being built
	binary   bool     // the document being built holds binary data
	utf16    bool     // the file starts with a UTF-16 byte order mark
	para     []byte   // text format: the paragraph being built
	held     int64    // bytes reserved (Source.reserve) for the document being built
	docIndex int
}

// cancelCheckBytes is how much input a source reads between two checks of its context.
const cancelCheckBytes = 1 << 20

// readLine returns the next line without its line ending, or ok=false at the end of the
// file. A line longer than the limit is skipped without being held in memory, and counted.
// It returns the context's error once the run is cancelled, even in the middle of a line.
func (fr *fileReader) readLine(buf []byte) (line []byte, ok bool, err error) {
	limit := fr.src.opts.MaxLineBytes
	line = buf[:0]
	tooLong := false
	for {
		chunk, err := fr.br.ReadSlice('\n')
		if fr.unchecked += len(chunk); fr.unchecked >= cancelCheckBytes && fr.ctx != nil {
			fr.unchecked = 0
			if cerr := fr.ctx.Err(); cerr != nil {
				return nil, false, cerr
			}
		}
		if !tooLong {
			if len(line)+len(chunk) > limit+2 { // +2: the line ending
				tooLong = true
				line = line[:0]
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(chunk) == 0 && len(line) == 0 && !tooLong {
				return nil, false, nil
			}
		} else if err != nil {
			return nil, false, err
		}
		fr.line++
		if tooLong {
			fr.src.stats.SkippedLongLine++
			fr.src.stats.problem("%s:%d: line longer than %d bytes skipped", fr.path, fr.line, limit)
			line = line[:0]
			tooLong = false
			if err == io.EOF {
				return nil, false, nil
			}
			continue
		}
		fr.src.stats.TextBytes += int64(len(line))
		line = bytes.TrimRight(line, "\r\n")
		return line, true, nil
	}
}

func (fr *fileReader) run(ctx context.Context) error {
	buf := make([]byte, 0, 64<<10)
	for {
		line, ok, err := fr.readLine(buf)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			fr.line++ // name the line being read when the input failed
			return err
		}
		if !ok {
			break
		}
		if fr.line == 1 {
			// A UTF-8 byte order mark is not text; a UTF-16 one means the file is not UTF-8.
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
			fr.utf16 = bytes.HasPrefix(line, []byte("\xff\xfe")) || bytes.HasPrefix(line, []byte("\xfe\xff"))
		}
		if fr.line%4096 == 0 { // many short lines: the byte count may not reach the check
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		switch fr.src.opts.Format {
		case Lines:
			err = fr.addLinesLine(line)
		case Text:
			err = fr.addTextLine(line)
		case JSONL:
			err = fr.addJSONLine(line)
		}
		if err != nil {
			return err
		}
		buf = line[:0]
	}
	if fr.src.opts.Format == Text {
		fr.endParagraph()
	}
	return fr.endDocument()
}

// addLinesLine handles one line of the lines format.
func (fr *fileReader) addLinesLine(line []byte) error {
	if isBlank(line) {
		return fr.endDocument()
	}
	fr.startDocument()
	if err := fr.addUnit(line); err != nil {
		return err
	}
	if fr.doc.Bytes >= fr.src.opts.MaxDocBytes {
		return fr.cutDocument()
	}
	return nil
}

// addTextLine handles one line of the text format.
func (fr *fileReader) addTextLine(line []byte) error {
	if isBlank(line) {
		fr.endParagraph()
		if fr.doc.Bytes >= fr.src.opts.MaxDocBytes {
			return fr.cutDocument()
		}
		return nil
	}
	fr.startDocument()
	text := bytes.TrimSpace(line)
	n := len(text)
	if len(fr.para) > 0 {
		n++
	}
	// The paragraph's bytes are held from here on: they count as the document's.
	if err := fr.reserve(n); err != nil {
		return err
	}
	if len(fr.para) > 0 {
		fr.para = append(fr.para, ' ')
	}
	fr.para = append(fr.para, text...)
	// The paragraph counts towards the document's size as it grows, so that no document,
	// however its text falls into paragraphs, is much longer than MaxDocBytes.
	if fr.doc.Bytes+len(fr.para) >= fr.src.opts.MaxDocBytes {
		fr.endParagraph()
		return fr.cutDocument()
	}
	return nil
}

// reserve asks the source's reserve hook for n more bytes of the current document.
func (fr *fileReader) reserve(n int) error {
	if fr.src.reserve == nil || n == 0 {
		return nil
	}
	if err := fr.src.reserve(int64(n), fr.held); err != nil {
		return err
	}
	fr.held += int64(n)
	return nil
}

func (fr *fileReader) endParagraph() {
	if len(fr.para) > 0 {
		fr.addHeldUnit(fr.para) // reserved as the paragraph grew
		fr.para = fr.para[:0]
		if cap(fr.para) > 1<<20 {
			fr.para = nil // a long paragraph's buffer is not kept for the rest of the file
		}
	}
}

// addJSONLine handles one line of the jsonl format: one document.
func (fr *fileReader) addJSONLine(line []byte) error {
	if isBlank(line) {
		return nil
	}
	var obj map[string]json.RawMessage
	var text string
	err := json.Unmarshal(line, &obj)
	if err == nil {
		raw, ok := obj[fr.src.opts.JSONField]
		switch {
		case !ok:
			err = fmt.Errorf("no field %q", fr.src.opts.JSONField)
		default:
			if uerr := json.Unmarshal(raw, &text); uerr != nil || string(bytes.TrimSpace(raw)) == "null" {
				err = fmt.Errorf("field %q is not a string", fr.src.opts.JSONField)
			}
		}
	}
	if err != nil {
		fr.src.stats.SkippedBadJSON++
		fr.src.stats.problem("%s:%d: bad JSON line skipped: %v", fr.path, fr.line, err)
		return nil
	}
	fr.startDocument()
	paras := splitParagraphs(text)
	for i, para := range paras {
		fr.startDocument() // again after a cut
		if err := fr.addUnit([]byte(para)); err != nil {
			return err
		}
		// A line may be longer than MaxDocBytes (with a large MaxLineBytes): its document is
		// cut at paragraph boundaries, as the text format's.
		if fr.doc.Bytes >= fr.src.opts.MaxDocBytes && i < len(paras)-1 {
			if err := fr.cutDocument(); err != nil {
				return err
			}
		}
	}
	return fr.endDocument()
}

// splitParagraphs splits raw text at blank lines, joining the lines of a paragraph with a
// space.
func splitParagraphs(text string) []string {
	var out []string
	var para strings.Builder
	flush := func() {
		if para.Len() > 0 {
			out = append(out, para.String())
			para.Reset()
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			flush()
			continue
		}
		if para.Len() > 0 {
			para.WriteByte(' ')
		}
		para.WriteString(line)
	}
	flush()
	return out
}

func (fr *fileReader) startDocument() {
	if fr.doc.Line == 0 {
		fr.doc = Document{File: fr.path, FileIndex: fr.fileIndex, Line: fr.line, Index: fr.docIndex, Split: fr.src.opts.Format != Lines}
		fr.binary = false
	}
}

// addUnit adds b to the current document as one unit (a sentence or a paragraph), once
// the source may hold it.
func (fr *fileReader) addUnit(b []byte) error {
	if err := fr.reserve(len(b)); err != nil {
		return err
	}
	fr.addHeldUnit(b)
	return nil
}

// addHeldUnit adds b, already reserved, to the current document.
func (fr *fileReader) addHeldUnit(b []byte) {
	if looksBinary(b) {
		fr.binary = true
	}
	fr.doc.Units = append(fr.doc.Units, string(b))
	fr.doc.Bytes += len(b)
}

// cutDocument ends a document that reached MaxDocBytes; the rest of its text starts a new
// document.
func (fr *fileReader) cutDocument() error {
	fr.src.stats.CutDocuments++
	fr.src.stats.problem("%s:%d: document longer than %d bytes cut in parts", fr.path, fr.doc.Line, fr.src.opts.MaxDocBytes)
	return fr.endDocument()
}

func (fr *fileReader) endDocument() error {
	if fr.doc.Line == 0 {
		return nil
	}
	doc := fr.doc
	fr.doc = Document{}
	held := fr.held
	fr.held = 0
	if fr.binary {
		if fr.src.unreserve != nil {
			fr.src.unreserve(held)
		}
		fr.src.stats.SkippedBinary++
		if fr.utf16 {
			fr.src.stats.problem("%s:%d: UTF-16 text (the file starts with a UTF-16 byte order mark), not UTF-8: document skipped; convert the file to UTF-8", fr.path, doc.Line)
		} else {
			fr.src.stats.problem("%s:%d: binary or NUL-laden document skipped", fr.path, doc.Line)
		}
		return nil
	}
	fr.docIndex++
	fr.src.stats.Documents++
	return fr.emit(doc)
}

func isBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// looksBinary reports whether b holds a NUL byte, or whether more than a tenth of its first
// 4 KiB is neither valid UTF-8 nor a usual text control character.
func looksBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	if len(b) > 4096 {
		b = b[:4096]
	}
	bad := 0
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b {
				bad++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		i += size
	}
	return bad*10 > len(b)
}
