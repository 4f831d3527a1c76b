package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

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
	strict   bool      // a line longer than the limit is an error (Tokenize), not skipped
	units    unitArena // the text of the units, copied out of the line buffer
}

// cancelCheckBytes is how much input a source reads between two checks of its context.
const cancelCheckBytes = 1 << 20

// readLine returns the next line without its line ending, or ok=false at the end of the
// file. A line longer than the limit is skipped without being held in memory, and counted.
// It returns the context's error once the run is cancelled, even in the middle of a line.
func (fr *fileReader) readLine(buf []byte) (line []byte, ok bool, err error) {
	return fr.appendLine(buf[:0])
}

// appendLine is readLine appending the line to dst: it returns dst extended by the line
// (dst as it was when ok is false). With strict set, a line longer than the limit is a
// *LongLineError instead of being skipped.
func (fr *fileReader) appendLine(dst []byte) (line []byte, ok bool, err error) {
	limit := fr.src.opts.MaxLineBytes
	start := len(dst)
	line = dst
	tooLong := false
	for {
		chunk, err := fr.br.ReadSlice('\n')
		if fr.unchecked += len(chunk); fr.unchecked >= cancelCheckBytes && fr.ctx != nil {
			fr.unchecked = 0
			if cerr := fr.ctx.Err(); cerr != nil {
				return dst, false, cerr
			}
		}
		if !tooLong {
			if len(line)-start+len(chunk) > limit+2 { // +2: the line ending
				if fr.strict {
					return dst, false, &LongLineError{Limit: limit}
				}
				tooLong = true
				line = line[:start]
			} else {
				line = append(line, chunk...)
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if len(chunk) == 0 && len(line) == start && !tooLong {
				return dst, false, nil
			}
		} else if err != nil {
			return dst, false, err
		}
		fr.line++
		if tooLong {
			fr.src.stats.SkippedLongLine++
			fr.src.stats.problem("%s:%d: line longer than %d bytes skipped", fr.path, fr.line, limit)
			line = line[:start]
			tooLong = false
			if err == io.EOF {
				return dst, false, nil
			}
			continue
		}
		fr.src.stats.TextBytes += int64(len(line) - start)
		n := len(line) // the line ending goes: any "\r" and "\n" at its end
		for n > start && (line[n-1] == '\n' || line[n-1] == '\r') {
			n--
		}
		return line[:n], true, nil
	}
}

// LongLineError is the error of a line longer than the limit where a line may not be skipped
// (Tokenize: each input line has its output line).
type LongLineError struct{ Limit int }

func (e *LongLineError) Error() string { return fmt.Sprintf("line longer than %d bytes", e.Limit) }

// firstLine handles the byte order mark at the start of a file's first line: a UTF-8 one is
// not text and is dropped; a UTF-16 one means that the file is not UTF-8 (utf16 is true).
func firstLine(line []byte) (text []byte, utf16 bool) {
	line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	return line, bytes.HasPrefix(line, []byte("\xff\xfe")) || bytes.HasPrefix(line, []byte("\xfe\xff"))
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
			line, fr.utf16 = firstLine(line)
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
	fr.doc.Units = append(fr.doc.Units, fr.units.copy(b))
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
