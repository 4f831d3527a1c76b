package shards

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	flatbuffers "github.com/google/flatbuffers/go"
	"github.com/klauspost/compress/zstd"
)

// This file writes the shards' Arrow IPC files and streams itself, with one
// zstd encoder per Writer reused for every buffer of every record batch:
// Arrow v15's ipc writers build a new encoder (and its 16 MiB history) for
// each record batch and keep the encoder internal. The bytes are those
// arrow's ipc.FileWriter and ipc.Writer write for the same records with
// ipc.WithZstd() (or no compression): the flatbuffers are built by the same
// calls in the same order (the slot numbers are those of Arrow's
// Schema.fbs, Message.fbs and File.fbs), and the zstd frames come from an
// encoder with the same options (klauspost/compress's defaults, streamed with
// Write and Close; one goroutine, which changes no byte), and an encoder
// compresses a buffer the same way whether it is new or Reset.
// ipc_identical_test.go checks this byte for byte.

// Arrow IPC constants (format/Message.fbs, Schema.fbs, File.fbs).
const (
	ipcMetadataV5        = 4          // MetadataVersion.V5
	ipcHeaderSchema      = 1          // MessageHeader.Schema
	ipcHeaderRecordBatch = 3          // MessageHeader.RecordBatch
	ipcTypeInt           = 2          // Type.Int
	ipcTypeList          = 12         // Type.List
	ipcCodecZstd         = 1          // CompressionType.ZSTD
	ipcContinuation      = 0xFFFFFFFF // continuation marker before each message
)

var ipcMagic = [8]byte{'A', 'R', 'R', 'O', 'W', '1'} // 6 bytes of magic, padded to 8 at the start

// recordWriter writes the record batches of one shard and completes it on
// Close: ipcShard, or arrowShard (arrow's own writers) for lz4.
type recordWriter interface {
	writeBatch(b *batch) error
	Close() error
}

// arrowShard writes a shard with one of arrow's ipc writers, each batch as a record reading
// the batch's buffers (batch.record), or as record makes it.
type arrowShard struct {
	w interface {
		Write(rec arrow.Record) error
		Close() error
	}
	schema *arrow.Schema
	record func(*batch) arrow.Record // nil: batch.record
}

func (a *arrowShard) writeBatch(b *batch) error {
	var rec arrow.Record
	if a.record != nil {
		rec = a.record(b)
	} else {
		rec = b.record(a.schema)
	}
	defer rec.Release()
	return a.w.Write(rec)
}

func (a *arrowShard) Close() error { return a.w.Close() }

// ipcEncoder holds what the shards of one Writer share: the zstd encoder
// (nil without compression), a flatbuffers builder and scratch buffers, all
// reused. It is not safe for concurrent use, nor is the Writer.
type ipcEncoder struct {
	schema *arrow.Schema
	zstd   *zstd.Encoder
	b      *flatbuffers.Builder

	nodes []ipcNode   // field nodes of the batch being encoded
	bufs  [][]byte    // its body buffers, uncompressed (nil: absent)
	meta  []ipcBuffer // their offsets and lengths in the body
	body  []byte      // the body as written: compressed, padded to 8 bytes
}

type ipcNode struct{ length, nulls int64 }

type ipcBuffer struct{ offset, length int64 }

// ipcBlock is a record batch's place in a file, for the footer.
type ipcBlock struct {
	offset int64
	meta   int32
	body   int64
}

func newIPCEncoder(schema *arrow.Schema, compress bool) (*ipcEncoder, error) {
	e := &ipcEncoder{schema: schema, b: flatbuffers.NewBuilder(1024)}
	if compress {
		// The options arrow/ipc uses (zstd.NewWriter(nil)): the defaults, but for
		// concurrency and memory, neither of which changes the output
		// (TestIPCWriterIdenticalToArrow compares with arrow's at GOMAXPROCS). One
		// goroutine spares a goroutine and two block buffers per encoder; the lower
		// memory keeps a history of the window plus a block (8.1 MiB, moving the window
		// down when a buffer outgrows it) instead of twice the window, and grows its
		// block buffers from 1 KiB instead of allocating 128 KiB each.
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
		e.zstd = enc
	}
	return e, nil
}

