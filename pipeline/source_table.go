package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kiln-bert/kiln/internal/arrowalloc"
)

// DefaultMaxRowGroupBytes is the default bound on what one Parquet row group or Arrow record
// batch may take in memory (SourceOptions.MaxRowGroupBytes).
const DefaultMaxRowGroupBytes = 1 << 30

// The table formats (parquet, arrow) hold one document per row, its text in a string column.
// A row becomes a document as a jsonl line does: its text is split into paragraphs at blank
// lines, its identity is the file's position in the input order and the count of documents
// before it in the file, and Document.Line is its 1-based row in the file. A null row is
// skipped and counted (SkippedNullRows), as a jsonl line without text is; it takes no
// document index, so the same documents give the same identities in every format. A row
// whose text is longer than MaxDocBytes is cut at paragraph boundaries into documents of at
// most MaxDocBytes (a longer paragraph is a document of its own), counted in CutDocuments.

// readTableFile reads one Parquet or Arrow file of the inputs. A panic inside the Arrow
// libraries (they trust what some files declare) is turned into an error naming the file and
// the part being read.
func (s *Source) readTableFile(ctx context.Context, index int, in Input, emit func(Document) error) (err error) {
	f, done, err := s.openTable(in.Path)
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Path, err)
	}
	defer done()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("input %s: %w", in.Path, err)
	}
	ra := &countingReaderAt{f: f, size: info.Size(), progress: s.progress}
	t := &tableSink{fr: &fileReader{src: s, path: in.Path, fileIndex: index, emit: emit}}
	before := s.stats
	defer func() {
		if r := recover(); r != nil {
			where := t.where
			if where == "" {
				where = "file"
			}
			if t.row > 0 {
				where += fmt.Sprintf(" (after row %d)", t.row)
			}
			err = fmt.Errorf("input %s: %s: file is corrupt or unsupported: %v", in.Path, where, r)
		}
		s.stats.BytesRead += ra.n
		s.stats.PerFile = append(s.stats.PerFile, FileStats{
			Path: in.Path, Bytes: ra.n, Documents: s.stats.Documents - before.Documents,
			Skipped: s.stats.SkippedBinary + s.stats.SkippedNullRows - before.SkippedBinary - before.SkippedNullRows,
		})
	}()
	alloc := arrowalloc.NewHeld(s.opts.MaxRowGroupBytes)
	if s.opts.Format == Parquet {
		err = s.readParquet(ctx, ra, t, alloc)
	} else {
		err = s.readArrow(ctx, ra, t, alloc)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if t.where != "" {
			return fmt.Errorf("input %s: %s: %w", in.Path, t.where, err)
		}
		return fmt.Errorf("input %s: %w", in.Path, err)
	}
	return nil
}

// tableSink turns the rows of one table file into documents.
type tableSink struct {
	fr    *fileReader
	row   int    // rows read so far
	where string // the part of the file being read ("row group 2, column \"text\""), for errors
}

// add takes the text of the next row (null: the row's text is null).
func (t *tableSink) add(text string, null bool) error {
	t.row++
	fr := t.fr
	fr.line = t.row
	src := fr.src
	if null {
		src.stats.SkippedNullRows++
		src.stats.problem("%s: row %d: null %q skipped", fr.path, t.row, src.opts.TextColumn)
		return nil
	}
	src.stats.TextBytes += int64(len(text))
	fr.startDocument()
	for _, para := range splitParagraphs(text) {
		if fr.doc.Bytes > 0 && fr.doc.Bytes+len(para) > src.opts.MaxDocBytes {
			// The rest of the row is a new document.
			if err := fr.cutDocument(); err != nil {
				return err
			}
			fr.startDocument()
		}
		fr.addUnit([]byte(para))
	}
	return fr.endDocument()
}

// countingReaderAt reads a file at offsets, counting the bytes read.
type countingReaderAt struct {
	f        *os.File
	size     int64
	off      int64 // for Read and Seek
	n        int64
	progress func(int64)
}

func (c *countingReaderAt) count(n int) {
	c.n += int64(n)
	if c.progress != nil && n > 0 {
		c.progress(int64(n))
	}
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.count(n)
	return n, err
}

func (c *countingReaderAt) Read(p []byte) (int, error) {
	n, err := c.ReadAt(p, c.off)
	c.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (c *countingReaderAt) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.off
	case io.SeekEnd:
		offset += c.size
	default:
		return 0, errors.New("seek: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("seek: negative offset")
	}
	c.off = offset
	return offset, nil
}

// errTooLarge is the error of an allocation refused by a table file's allocator (an
// arrowalloc.NewHeld of --max-row-group-bytes).
type errTooLarge struct{ want, live, limit int64 }

func (e errTooLarge) Error() string {
	return fmt.Sprintf("the file declares a buffer of %d bytes, with %d bytes already in use: more than the %d bytes one row group or record batch may take (SourceOptions.MaxRowGroupBytes)", e.want, e.live, e.limit)
}

// tooLarge is the errTooLarge of a refused allocation.
func tooLarge(r *arrowalloc.Refused) errTooLarge {
	return errTooLarge{want: r.Size, live: r.Counted, limit: r.Total}
}

// recoverTooLarge turns a table file allocator's panic into an error in *err; other panics go on.
func recoverTooLarge(err *error) {
	if r := recover(); r != nil {
		if e, ok := r.(*arrowalloc.Refused); ok {
			*err = tooLarge(e)
			return
		}
		panic(r)
	}
}
