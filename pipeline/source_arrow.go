package pipeline

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/kiln-bert/kiln/internal/arrowalloc"
	"github.com/kiln-bert/kiln/internal/arrowfb"
)

// readArrow reads the text column of an Arrow IPC file (random access, it starts with
// ARROW1) or stream (what Hugging Face datasets writes), record batch by record batch. Every
// buffer the Arrow library allocates goes through alloc, which refuses to hold more than
// MaxRowGroupBytes; each message's lengths are checked against the file's size and that
// bound, and its flatbuffer is verified, before the library reads it (streamMessages).
// Arrow v15 copies a batch's buffers out of the message it read, so a batch takes about
// twice its size while it is read.
func (s *Source) readArrow(ctx context.Context, ra *countingReaderAt, t *tableSink, alloc *arrowalloc.Allocator) (err error) {
	defer recoverTooLarge(&err)
	var magic [6]byte
	if n, _ := ra.ReadAt(magic[:], 0); n < len(magic) {
		return fmt.Errorf("%d bytes: too short to be an Arrow IPC file or stream", ra.size)
	}
	var sc *arrow.Schema
	var next func() (arrow.Record, error)
	if string(magic[:]) == "ARROW1" {
		t.where = "footer"
		fr, err := s.openArrowFile(ra, alloc)
		if err != nil {
			return err
		}
		defer fr.Close()
		sc = fr.Schema()
		i := 0
		next = func() (arrow.Record, error) {
			if i >= fr.NumRecords() {
				return nil, io.EOF
			}
			i++
			return fr.RecordAt(i - 1)
		}
	} else {
		t.where = "schema"
		msgs := &streamMessages{r: bufio.NewReaderSize(ra, 64<<10), left: ra.size, limit: s.opts.MaxRowGroupBytes, mem: alloc, refs: 1}
		sr, err := ipc.NewReaderFromMessageReader(msgs, ipc.WithAllocator(alloc))
		if err != nil {
			if r := alloc.Refused(); r != nil {
				return tooLarge(r)
			}
			return fmt.Errorf("not a readable Arrow IPC stream: %w", err)
		}
		defer sr.Release()
		sc = sr.Schema()
		next = func() (arrow.Record, error) {
			if !sr.Next() {
				if err := sr.Err(); err != nil && !errors.Is(err, io.EOF) {
					return nil, err
				}
				if !msgs.eos {
					return nil, errors.New("the stream ends without its end-of-stream marker: file is truncated")
				}
				return nil, io.EOF
			}
			rec := sr.Record()
			rec.Retain()
			return rec, nil
		}
	}
	t.where = ""
	name := s.opts.TextColumn
	idx := sc.FieldIndices(name)
	if len(idx) == 0 {
		var names []string
		for _, f := range sc.Fields() {
			names = append(names, fmt.Sprintf("%q", f.Name))
		}
		return fmt.Errorf("no column %q (the file's columns: %s); name the text column in SourceOptions.TextColumn", name, strings.Join(names, ", "))
	}
	col := idx[0]
	switch typ := sc.Field(col).Type; typ.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
	default:
		return fmt.Errorf("column %q is %s, not a string", name, typ)
	}
	for b := 0; ; b++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.where = fmt.Sprintf("record batch %d, column %q", b, name)
		rec, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if r := alloc.Refused(); r != nil {
				return tooLarge(r)
			}
			return fmt.Errorf("file is truncated or corrupt: %w", err)
		}
		err = addArrowColumn(t, rec.Column(col))
		rec.Release()
		if err != nil {
			return err
		}
	}
	t.where = ""
	return nil
}

// openArrowFile opens an Arrow IPC file for ipc.FileReader after checking what it will read
// unchecked: the footer's flatbuffer and, for each block it lists, the block's place in the
// file, its sizes and its message's flatbuffer.
func (s *Source) openArrowFile(ra *countingReaderAt, alloc *arrowalloc.Allocator) (*ipc.FileReader, error) {
	limit := s.opts.MaxRowGroupBytes
	var tail [10]byte
	if ra.size < 18 {
		return nil, fmt.Errorf("%d bytes: too short to be an Arrow IPC file", ra.size)
	}
	if _, err := ra.ReadAt(tail[:], ra.size-10); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if string(tail[4:]) != "ARROW1" || n > ra.size-18 {
		return nil, errors.New("file is truncated or corrupt (it does not end with an Arrow IPC footer)")
	}
	if n > limit {
		return nil, fmt.Errorf("the footer declares %d bytes, more than SourceOptions.MaxRowGroupBytes %d", n, limit)
	}
	end := ra.size - 10 - n // the messages end where the footer starts
	footer := make([]byte, n)
	if _, err := ra.ReadAt(footer, end); err != nil {
		return nil, err
	}
	dicts, batches, err := verifyFooter(footer)
	if err != nil {
		return nil, fmt.Errorf("the footer is corrupt: %w", err)
	}
	for i, b := range append(dicts, batches...) {
		kind, k := "record batch", i-len(dicts)
		if i < len(dicts) {
			kind, k = "dictionary", i
		}
		if b.offset < 8 || b.meta < 8 || b.body < 0 || int64(b.meta) > end-b.offset || b.body > end-b.offset-int64(b.meta) {
			return nil, fmt.Errorf("the footer places %s %d at offset %d (%d + %d bytes), outside the file's %d bytes of messages: file is corrupt", kind, k, b.offset, b.meta, b.body, end)
		}
		if int64(b.meta) > limit || b.body > limit {
			return nil, fmt.Errorf("%s %d declares %d + %d bytes, more than SourceOptions.MaxRowGroupBytes %d", kind, k, b.meta, b.body, limit)
		}
		meta := make([]byte, b.meta)
		if _, err := ra.ReadAt(meta, b.offset); err != nil {
			return nil, err
		}
		prefix := 4
		if binary.LittleEndian.Uint32(meta) == 0xffffffff {
			prefix = 8
		}
		if err := verifyMessage(meta[prefix:]); err != nil {
			return nil, fmt.Errorf("%s %d: %w", kind, k, err)
		}
	}
	fr, err := ipc.NewFileReader(ra, ipc.WithAllocator(alloc))
	if err != nil {
		return nil, fmt.Errorf("not a readable Arrow IPC file: %w", err)
	}
	return fr, nil
}

