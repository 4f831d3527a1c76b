package shards

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/zeebo/xxh3"
)

// batch holds the rows of one record batch in the very buffers the shard stores: the list
// offsets and the values of each column, in their stored types. A row is converted straight
// into them (encode) and written from them (ipcShard.writeBatch), with no Arrow builder
// between.
// The slices keep their storage from one batch to the next.
type batch struct {
	wide   bool // ids are uint32 (ids32, mid32), else uint16 (ids16, mid16)
	static bool // rows carry masked positions and ids

	tokOff  []int32 // offsets of input_ids and token_type_ids: rows+1, from 0
	maskOff []int32 // offsets of masked_lm_positions and masked_lm_ids (static)
	ids16   []uint16
	ids32   []uint32
	types   []uint8
	labels  []int8
	pos     []uint16
	mid16   []uint16
	mid32   []uint32
}

// batchMark is where a batch's values end: the start of the row being encoded.
type batchMark struct{ toks, masked int }

func newBatch(in Info) batch {
	return batch{wide: in.wide(), static: in.Static, tokOff: []int32{0}, maskOff: []int32{0}}
}

// rows returns the rows in the batch.
func (b *batch) rows() int { return len(b.labels) }

// mark returns the end of the batch's values, where the next row's go.
func (b *batch) mark() batchMark { return batchMark{len(b.types), len(b.pos)} }

// truncate drops the values stored after m (a row encoded but not added). Of the narrow and
// wide id slices, one is always empty.
func (b *batch) truncate(m batchMark) {
	b.ids16, b.ids32, b.types = cut(b.ids16, m.toks), cut(b.ids32, m.toks), b.types[:m.toks]
	b.pos, b.mid16, b.mid32 = b.pos[:m.masked], cut(b.mid16, m.masked), cut(b.mid32, m.masked)
}

func cut[T any](s []T, n int) []T { return s[:min(len(s), n)] }

// add completes the row last encoded: its offsets and label.
func (b *batch) add(label int8) {
	b.tokOff = append(grow(b.tokOff, 1), int32(len(b.types)))
	b.labels = append(grow(b.labels, 1), label)
	if b.static {
		b.maskOff = append(grow(b.maskOff, 1), int32(len(b.pos)))
	}
}

// reset empties the batch, keeping its storage.
func (b *batch) reset() {
	b.truncate(batchMark{})
	b.tokOff, b.maskOff, b.labels = b.tokOff[:1], b.maskOff[:1], b.labels[:0]
}

// encode checks r against the options (w.limits has checked its lengths; each element is
// checked as it is converted) and converts it onto the end of b's values, in one pass over
// each column. On error the values are left as they were.
func (w *Writer) encode(b *batch, r *Row) error {
	m := b.mark()
	if err := w.encodeValues(b, r); err != nil {
		b.truncate(m)
		return err
	}
	return nil
}

func (w *Writer) encodeValues(b *batch, r *Row) error {
	if bad := w.convertIDs(&b.ids16, &b.ids32, r.InputIDs); bad >= 0 {
		return fmt.Errorf("input id %d outside vocabulary of %d", r.InputIDs[bad], w.o.VocabSize)
	}
	b.types = grow(b.types, len(r.TokenTypeIDs))
	for _, t := range r.TokenTypeIDs {
		if t < 0 {
			return fmt.Errorf("negative token type %d", t)
		}
		b.types = append(b.types, uint8(t))
	}
	// MaxSeqLen <= 65,536, so a position within the row fits 16 bits.
	var bad int
	if b.pos, bad = convert(b.pos, r.MaskedPositions, len(r.InputIDs)); bad >= 0 {
		return fmt.Errorf("masked position %d outside row of %d tokens", r.MaskedPositions[bad], len(r.InputIDs))
	}
	if bad = w.convertIDs(&b.mid16, &b.mid32, r.MaskedIDs); bad >= 0 {
		return fmt.Errorf("masked id %d outside vocabulary of %d", r.MaskedIDs[bad], w.o.VocabSize)
	}
	return nil
}

// convertIDs appends token ids to narrow (uint16), or to wide (uint32) for a vocabulary over
// 65,536, and returns the index of the first id outside the vocabulary, or -1.
func (w *Writer) convertIDs(narrow *[]uint16, wide *[]uint32, ids []int32) (bad int) {
	if w.info.wide() {
		*wide, bad = convert(*wide, ids, w.o.VocabSize)
	} else {
		*narrow, bad = convert(*narrow, ids, w.o.VocabSize)
	}
	return bad
}

// convert appends vs to buf as T, checking that each is in [0, limit); it returns the index
// of the first that is not (and buf as it was), or -1.
func convert[T uint16 | uint32](buf []T, vs []int32, limit int) ([]T, int) {
	n := len(buf)
	buf = grow(buf, len(vs))[:n+len(vs)]
	dst := buf[n:]
	for i, v := range vs {
		if uint32(v) >= uint32(limit) { // also catches v < 0
			return buf[:n], i
		}
		dst[i] = T(v)
	}
	return buf, -1
}

