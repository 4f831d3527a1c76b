package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
)

// tokenizeBlockBytes is how much text Tokenize reads into a batch (or one longer line).
const tokenizeBlockBytes = 64 << 10

// errUTF16 is a file that starts with a UTF-16 byte order mark.
var errUTF16 = errors.New("UTF-16 text (it starts with a UTF-16 byte order mark); kiln reads UTF-8: convert it first (iconv -f UTF-16 -t UTF-8)")

// blockReader reads a file's lines for Tokenize in blocks of whole lines, each read straight
// into a batch's buffer and cut after its last line end; the partial line after it starts the
// next block. The workers find the lines in the block: the reader neither copies nor scans
// them one at a time (line by line reading was the largest cost of kiln tokenize after the
// tokenizer and start-up). Lines are what the source's line reader gives: "\n" ends a line,
// the "\r"s before it are dropped by the worker, a last line without a line end counts when
// it is not empty, a UTF-8 byte order mark at the start is dropped and a UTF-16 one is an
// error; a line longer than limit+2 bytes with its line end is a *LongLineError.
type blockReader struct {
	ctx     context.Context
	r       io.Reader
	limit   int
	line    int64  // lines returned so far
	carry   []byte // the start of the next block's first line
	started bool   // the file's first bytes have been looked at
	utf16   bool   // they are a UTF-16 byte order mark
	eof     bool
	block   int   // bytes to read into a block; 0: tokenizeBlockBytes
	err     error // a long line after the lines of the last block
	errAt   int64 // its line
}

// next fills text (reusing its buffer) with the next block: whole lines, each ending in "\n"
// (one is added to a last line that has none). It returns the number of lines, 0 at the end
// of the file. An error names no file: at is the line it concerns (for a *LongLineError, the
// long line; else the line being read).
func (br *blockReader) next(text []byte) (block []byte, lines int, at int64, err error) {
	if br.err != nil {
		return text[:0], 0, br.errAt, br.err
	}
	text = append(text[:0], br.carry...)
	br.carry = br.carry[:0]
	step := cmp.Or(br.block, tokenizeBlockBytes)
	want := step
	extra := 0 // bytes dropped from the start of the block's first line: a byte order mark
	for {
		for !br.eof && (len(text) < want || !br.started && len(text) < 5) { // 5: a BOM of each kind
			if err := br.ctx.Err(); err != nil {
				return text[:0], 0, br.line + 1, err
			}
			text = slices.Grow(text, max(want, 5)-len(text))
			n, err := br.r.Read(text[len(text):cap(text)])
			text = text[:len(text)+n]
			if err == io.EOF {
				br.eof = true
			} else if err != nil {
				return text[:0], 0, br.line + 1, err
			}
		}
		if !br.started {
			br.started = true
			first, utf16 := firstLine(text)
			br.utf16 = utf16 // an error once line 1 is known not to be too long, as the line reader's
			extra = len(text) - len(first)
			text = text[:copy(text, first)]
		}
		end := bytes.LastIndexByte(text, '\n') + 1
		if end == 0 && !br.eof { // one line, not ended yet
			if len(text)+extra > br.limit+2 {
				return text[:0], 0, br.line + 1, &LongLineError{Limit: br.limit}
			}
			want = len(text) + step
			continue
		}
		if br.eof {
			end = len(text)
		}
		br.carry = append(br.carry, text[end:]...)
		text = text[:end]
		if br.utf16 {
			if i, _ := longLine(text, br.limit, extra); i == 0 {
				return text[:0], 0, 1, &LongLineError{Limit: br.limit}
			}
			return text[:0], 0, 1, errUTF16
		}
		if len(text)+extra > br.limit+2 {
			if i, at := longLine(text, br.limit, extra); i >= 0 {
				// The lines before the long one, then the error.
				br.err, br.errAt = &LongLineError{Limit: br.limit}, br.line+1+int64(i)
				if i == 0 {
					return text[:0], 0, br.errAt, br.err
				}
				text = text[:at]
				end = at
			}
		}
		if end > 0 && text[end-1] != '\n' || end == 0 && extra > 0 {
			// The last line has no line end (or the file is a byte order mark: one empty line).
			text = append(text, '\n')
		}
		lines = bytes.Count(text, []byte{'\n'})
		br.line += int64(lines)
		return text, lines, 0, nil
	}
}

// longLine returns the index of the first line of text longer than limit+2 bytes with its
// line end (the last line may have none) and where it starts, or -1; the first line had extra
// bytes more.
func longLine(text []byte, limit, extra int) (i, at int) {
	for i = 0; at < len(text); i++ {
		n := bytes.IndexByte(text[at:], '\n') + 1
		if n == 0 {
			n = len(text) - at
		}
		if n+extra > limit+2 {
			return i, at
		}
		at, extra = at+n, 0
	}
	return -1, 0
}