// ipcShard writes one shard through w: an Arrow IPC file (file true) or
// stream.
type ipcShard struct {
	e      *ipcEncoder
	w      io.Writer
	file   bool
	pos    int64
	blocks []ipcBlock
	begun  bool
}

func (e *ipcEncoder) newShard(w io.Writer, file bool) *ipcShard {
	return &ipcShard{e: e, w: w, file: file}
}

func (s *ipcShard) write(p []byte) error {
	n, err := s.w.Write(p)
	s.pos += int64(n)
	return err
}

// begin writes the file magic (file format) and the schema message.
func (s *ipcShard) begin() error {
	s.begun = true
	if s.file {
		if err := s.write(ipcMagic[:]); err != nil {
			return err
		}
	}
	b := s.e.b
	b.Reset()
	sch := s.e.schemaFB(b)
	_, err := s.writeMessage(ipcHeaderSchema, sch, 0)
	return err
}

// writeBatch writes b as one record batch message.
func (s *ipcShard) writeBatch(bt *batch) error {
	if !s.begun {
		if err := s.begin(); err != nil {
			return err
		}
	}
	e := s.e
	e.nodes, e.bufs = bt.layout(e.nodes[:0], e.bufs[:0])
	if err := e.encodeBody(); err != nil {
		return err
	}
	b := e.b
	b.Reset()
	hdr := e.recordBatchFB(b, int64(bt.rows()))
	blk := ipcBlock{offset: s.pos, body: int64(len(e.body))}
	n, err := s.writeMessage(ipcHeaderRecordBatch, hdr, int64(len(e.body)))
	if err != nil {
		return err
	}
	if err := s.write(e.body); err != nil {
		return err
	}
	blk.meta = int32(n)
	s.blocks = append(s.blocks, blk)
	return nil
}

// Close writes the footer (file format) or the end-of-stream marker.
func (s *ipcShard) Close() error {
	if !s.begun {
		if err := s.begin(); err != nil {
			return err
		}
	}
	if !s.file {
		var eos [8]byte
		binary.LittleEndian.PutUint32(eos[:], ipcContinuation)
		return s.write(eos[:])
	}
	b := s.e.b
	b.Reset()
	sch := s.e.schemaFB(b)
	b.StartVector(24, 0, 8) // dictionaries: none
	dicts := b.EndVector(0)
	b.StartVector(24, len(s.blocks), 8)
	for i := len(s.blocks) - 1; i >= 0; i-- {
		blk := s.blocks[i]
		b.Prep(8, 24)
		b.PrependInt64(blk.body)
		b.Pad(4)
		b.PrependInt32(blk.meta)
		b.PrependInt64(blk.offset)
	}
	recs := b.EndVector(len(s.blocks))
	b.StartObject(5) // Footer
	b.PrependInt16Slot(0, ipcMetadataV5, 0)
	b.PrependUOffsetTSlot(1, sch, 0)
	b.PrependUOffsetTSlot(2, dicts, 0)
	b.PrependUOffsetTSlot(3, recs, 0)
	b.Finish(b.EndObject())
	footer := b.FinishedBytes()
	if err := s.write(footer); err != nil {
		return err
	}
	var tail [10]byte
	binary.LittleEndian.PutUint32(tail[:], uint32(len(footer)))
	copy(tail[4:], ipcMagic[:6])
	return s.write(tail[:])
}

