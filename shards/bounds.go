package shards

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/kiln-bert/kiln/internal/arrowfb"
)

// A shard is checked before the Arrow library reads it (see Open): every length it declares
// (footer, record batch blocks, message metadata and bodies, row and value counts, buffer
// offsets and lengths, the uncompressed size of each compressed buffer and the window of each
// zstd frame) is compared with what the file's size and the shard's own settings allow
// (rows_per_batch, max_seq_len, max_predictions), so that nothing is allocated on a corrupt
// or hostile file's word. What Arrow then allocates goes through an arrowalloc.NewGranted
// allocator that refuses anything past the batch's checked budget.

// Limits on what a shard may declare, beyond those that follow from its settings.
const (
	// MaxBatchTokens bounds rows_per_batch × max_seq_len, the tokens one record batch may
	// hold (268M: 1 GiB of uint32 ids; kiln prep's defaults, 32768 × 512, use 16M).
	MaxBatchTokens = 1 << 28
	// maxMessageMeta bounds one IPC message's metadata (a kiln record batch's is under 1 KB;
	// a schema's holds the run's config, a few KB).
	maxMessageMeta = 16 << 20
	// minZstdWindow is the largest zstd window allowed whatever a buffer's size: encoders
	// declare their default window (klauspost's: 8 MiB) even for small buffers.
	minZstdWindow = 8 << 20
	// allocSlack covers Arrow's rounding of buffer sizes.
	allocSlack = 128
)

// batchBounds is what the checks learned of one record batch: its rows and what reading it
// may allocate.
type batchBounds struct {
	rows   int64
	budget int64 // all allocations while the batch is read
	maxBuf int64 // the largest single allocation
}

// colSpec describes one column of a kiln shard for the checks.
type colSpec struct {
	name      string
	list      bool
	width     int64 // bytes per value
	maxPerRow int64 // values per row (lists)
}

func colSpecs(in Info) []colSpec {
	idw := int64(2)
	if in.wide() {
		idw = 4
	}
	seq := int64(in.MaxSeqLen)
	cols := []colSpec{
		{ColInputIDs, true, idw, seq},
		{ColTokenTypeIDs, true, 1, seq},
		{ColNextSentenceLabel, false, 1, 1},
	}
	if in.Static {
		preds := seq
		if in.MaxPredictions > 0 && int64(in.MaxPredictions) < preds {
			preds = int64(in.MaxPredictions)
		}
		cols = append(cols, colSpec{ColMaskedPositions, true, 2, preds}, colSpec{ColMaskedIDs, true, idw, preds})
	}
	return cols
}

// padded rounds n up to Arrow's 64-byte buffer alignment and adds slack.
func padded(n int64) int64 { return (n+63)&^63 + allocSlack }

// ipcSource is what the checks read from: the shard file and its size.
type ipcSource struct {
	r    io.ReaderAt
	size int64
}

func (s ipcSource) read(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || n > s.size-off {
		return nil, fmt.Errorf("%d bytes at offset %d run past the end of the %d-byte file", n, off, s.size)
	}
	b := make([]byte, n)
	if _, err := s.r.ReadAt(b, off); err != nil {
		return nil, fmt.Errorf("reading %d bytes at offset %d: %v", n, off, err)
	}
	return b, nil
}