// addArrowColumn hands each row of a string column to t.
func addArrowColumn(t *tableSink, a arrow.Array) error {
	var value func(i int) string
	switch c := a.(type) {
	case *array.String:
		value = c.Value
	case *array.LargeString:
		value = c.Value
	case *array.StringView:
		value = c.Value
	default:
		return fmt.Errorf("column is %s, not a string", a.DataType())
	}
	for i := 0; i < a.Len(); i++ {
		var err error
		if a.IsNull(i) {
			err = t.add("", true)
		} else {
			err = t.add(value(i), false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// streamMessages reads the messages of an Arrow IPC stream as ipc's own reader does, but
// checks each message's declared metadata and body lengths against what is left of the file
// and the limit before allocating them.
type streamMessages struct {
	r     *bufio.Reader
	left  int64 // bytes of the file not yet read
	limit int64
	mem   memory.Allocator
	msg   *ipc.Message
	refs  int64
	eos   bool // the end-of-stream marker was read
}

// Message implements ipc.MessageReader: it returns the next message, valid until the next
// call.
func (m *streamMessages) Message() (*ipc.Message, error) {
	if m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
	var b [4]byte
	read := func(p []byte) error {
		n, err := io.ReadFull(m.r, p)
		m.left -= int64(n)
		return err
	}
	if err := read(b[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF // no end-of-stream marker: readArrow says so
		}
		return nil, fmt.Errorf("reading a message length: %w", err)
	}
	n := int64(int32(binary.LittleEndian.Uint32(b[:])))
	if uint32(n) == 0xffffffff { // continuation marker, then the length
		if err := read(b[:]); err != nil {
			return nil, fmt.Errorf("reading a message length: %w", err)
		}
		n = int64(int32(binary.LittleEndian.Uint32(b[:])))
	}
	if n == 0 {
		m.eos = true
		return nil, io.EOF
	}
	if n < 0 || n > m.left || n > m.limit {
		return nil, fmt.Errorf("a message declares %d bytes of metadata, with %d bytes left in the file (and SourceOptions.MaxRowGroupBytes %d): file is truncated or corrupt", n, m.left, m.limit)
	}
	meta := make([]byte, n)
	if err := read(meta); err != nil {
		return nil, fmt.Errorf("reading message metadata: %w", err)
	}
	if err := verifyMessage(meta); err != nil {
		return nil, err
	}
	body := flatbufferBodyLength(meta)
	if body < 0 || body > m.left {
		return nil, fmt.Errorf("a message declares a %d-byte body, with %d bytes left in the file: file is truncated or corrupt", body, m.left)
	}
	buf := memory.NewResizableBuffer(m.mem) // the allocator bounds it by the limit
	buf.Resize(int(body))
	if err := read(buf.Bytes()); err != nil {
		buf.Release()
		return nil, fmt.Errorf("reading a message body: %w", err)
	}
	metaBuf := memory.NewBufferBytes(meta)
	m.msg = ipc.NewMessage(metaBuf, buf)
	metaBuf.Release()
	buf.Release()
	return m.msg, nil
}

// Retain implements ipc.MessageReader.
func (m *streamMessages) Retain() { m.refs++ }

// Release implements ipc.MessageReader.
func (m *streamMessages) Release() {
	if m.refs--; m.refs == 0 && m.msg != nil {
		m.msg.Release()
		m.msg = nil
	}
}

// flatbufferBodyLength reads the bodyLength field (field 3, a long) of an Arrow IPC Message
// flatbuffer. A malformed flatbuffer may panic, as in the Arrow library; readTableFile
// recovers.
func flatbufferBodyLength(meta []byte) int64 {
	msg, err := arrowfb.Root(meta)
	if err != nil {
		return -1
	}
	n, err := msg.Int64(3, 0) // Message.bodyLength
	if err != nil {
		return -1
	}
	return n
}