// grow makes room for n more elements in s, at least doubling its capacity when it must
// regrow (append grows large slices by a quarter, which copies a first batch's values
// several times over); a batch's storage is then kept for the next.
func grow[T any](s []T, n int) []T {
	if cap(s)-len(s) >= n {
		return s
	}
	return slices.Grow(s, max(n, cap(s)))
}

// hashRow adds the row encoded after m to h: its lengths and label, then each column's
// values as stored in the Arrow buffers (2 or 4 bytes per id, little-endian on the platforms
// Arrow supports; 1 byte per token type). A resumed run compares these hashes to check that
// it regenerates the same rows.
func (b *batch) hashRow(h *xxh3.Hasher, m batchMark, label int8) {
	var hdr [9]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(b.types)-m.toks))
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(b.pos)-m.masked))
	hdr[8] = byte(label)
	h.Write(hdr[:])
	if b.wide {
		h.Write(arrow.Uint32Traits.CastToBytes(b.ids32[m.toks:]))
	} else {
		h.Write(arrow.Uint16Traits.CastToBytes(b.ids16[m.toks:]))
	}
	h.Write(b.types[m.toks:])
	h.Write(arrow.Uint16Traits.CastToBytes(b.pos[m.masked:]))
	if b.wide {
		h.Write(arrow.Uint32Traits.CastToBytes(b.mid32[m.masked:]))
	} else {
		h.Write(arrow.Uint16Traits.CastToBytes(b.mid16[m.masked:]))
	}
}

// rowsSum returns the hex XXH3-128 of the rows hashed so far.
func rowsSum(h *xxh3.Hasher) string {
	sum := h.Sum128().Bytes()
	return hex.EncodeToString(sum[:])
}

// layout appends the batch's field nodes and body buffers, in the order of the schema's
// columns and of arrow/ipc's recordEncoder: per list a node (rows), its validity bitmap
// (absent: no nulls) and offsets, then its values' node, validity and data; per integer
// column a node, validity and data.
func (b *batch) layout(nodes []ipcNode, bufs [][]byte) ([]ipcNode, [][]byte) {
	rows, toks, masked := int64(b.rows()), int64(len(b.types)), int64(len(b.pos))
	tokOff := arrow.Int32Traits.CastToBytes(b.tokOff)
	ids := b.idBytes(b.ids16, b.ids32)
	nodes = append(nodes, ipcNode{length: rows}, ipcNode{length: toks}, ipcNode{length: rows}, ipcNode{length: toks}, ipcNode{length: rows})
	bufs = append(bufs, nil, tokOff, nil, ids, nil, tokOff, nil, b.types, nil, arrow.Int8Traits.CastToBytes(b.labels))
	if b.static {
		maskOff := arrow.Int32Traits.CastToBytes(b.maskOff)
		nodes = append(nodes, ipcNode{length: rows}, ipcNode{length: masked}, ipcNode{length: rows}, ipcNode{length: masked})
		bufs = append(bufs, nil, maskOff, nil, arrow.Uint16Traits.CastToBytes(b.pos), nil, maskOff, nil, b.idBytes(b.mid16, b.mid32))
	}
	return nodes, bufs
}

func (b *batch) idBytes(narrow []uint16, wide []uint32) []byte {
	if b.wide {
		return arrow.Uint32Traits.CastToBytes(wide)
	}
	return arrow.Uint16Traits.CastToBytes(narrow)
}

// record returns the batch as an Arrow record of schema, its arrays reading the batch's
// buffers in place (for arrow's ipc writers, which lz4 shards are written with): it is valid
// until the batch is reset.
func (b *batch) record(schema *arrow.Schema) arrow.Record {
	rows := b.rows()
	idType := arrow.DataType(arrow.PrimitiveTypes.Uint16)
	if b.wide {
		idType = arrow.PrimitiveTypes.Uint32
	}
	list := func(off []int32, n int, typ arrow.DataType, vals []byte) arrow.Array {
		child := array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(vals)}, nil, 0, 0)
		defer child.Release()
		data := array.NewData(arrow.ListOfNonNullable(typ), rows,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(off))}, []arrow.ArrayData{child}, 0, 0)
		defer data.Release()
		return array.MakeFromData(data)
	}
	label := array.NewData(arrow.PrimitiveTypes.Int8, rows, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int8Traits.CastToBytes(b.labels))}, nil, 0, 0)
	defer label.Release()
	cols := []arrow.Array{
		list(b.tokOff, len(b.types), idType, b.idBytes(b.ids16, b.ids32)),
		list(b.tokOff, len(b.types), arrow.PrimitiveTypes.Uint8, b.types),
		array.MakeFromData(label),
	}
	if b.static {
		cols = append(cols,
			list(b.maskOff, len(b.pos), arrow.PrimitiveTypes.Uint16, arrow.Uint16Traits.CastToBytes(b.pos)),
			list(b.maskOff, len(b.pos), idType, b.idBytes(b.mid16, b.mid32)))
	}
	rec := array.NewRecord(schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}