// checkRecordBatch checks the record batch message whose metadata flatbuffer is meta and whose
// body is bodyLen bytes at bodyStart (bodyLen -1: take it from the message), against the
// shard's settings. It reads the 8-byte size prefix of each compressed buffer and walks its
// zstd frame headers, and returns the batch's rows and allocation budget.
func checkRecordBatch(src ipcSource, meta []byte, bodyStart, bodyLen int64, in Info) (batchBounds, error) {
	var bb batchBounds
	msg, err := arrowfb.Root(meta)
	if err != nil {
		return bb, fmt.Errorf("message metadata: %w", err)
	}
	typ, err := msg.Uint8(1, 0)
	if err != nil {
		return bb, fmt.Errorf("message metadata: %w", err)
	}
	if typ != 3 {
		return bb, fmt.Errorf("message of type %d where a record batch (3) belongs (kiln shards hold no dictionaries)", typ)
	}
	declared, err := msg.Int64(3, 0)
	if err != nil {
		return bb, fmt.Errorf("message metadata: %w", err)
	}
	if bodyLen >= 0 && declared != bodyLen {
		return bb, fmt.Errorf("message body of %d bytes, but its block says %d", declared, bodyLen)
	}
	bodyLen = declared
	if bodyLen < 0 || bodyStart > src.size || bodyLen > src.size-bodyStart {
		return bb, fmt.Errorf("message body of %d bytes at offset %d runs past the end of the %d-byte file", bodyLen, bodyStart, src.size)
	}
	rb, ok, err := msg.Table(2)
	if err != nil || !ok {
		return bb, fmt.Errorf("record batch header missing or corrupt (%v)", err)
	}
	rows, err := rb.Int64(0, 0)
	if err != nil {
		return bb, fmt.Errorf("record batch header: %w", err)
	}
	if rows < 0 || rows > int64(in.RowsPerBatch) {
		return bb, fmt.Errorf("record batch of %d rows: rows_per_batch is %d", rows, in.RowsPerBatch)
	}
	nodes, nn, err := rb.Vector(1, 16)
	if err != nil {
		return bb, fmt.Errorf("record batch nodes: %w", err)
	}
	bufs, nb, err := rb.Vector(2, 16)
	if err != nil {
		return bb, fmt.Errorf("record batch buffers: %w", err)
	}
	codec := -1
	if c, ok, err := rb.Table(3); err != nil {
		return bb, fmt.Errorf("record batch compression: %w", err)
	} else if ok {
		cd, err1 := c.Uint8(0, 0)
		method, err2 := c.Uint8(1, 0)
		if err := errors.Join(err1, err2); err != nil {
			return bb, fmt.Errorf("record batch compression: %w", err)
		}
		if cd > 1 || method != 0 {
			return bb, fmt.Errorf("record batch compression codec %d method %d: want lz4 (0) or zstd (1) per buffer", cd, method)
		}
		codec = int(cd)
	}
	cols := colSpecs(in)
	wantNodes, wantBufs := 0, 0
	for _, c := range cols {
		if c.list {
			wantNodes, wantBufs = wantNodes+2, wantBufs+4
		} else {
			wantNodes, wantBufs = wantNodes+1, wantBufs+2
		}
	}
	if nn != wantNodes || nb != wantBufs {
		return bb, fmt.Errorf("record batch has %d field nodes and %d buffers, the schema needs %d and %d", nn, nb, wantNodes, wantBufs)
	}
	bb = batchBounds{rows: rows, budget: padded(int64(len(meta))) + padded(bodyLen), maxBuf: max(padded(int64(len(meta))), padded(bodyLen))}
	ni, bi := 0, 0
	node := func() (int64, int64) {
		l, nc := arrowfb.LE64(nodes, 16*ni), arrowfb.LE64(nodes, 16*ni+8)
		ni++
		return l, nc
	}
	// buffer checks buffer bi, which must decode to at most limit bytes.
	buffer := func(col string, limit int64, read bool) error {
		off, n := arrowfb.LE64(bufs, 16*bi), arrowfb.LE64(bufs, 16*bi+8)
		bi++
		if off < 0 || n < 0 || off > bodyLen || n > bodyLen-off {
			return fmt.Errorf("column %s: buffer %d of %d bytes at body offset %d runs past the %d-byte body", col, bi-1, n, off, bodyLen)
		}
		if n == 0 || !read {
			return nil
		}
		size := n
		if codec >= 0 {
			if n < 8 {
				return fmt.Errorf("column %s: compressed buffer %d of %d bytes has no size prefix", col, bi-1, n)
			}
			p, err := src.read(bodyStart+off, 8)
			if err != nil {
				return fmt.Errorf("column %s: buffer %d: %v", col, bi-1, err)
			}
			size = int64(binary.LittleEndian.Uint64(p))
			if size == -1 {
				size = n - 8
			} else if size < 0 || size > limit {
				return fmt.Errorf("column %s: buffer %d declares %d bytes uncompressed, more than the %d its %d rows allow (max_seq_len %d)", col, bi-1, uint64(size), limit, rows, in.MaxSeqLen)
			} else if codec == 1 {
				if err := checkZstdFrames(src.r, bodyStart+off+8, n-8, max(size, minZstdWindow)); err != nil {
					return fmt.Errorf("column %s: buffer %d: %w", col, bi-1, err)
				}
			}
		}
		if size > limit {
			return fmt.Errorf("column %s: buffer %d holds %d bytes, more than the %d its %d rows allow (max_seq_len %d)", col, bi-1, size, limit, rows, in.MaxSeqLen)
		}
		bb.budget += padded(size)
		bb.maxBuf = max(bb.maxBuf, padded(size))
		return nil
	}
	for _, c := range cols {
		l, nulls := node()
		if l != rows || nulls != 0 {
			return bb, fmt.Errorf("column %s: %d values and %d nulls in a batch of %d rows (want %d and 0)", c.name, l, nulls, rows, rows)
		}
		if !c.list {
			if err := buffer(c.name, padded(0), false); err != nil { // validity, unused
				return bb, err
			}
			if err := buffer(c.name, padded(rows*c.width), true); err != nil {
				return bb, err
			}
			continue
		}
		vl, vnulls := node()
		if vl < 0 || vl > rows*c.maxPerRow || vnulls != 0 {
			return bb, fmt.Errorf("column %s: %d values (%d nulls) in %d rows: at most %d a row", c.name, vl, vnulls, rows, c.maxPerRow)
		}
		for _, b := range []struct {
			limit int64
			read  bool
		}{{padded(0), false}, {padded(4 * (rows + 1)), true}, {padded(0), false}, {padded(vl * c.width), true}} {
			if err := buffer(c.name, b.limit, b.read); err != nil {
				return bb, err
			}
		}
	}
	return bb, nil
}