// writeMessage finishes a Message table around hdr in s.e.b and writes it
// framed: continuation marker, length, flatbuffer, padding to 8 bytes. It
// returns the bytes written.
func (s *ipcShard) writeMessage(hdrType byte, hdr flatbuffers.UOffsetT, bodyLen int64) (int, error) {
	b := s.e.b
	b.StartObject(5) // Message
	b.PrependInt16Slot(0, ipcMetadataV5, 0)
	b.PrependByteSlot(1, hdrType, 0)
	b.PrependUOffsetTSlot(2, hdr, 0)
	b.PrependInt64Slot(3, bodyLen, 0)
	b.Finish(b.EndObject())
	fb := b.FinishedBytes()
	n := pad8(len(fb) + 8)
	var frame [8]byte
	binary.LittleEndian.PutUint32(frame[0:], ipcContinuation)
	binary.LittleEndian.PutUint32(frame[4:], uint32(n-8))
	if err := s.write(frame[:]); err != nil {
		return 0, err
	}
	if err := s.write(fb); err != nil {
		return 0, err
	}
	var zeros [8]byte
	if err := s.write(zeros[:n-8-len(fb)]); err != nil {
		return 0, err
	}
	return n, nil
}

func pad8(n int) int { return (n + 7) &^ 7 }

// schemaFB builds e.schema's Schema table in b (arrow/ipc's schemaToFB for
// the types shards use: integers and lists of integers, no dictionaries).
func (e *ipcEncoder) schemaFB(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	fields := make([]flatbuffers.UOffsetT, e.schema.NumFields())
	for i := range fields {
		fields[i] = fieldFB(b, e.schema.Field(i))
	}
	b.StartVector(4, len(fields), 4)
	for i := len(fields) - 1; i >= 0; i-- {
		b.PrependUOffsetT(fields[i])
	}
	fieldsFB := b.EndVector(len(fields))
	var metaFB flatbuffers.UOffsetT
	if md := e.schema.Metadata(); md.Len() > 0 {
		metaFB = keyValuesFB(b, md.Keys(), md.Values())
	}
	b.StartObject(4)            // Schema
	b.PrependInt16Slot(0, 0, 0) // Endianness.Little
	b.PrependUOffsetTSlot(1, fieldsFB, 0)
	b.PrependUOffsetTSlot(2, metaFB, 0)
	return b.EndObject()
}

func keyValuesFB(b *flatbuffers.Builder, keys, vals []string) flatbuffers.UOffsetT {
	kvs := make([]flatbuffers.UOffsetT, len(keys))
	for i := range kvs {
		k := b.CreateString(keys[i])
		v := b.CreateString(vals[i])
		b.StartObject(2) // KeyValue
		b.PrependUOffsetTSlot(0, k, 0)
		b.PrependUOffsetTSlot(1, v, 0)
		kvs[i] = b.EndObject()
	}
	b.StartVector(4, len(kvs), 4)
	for i := len(kvs) - 1; i >= 0; i-- {
		b.PrependUOffsetT(kvs[i])
	}
	return b.EndVector(len(kvs))
}

// fieldFB builds a Field table (arrow/ipc's fieldVisitor.result).
func fieldFB(b *flatbuffers.Builder, f arrow.Field) flatbuffers.UOffsetT {
	name := b.CreateString(f.Name)
	var (
		typeType byte
		typ      flatbuffers.UOffsetT
		kids     []flatbuffers.UOffsetT
	)
	switch dt := f.Type.(type) {
	case *arrow.ListType:
		typeType = ipcTypeList
		kids = append(kids, fieldFB(b, dt.ElemField()))
		b.StartObject(0) // List
		typ = b.EndObject()
	case arrow.FixedWidthDataType:
		typeType = ipcTypeInt
		signed := false
		switch dt.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64:
			signed = true
		}
		b.StartObject(2) // Int
		b.PrependInt32Slot(0, int32(dt.BitWidth()), 0)
		b.PrependBoolSlot(1, signed, false)
		typ = b.EndObject()
	}
	b.StartVector(4, len(kids), 4)
	for i := len(kids) - 1; i >= 0; i-- {
		b.PrependUOffsetT(kids[i])
	}
	kidsFB := b.EndVector(len(kids))
	var metaFB flatbuffers.UOffsetT
	if f.Metadata.Len() > 0 {
		metaFB = keyValuesFB(b, f.Metadata.Keys(), f.Metadata.Values())
	}
	b.StartObject(7) // Field
	b.PrependUOffsetTSlot(0, name, 0)
	b.PrependBoolSlot(1, f.Nullable, false)
	b.PrependByteSlot(2, typeType, 0)
	b.PrependUOffsetTSlot(3, typ, 0)
	b.PrependUOffsetTSlot(4, 0, 0) // dictionary: none
	b.PrependUOffsetTSlot(5, kidsFB, 0)
	b.PrependUOffsetTSlot(6, metaFB, 0)
	return b.EndObject()
}

