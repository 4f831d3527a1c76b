package shards

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/zeebo/xxh3"
)

// encodedRow is a row converted to its stored types, checked on the way;
// the Writer reuses it for every row.
type encodedRow struct {
	hdr   [9]byte  // len(input_ids), len(masked_lm_positions), label: the start of the row hash
	ids16 []uint16 // input_ids (uint32 in ids32 for a wide vocabulary)
	ids32 []uint32
	types []uint8
	pos   []uint16 // masked_lm_positions
	mid16 []uint16 // masked_lm_ids (uint32 in mid32 for a wide vocabulary)
	mid32 []uint32
}

// encode checks r against the options (w.limits: its lengths first, then each element as
// it is converted) and converts it into w.enc, in one pass over each column. Nothing is
// stored when r is invalid.
func (w *Writer) encode(r *Row) error {
	if err := w.limits.CheckCounts(r); err != nil {
		return err
	}
	n := len(r.InputIDs)
	e := &w.enc
	bad := w.convertIDs(&e.ids16, &e.ids32, r.InputIDs)
	if bad >= 0 {
		return fmt.Errorf("input id %d outside vocabulary of %d", r.InputIDs[bad], w.o.VocabSize)
	}
	e.types = slices.Grow(e.types[:0], n)[:n]
	for i, t := range r.TokenTypeIDs {
		if t < 0 {
			return fmt.Errorf("negative token type %d", t)
		}
		e.types[i] = uint8(t)
	}
	// MaxSeqLen <= 65,536, so a position within the row fits 16 bits.
	if e.pos, bad = convert(e.pos, r.MaskedPositions, n); bad >= 0 {
		return fmt.Errorf("masked position %d outside row of %d tokens", r.MaskedPositions[bad], n)
	}
	if bad = w.convertIDs(&e.mid16, &e.mid32, r.MaskedIDs); bad >= 0 {
		return fmt.Errorf("masked id %d outside vocabulary of %d", r.MaskedIDs[bad], w.o.VocabSize)
	}
	binary.LittleEndian.PutUint32(e.hdr[0:], uint32(n))
	binary.LittleEndian.PutUint32(e.hdr[4:], uint32(len(r.MaskedPositions)))
	e.hdr[8] = byte(r.NextSentenceLabel)
	return nil
}

// convertIDs stores token ids in narrow (uint16), or in wide (uint32) for a vocabulary over
// 65,536, and returns the index of the first id outside the vocabulary, or -1.
func (w *Writer) convertIDs(narrow *[]uint16, wide *[]uint32, ids []int32) (bad int) {
	if w.info.wide() {
		*wide, bad = convert(*wide, ids, w.o.VocabSize)
	} else {
		*narrow, bad = convert(*narrow, ids, w.o.VocabSize)
	}
	return bad
}

// convert stores vs in buf (reusing its storage) as T, checking that each
// is in [0, limit); it returns the index of the first that is not, or -1.
func convert[T uint16 | uint32](buf []T, vs []int32, limit int) ([]T, int) {
	buf = slices.Grow(buf[:0], len(vs))[:len(vs)]
	for i, v := range vs {
		if uint32(v) >= uint32(limit) { // also catches v < 0
			return buf[:0], i
		}
		buf[i] = T(v)
	}
	return buf, -1
}

// hash adds the encoded row to h: its lengths and label, then each column's
// values as stored in the Arrow buffers (2 or 4 bytes per id, little-endian
// on the platforms Arrow supports; 1 byte per token type). A resumed run
// compares these hashes to check that it regenerates the same rows.
func (e *encodedRow) hash(h *xxh3.Hasher) {
	h.Write(e.hdr[:])
	h.Write(arrow.Uint16Traits.CastToBytes(e.ids16))
	h.Write(arrow.Uint32Traits.CastToBytes(e.ids32))
	h.Write(e.types)
	h.Write(arrow.Uint16Traits.CastToBytes(e.pos))
	h.Write(arrow.Uint16Traits.CastToBytes(e.mid16))
	h.Write(arrow.Uint32Traits.CastToBytes(e.mid32))
}

// rowsSum returns the hex XXH3-128 of the rows hashed so far.
func rowsSum(h *xxh3.Hasher) string {
	sum := h.Sum128().Bytes()
	return hex.EncodeToString(sum[:])
}

// columns holds the builders of a record batch, typed once.
type columns struct {
	ids, types, pos, mids *array.ListBuilder
	label                 *array.Int8Builder
	ids16, mid16, pos16   *array.Uint16Builder
	ids32, mid32          *array.Uint32Builder
	types8                *array.Uint8Builder
}

func newColumns(rb *array.RecordBuilder, static bool) columns {
	var c columns
	c.ids = rb.Field(0).(*array.ListBuilder)
	c.types = rb.Field(1).(*array.ListBuilder)
	c.types8 = c.types.ValueBuilder().(*array.Uint8Builder)
	c.label = rb.Field(2).(*array.Int8Builder)
	c.ids16, _ = c.ids.ValueBuilder().(*array.Uint16Builder)
	c.ids32, _ = c.ids.ValueBuilder().(*array.Uint32Builder)
	if static {
		c.pos = rb.Field(3).(*array.ListBuilder)
		c.pos16 = c.pos.ValueBuilder().(*array.Uint16Builder)
		c.mids = rb.Field(4).(*array.ListBuilder)
		c.mid16, _ = c.mids.ValueBuilder().(*array.Uint16Builder)
		c.mid32, _ = c.mids.ValueBuilder().(*array.Uint32Builder)
	}
	return c
}

// lengths returns the rows, tokens and masked positions held by the builders.
func (c *columns) lengths() [3]int {
	n := [3]int{c.label.Len(), c.types8.Len(), 0}
	if c.pos16 != nil {
		n[2] = c.pos16.Len()
	}
	return n
}

// reserve makes room for a batch of the given lengths, so that the builders
// do not regrow from empty for every batch.
func (c *columns) reserve(n [3]int) {
	rows, toks, masked := n[0], n[1], n[2]
	c.ids.Reserve(rows)
	c.types.Reserve(rows)
	c.label.Reserve(rows)
	c.types8.Reserve(toks)
	if c.ids16 != nil {
		c.ids16.Reserve(toks)
	} else {
		c.ids32.Reserve(toks)
	}
	if c.pos != nil {
		c.pos.Reserve(rows)
		c.mids.Reserve(rows)
		c.pos16.Reserve(masked)
		if c.mid16 != nil {
			c.mid16.Reserve(masked)
		} else {
			c.mid32.Reserve(masked)
		}
	}
}

// appendRow appends the row encoded in w.enc to the batch of s.
func (w *Writer) appendRow(s *series, label int8) {
	if s.rb == nil {
		s.rb = array.NewRecordBuilder(w.mem, w.schema)
		s.cols = newColumns(s.rb, w.o.Static)
	}
	c, e := &s.cols, &w.enc
	if s.pending == 0 && s.last[0] > 0 {
		c.reserve(s.last)
	}
	c.ids.Append(true)
	if c.ids16 != nil {
		c.ids16.AppendValues(e.ids16, nil)
	} else {
		c.ids32.AppendValues(e.ids32, nil)
	}
	c.types.Append(true)
	c.types8.AppendValues(e.types, nil)
	c.label.Append(label)
	if w.o.Static {
		c.pos.Append(true)
		c.pos16.AppendValues(e.pos, nil)
		c.mids.Append(true)
		if c.mid16 != nil {
			c.mid16.AppendValues(e.mid16, nil)
		} else {
			c.mid32.AppendValues(e.mid32, nil)
		}
	}
	s.pending++
}