// checkZstdFrames walks the zstd frames of the n bytes at off without decompressing them:
// each must be a zstd (or skippable) frame with a window of at most maxWindow bytes, no
// dictionary, and well-formed block headers, ending where the bytes end.
func checkZstdFrames(r io.ReaderAt, off, n, maxWindow int64) error {
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, n), 64<<10)
	var pos int64
	u := func(k int) (uint64, error) {
		var b [8]byte
		if _, err := io.ReadFull(br, b[:k]); err != nil {
			return 0, fmt.Errorf("zstd data ends inside a header at byte %d of %d", pos, n)
		}
		pos += int64(k)
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	skip := func(k int64) error {
		if k > n-pos {
			return fmt.Errorf("zstd block of %d bytes at byte %d runs past the %d-byte buffer", k, pos, n)
		}
		if _, err := br.Discard(int(k)); err != nil {
			return fmt.Errorf("zstd data: %v", err)
		}
		pos += k
		return nil
	}
	for pos < n {
		magic, err := u(4)
		if err != nil {
			return err
		}
		if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
			sz, err := u(4)
			if err != nil {
				return err
			}
			if err := skip(int64(sz)); err != nil {
				return err
			}
			continue
		}
		if magic != 0xFD2FB528 {
			return fmt.Errorf("zstd data: bad frame magic %#x at byte %d", magic, pos-4)
		}
		fhd, err := u(1)
		if err != nil {
			return err
		}
		single := fhd>>5&1 == 1
		if fhd>>3&1 != 0 || fhd&3 != 0 {
			return fmt.Errorf("zstd frame header %#x: reserved bit or dictionary set", fhd)
		}
		var window uint64
		if !single {
			wd, err := u(1)
			if err != nil {
				return err
			}
			base := uint64(1) << (10 + wd>>3)
			window = base + base/8*(wd&7)
		}
		fcsSize := [4]int{0, 2, 4, 8}[fhd>>6]
		if fhd>>6 == 0 && single {
			fcsSize = 1
		}
		if fcsSize > 0 {
			fcs, err := u(fcsSize)
			if err != nil {
				return err
			}
			if fcsSize == 2 {
				fcs += 256
			}
			if single {
				window = fcs
			}
		}
		if window > uint64(maxWindow) {
			return fmt.Errorf("zstd frame window of %d bytes, more than the %d this buffer may use (a zstd bomb?)", window, maxWindow)
		}
		for {
			h, err := u(3)
			if err != nil {
				return err
			}
			size := int64(h >> 3)
			switch h >> 1 & 3 {
			case 0, 2: // raw, compressed
				if size > 128<<10 {
					return fmt.Errorf("zstd block of %d bytes: at most 128 KiB", size)
				}
				err = skip(size)
			case 1: // RLE: one byte
				err = skip(1)
			default:
				err = fmt.Errorf("zstd block of reserved type at byte %d", pos-3)
			}
			if err != nil {
				return err
			}
			if h&1 == 1 {
				break
			}
		}
		if fhd>>2&1 == 1 {
			if err := skip(4); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFooter reads and checks the footer of a file-format shard (its length against the
// file, its schema with checkSchemaFB, no dictionaries), before Arrow parses it, and returns
// the footer table and where it starts.
func checkFooter(src ipcSource) (arrowfb.Table, int64, error) {
	tail, err := src.read(src.size-10, 10)
	if err != nil {
		return arrowfb.Table{}, 0, fmt.Errorf("footer: %v", err)
	}
	if !bytes.Equal(tail[4:], arrowMagic) {
		return arrowfb.Table{}, 0, errors.New("the file does not end with the Arrow magic (truncated?)")
	}
	flen := int64(int32(binary.LittleEndian.Uint32(tail)))
	fstart := src.size - 10 - flen
	if flen <= 0 || fstart < 8 {
		return arrowfb.Table{}, 0, fmt.Errorf("footer of %d bytes does not fit the %d-byte file", flen, src.size)
	}
	fb, err := src.read(fstart, flen)
	if err != nil {
		return arrowfb.Table{}, 0, fmt.Errorf("footer: %v", err)
	}
	footer, err := arrowfb.Root(fb)
	if err != nil {
		return arrowfb.Table{}, 0, fmt.Errorf("footer: %w", err)
	}
	if _, nd, err := footer.Vector(2, 24); err != nil || nd != 0 {
		return arrowfb.Table{}, 0, fmt.Errorf("footer lists %d dictionaries (kiln shards have none) (%v)", nd, err)
	}
	s, ok, err := footer.Table(1)
	if err != nil || !ok {
		return arrowfb.Table{}, 0, fmt.Errorf("footer has no schema (%v)", err)
	}
	if err := checkSchemaFB(s); err != nil {
		return arrowfb.Table{}, 0, fmt.Errorf("footer: %w", err)
	}
	return footer, fstart, nil
}

// checkFileLayout checks every record batch the footer of a file-format shard lists (see
// checkRecordBatch), and returns the batches' bounds. Every batch but the last must hold
// rows_per_batch rows, as the writer makes them (row indexing depends on it).
func checkFileLayout(src ipcSource, in Info) ([]batchBounds, error) {
	footer, fstart, err := checkFooter(src)
	if err != nil {
		return nil, err
	}
	blocks, nb, err := footer.Vector(3, 24)
	if err != nil {
		return nil, fmt.Errorf("footer record batches: %w", err)
	}
	out := make([]batchBounds, 0, min(nb, 1<<16))
	for i := 0; i < nb; i++ {
		off, meta, body := arrowfb.LE64(blocks, 24*i), int64(int32(binary.LittleEndian.Uint32(blocks[24*i+8:]))), arrowfb.LE64(blocks, 24*i+16)
		switch {
		case off < 8 || off%8 != 0 || meta < 8 || meta%8 != 0 || meta > maxMessageMeta || body < 0 || body%8 != 0:
			return nil, fmt.Errorf("footer block %d: offset %d, metadata %d bytes, body %d bytes: invalid", i, off, meta, body)
		case off > fstart || meta > fstart-off || body > fstart-off-meta:
			return nil, fmt.Errorf("footer block %d: %d bytes of metadata and %d of body at offset %d run past the data's end at %d", i, meta, body, off, fstart)
		}
		m, err := src.read(off, meta)
		if err != nil {
			return nil, fmt.Errorf("record batch %d: %v", i, err)
		}
		fbm, err := messageFlatbuffer(m)
		if err != nil {
			return nil, fmt.Errorf("record batch %d at offset %d: %w", i, off, err)
		}
		bb, err := checkRecordBatch(src, fbm, off+meta, body, in)
		if err != nil {
			return nil, fmt.Errorf("record batch %d at offset %d: %w", i, off, err)
		}
		if i < nb-1 && bb.rows != int64(in.RowsPerBatch) {
			return nil, fmt.Errorf("record batch %d of %d holds %d rows: every batch but the last holds rows_per_batch (%d)", i, nb, bb.rows, in.RowsPerBatch)
		}
		bb.budget += padded(meta) // Arrow reads the metadata again, prefix included
		out = append(out, bb)
	}
	return out, nil
}

// messageFlatbuffer strips the continuation marker and length from an encapsulated message's
// metadata block.
func messageFlatbuffer(m []byte) ([]byte, error) {
	if len(m) < 8 || binary.LittleEndian.Uint32(m) != 0xFFFFFFFF {
		return nil, errors.New("message metadata lacks the IPC continuation marker")
	}
	n := int64(int32(binary.LittleEndian.Uint32(m[4:])))
	if n <= 0 || n > int64(len(m)-8) {
		return nil, fmt.Errorf("message metadata of %d bytes in a %d-byte block", n, len(m))
	}
	return m[8 : 8+n], nil
}

// streamMessage is one message of a stream-format shard, as its framing says.
type streamMessage struct {
	typ       uint8
	meta      []byte // the flatbuffer
	bodyStart int64
	bodyLen   int64
}

// walkStream reads the framing of a stream-format shard: each message's length and body
// length against the file's size, up to the end-of-stream marker, which must end the file.
func walkStream(src ipcSource) ([]streamMessage, error) {
	var msgs []streamMessage
	pos := int64(0)
	for {
		if pos == src.size {
			return nil, fmt.Errorf("stream ends at byte %d without its end-of-stream marker (truncated?)", pos)
		}
		h, err := src.read(pos, 8)
		if err != nil {
			return nil, fmt.Errorf("message at byte %d: %v", pos, err)
		}
		if binary.LittleEndian.Uint32(h) != 0xFFFFFFFF {
			return nil, fmt.Errorf("message at byte %d lacks the IPC continuation marker", pos)
		}
		n := int64(int32(binary.LittleEndian.Uint32(h[4:])))
		if n == 0 {
			if pos+8 != src.size {
				return nil, fmt.Errorf("%d bytes after the end-of-stream marker at byte %d", src.size-pos-8, pos)
			}
			return msgs, nil
		}
		if n < 0 || n > maxMessageMeta {
			return nil, fmt.Errorf("message at byte %d declares %d bytes of metadata (at most %d)", pos, n, maxMessageMeta)
		}
		fb, err := src.read(pos+8, n)
		if err != nil {
			return nil, fmt.Errorf("message at byte %d: %v", pos, err)
		}
		msg, err := arrowfb.Root(fb)
		if err != nil {
			return nil, fmt.Errorf("message at byte %d: %w", pos, err)
		}
		typ, err1 := msg.Uint8(1, 0)
		body, err2 := msg.Int64(3, 0)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("message at byte %d: %w", pos, err)
		}
		start := pos + 8 + n
		if body < 0 || body > src.size-start {
			return nil, fmt.Errorf("message at byte %d declares a %d-byte body, past the end of the %d-byte file", pos, body, src.size)
		}
		if len(msgs) == 0 {
			if typ != 1 {
				return nil, fmt.Errorf("stream starts with a message of type %d, not a schema", typ)
			}
			s, ok, err := msg.Table(2)
			if err != nil || !ok {
				return nil, fmt.Errorf("schema message without a schema (%v)", err)
			}
			if err := checkSchemaFB(s); err != nil {
				return nil, err
			}
		}
		if len(msgs) > 0 && typ != 3 {
			return nil, fmt.Errorf("message at byte %d of type %d: after the schema, a kiln stream holds only record batches", pos, typ)
		}
		msgs = append(msgs, streamMessage{typ: typ, meta: fb, bodyStart: start, bodyLen: body})
		pos = start + body
	}
}