// recordBatchFB builds the RecordBatch table of the batch just encoded.
func (e *ipcEncoder) recordBatchFB(b *flatbuffers.Builder, rows int64) flatbuffers.UOffsetT {
	b.StartVector(16, len(e.nodes), 8)
	for i := len(e.nodes) - 1; i >= 0; i-- {
		b.Prep(8, 16)
		b.PrependInt64(e.nodes[i].nulls)
		b.PrependInt64(e.nodes[i].length)
	}
	nodes := b.EndVector(len(e.nodes))
	b.StartVector(16, len(e.meta), 8)
	for i := len(e.meta) - 1; i >= 0; i-- {
		b.Prep(8, 16)
		b.PrependInt64(e.meta[i].length)
		b.PrependInt64(e.meta[i].offset)
	}
	buffers := b.EndVector(len(e.meta))
	var comp flatbuffers.UOffsetT
	if e.zstd != nil {
		b.StartObject(2) // BodyCompression
		b.PrependInt8Slot(0, ipcCodecZstd, 0)
		b.PrependInt8Slot(1, 0, 0) // BodyCompressionMethod.BUFFER
		comp = b.EndObject()
	}
	b.StartObject(5) // RecordBatch
	b.PrependInt64Slot(0, rows, 0)
	b.PrependUOffsetTSlot(1, nodes, 0)
	b.PrependUOffsetTSlot(2, buffers, 0)
	if e.zstd != nil {
		b.PrependUOffsetTSlot(3, comp, 0)
	}
	return b.EndObject()
}

// encodeBody lays e.bufs out in e.body: each buffer compressed (an int64
// uncompressed length, then a zstd frame) or as it is, padded to 8 bytes;
// e.meta gets their offsets and lengths.
func (e *ipcEncoder) encodeBody() error {
	e.body, e.meta = e.body[:0], e.meta[:0]
	bound := 0 // room for the whole body, so that it is not regrown while compressing
	for _, buf := range e.bufs {
		bound += pad8(8 + zstdBound(len(buf)))
	}
	e.body = slices.Grow(e.body, bound)
	for _, buf := range e.bufs {
		start := len(e.body)
		switch {
		case len(buf) == 0:
		case e.zstd == nil:
			e.body = append(e.body, buf...)
		default:
			e.body = binary.LittleEndian.AppendUint64(e.body, uint64(len(buf)))
			out := (*appendWriter)(&e.body)
			e.zstd.Reset(out)
			if _, err := e.zstd.Write(buf); err != nil {
				return fmt.Errorf("zstd: %w", err)
			}
			if err := e.zstd.Close(); err != nil {
				return fmt.Errorf("zstd: %w", err)
			}
		}
		size := len(e.body) - start
		e.meta = append(e.meta, ipcBuffer{offset: int64(start), length: int64(size)})
		for len(e.body)%8 != 0 {
			e.body = append(e.body, 0)
		}
	}
	return nil
}

// zstdBound is the most a zstd frame of n bytes can take (zstd.h's
// ZSTD_COMPRESSBOUND, as arrow/ipc reserves), plus a frame header and checksum.
func zstdBound(n int) int {
	extra := 0
	if n < 128<<10 {
		extra = (128<<10 - n) >> 11
	}
	return n + n>>8 + extra + 32
}

// appendWriter is an io.Writer appending to a byte slice.
type appendWriter []byte

func (w *appendWriter) Write(p []byte) (int, error) {
	*w = append(*w, p...)
	return len(p), nil
}
