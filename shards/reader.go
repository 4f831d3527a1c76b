package shards

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"

	"github.com/kiln-bert/kiln/internal/arrowalloc"
	"github.com/kiln-bert/kiln/internal/fileio"
)

// arrowMagic opens (and ends) an Arrow IPC file; streams start otherwise.
var arrowMagic = []byte("ARROW1")

// Reader reads one shard, in Arrow IPC file or stream format, row by row
// (Next) or, for the file format, by record batch or row index.
type Reader struct {
	path   string
	f      *os.File
	info   Info
	schema *arrow.Schema
	fr     *ipc.FileReader // file format
	sr     *ipc.Reader     // stream format

	batch    batchView
	rec      arrow.Record // current batch (file format: owned)
	recIndex int          // index of rec in the file, -1 if none
	row      int          // next row within rec
	nextRec  int          // next record batch to load for Next (file format)
	rowIndex int64        // rows returned by Next so far

	alloc   *arrowalloc.Allocator // all the Arrow library allocates for this shard, bounded by each batch's checked layout
	batches []batchBounds         // every record batch, as checked at Open
	total   int64                 // rows of all batches
	nextIn  int                   // stream format: index of the next batch sr.Next reads
}

// recoverInto turns a panic inside the Arrow library, which a corrupt
// shard can cause, into an error naming the shard.
func recoverInto(err *error, path string) {
	if e := recover(); e != nil {
		*err = fmt.Errorf("%s: corrupt shard: %v", path, e)
	}
}

// corrupt wraps an error met while reading a shard's rows, naming the shard. The cause is
// kept as text only: an Arrow error that wraps io.EOF (a block pointing past the data) must
// not read as the end of the rows.
func corrupt(path string, rows int64, err error) error {
	return fmt.Errorf("%s: after row %d: %v", path, rows, err)
}

// Open opens a shard, detecting file or stream format. Only a regular file is opened, and its
// layout is checked before the Arrow library reads it: every length the file declares is
// compared with its size and its settings (see MaxBatchTokens), and what Arrow allocates is
// bounded by what the checked layout needs.
func Open(path string) (_ *Reader, err error) {
	f, err := fileio.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{path: path, f: f, recIndex: -1, alloc: arrowalloc.NewGranted()}
	defer func() {
		if e := recover(); e != nil {
			err = fmt.Errorf("%s: corrupt shard: %v", path, e)
		}
		if err != nil {
			r.Close()
		}
	}()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	src := ipcSource{r: f, size: st.Size()}
	head := make([]byte, len(arrowMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("%s: too short for Arrow IPC: %v", path, err)
	}
	var stream []streamMessage
	r.alloc.Reset(0, 0) // opening reads no batch
	if bytes.Equal(head, arrowMagic) {
		if _, _, err := checkFooter(src); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		r.fr, err = ipc.NewFileReader(f, ipc.WithAllocator(r.alloc))
		if err == nil {
			r.schema = r.fr.Schema()
		}
	} else {
		if stream, err = walkStream(src); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if _, err = f.Seek(0, io.SeekStart); err == nil {
			r.alloc.Reset(padded(stream[0].bodyLen), padded(stream[0].bodyLen))
			r.sr, err = ipc.NewReader(bufio.NewReaderSize(f, 1<<20), ipc.WithAllocator(r.alloc))
			if err == nil {
				r.schema = r.sr.Schema()
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if r.info, err = infoFromSchema(r.schema); err == nil {
		err = checkSchema(r.schema, r.info)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.fr != nil {
		r.batches, err = checkFileLayout(src, r.info)
	} else {
		for i, m := range stream[1:] {
			bb, err1 := checkRecordBatch(src, m.meta, m.bodyStart, m.bodyLen, r.info)
			if err1 != nil {
				err = fmt.Errorf("record batch %d at byte %d: %w", i, m.bodyStart, err1)
				break
			}
			bb.budget += padded(int64(len(m.meta)))
			r.batches = append(r.batches, bb)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.fr != nil && len(r.batches) != r.fr.NumRecords() {
		return nil, fmt.Errorf("%s: footer lists %d record batches, Arrow reads %d", path, len(r.batches), r.fr.NumRecords())
	}
	for _, b := range r.batches {
		r.total += b.rows
	}
	return r, nil
}

// checkSchema makes sure the columns are those the Info describes.
func checkSchema(s *arrow.Schema, in Info) error {
	want := schemaFor(in, nil)
	if len(s.Fields()) != len(want.Fields()) {
		return fmt.Errorf("schema has %d columns, want %d", len(s.Fields()), len(want.Fields()))
	}
	for i, f := range want.Fields() {
		g := s.Field(i)
		if g.Name != f.Name || !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("column %d is %s %s, want %s %s", i, g.Name, g.Type, f.Name, f.Type)
		}
	}
	return nil
}

// Info returns the settings stored in the shard's schema metadata.
func (r *Reader) Info() Info { return r.info }

// Schema returns the shard's Arrow schema, with its metadata.
func (r *Reader) Schema() *arrow.Schema { return r.schema }

// Metadata returns the value stored under key in the schema metadata.
func (r *Reader) Metadata(key string) (string, bool) {
	return r.schema.Metadata().GetValue(key)
}

// Stream reports whether the shard is in stream format.
func (r *Reader) Stream() bool { return r.sr != nil }

// NumBatches returns the number of record batches of a file-format shard,
// or -1 for a stream.
func (r *Reader) NumBatches() int {
	if r.fr == nil {
		return -1
	}
	return r.fr.NumRecords()
}

// Batch returns record batch i of a file-format shard; the caller must
// Release it. The index is checked: Arrow's RecordAt does not.
func (r *Reader) Batch(i int) (_ arrow.Record, err error) {
	defer recoverInto(&err, r.path)
	if r.fr == nil {
		return nil, fmt.Errorf("%s: random access needs the file format", r.path)
	}
	if i < 0 || i >= r.fr.NumRecords() {
		return nil, fmt.Errorf("%s: batch %d out of range [0,%d)", r.path, i, r.fr.NumRecords())
	}
	b := r.batches[i]
	r.alloc.Reset(b.maxBuf, b.budget)
	rec, err := r.fr.RecordAt(i)
	if err != nil {
		return nil, fmt.Errorf("%s: batch %d: %v", r.path, i, err)
	}
	if rec.NumRows() != b.rows {
		rec.Release()
		return nil, fmt.Errorf("%s: batch %d: %d rows, its header says %d", r.path, i, rec.NumRows(), b.rows)
	}
	return rec, nil
}

// NumRows returns the number of rows of the shard, as its record batch headers (checked at
// Open) say; Next fails should the batches hold other counts.
func (r *Reader) NumRows() (int64, error) { return r.total, nil }

// ReadRow reads row i of a file-format shard into row, reusing its slices.
func (r *Reader) ReadRow(i int64, row *Row) (err error) {
	defer recoverInto(&err, r.path)
	if r.fr == nil {
		return fmt.Errorf("%s: random access needs the file format", r.path)
	}
	if i < 0 {
		return fmt.Errorf("%s: row %d out of range", r.path, i)
	}
	b := int(i / int64(r.info.RowsPerBatch))
	if err := r.load(b); err != nil {
		return err
	}
	j := int(i % int64(r.info.RowsPerBatch))
	if j >= r.batch.n {
		return fmt.Errorf("%s: row %d out of range", r.path, i)
	}
	r.batch.row(j, row)
	return nil
}

// load makes batch b of a file-format shard current.
func (r *Reader) load(b int) error {
	if r.recIndex == b && r.rec != nil {
		return nil
	}
	rec, err := r.Batch(b)
	if err != nil {
		return err
	}
	if err := r.setRecord(rec); err != nil {
		return err
	}
	r.recIndex = b
	return nil
}

func (r *Reader) setRecord(rec arrow.Record) error {
	if r.rec != nil && r.fr != nil {
		r.rec.Release()
	}
	r.rec = rec
	r.recIndex = -1
	if err := r.batch.set(rec, r.info); err != nil {
		if r.fr != nil {
			rec.Release()
		}
		r.rec = nil
		return corrupt(r.path, r.rowIndex, err)
	}
	return nil
}

// Next reads the next row into row, reusing its slices, and returns io.EOF
// after the last row.
func (r *Reader) Next(row *Row) (err error) {
	defer recoverInto(&err, r.path)
	if r.f == nil {
		return fmt.Errorf("%s: reader is closed", r.path)
	}
	for r.rec == nil || r.row >= r.batch.n {
		if r.fr != nil {
			if r.nextRec >= r.fr.NumRecords() {
				return r.end()
			}
			if err := r.load(r.nextRec); err != nil {
				return err
			}
			r.nextRec++
		} else {
			if r.nextIn < len(r.batches) {
				b := r.batches[r.nextIn]
				r.alloc.Reset(b.maxBuf, b.budget)
			} else {
				r.alloc.Reset(0, 0)
			}
			if !r.sr.Next() {
				if err := r.sr.Err(); err != nil {
					return corrupt(r.path, r.rowIndex, err)
				}
				return r.end()
			}
			if r.nextIn >= len(r.batches) || r.sr.Record().NumRows() != r.batches[r.nextIn].rows {
				return corrupt(r.path, r.rowIndex, fmt.Errorf("record batch %d is not the one the stream's framing showed", r.nextIn))
			}
			r.nextIn++
			if err := r.setRecord(r.sr.Record()); err != nil {
				return err
			}
		}
		r.row = 0
	}
	r.batch.row(r.row, row)
	r.row++
	r.rowIndex++
	return nil
}

// end returns io.EOF when every row the batch headers count has been read, else an error.
func (r *Reader) end() error {
	if r.rowIndex != r.total {
		return fmt.Errorf("%s: read %d rows, but its record batches hold %d", r.path, r.rowIndex, r.total)
	}
	return io.EOF
}

// Close releases the shard.
func (r *Reader) Close() error {
	if r.rec != nil && r.fr != nil {
		r.rec.Release()
	}
	r.rec = nil
	if r.fr != nil {
		r.fr.Close()
		r.fr = nil
	}
	if r.sr != nil {
		r.sr.Release()
		r.sr = nil
	}
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// batchView gives typed access to the columns of one record batch.
type batchView struct {
	n                     int
	ids, types, pos, mids *array.List
	ids16, mids16, pos16  []uint16
	ids32, mids32         []uint32
	types8                []uint8
	labels                []int8
}

func (v *batchView) set(rec arrow.Record, in Info) error {
	*v = batchView{n: int(rec.NumRows())}
	for c := 0; c < int(rec.NumCols()); c++ {
		if rec.Column(c).Len() != v.n {
			return fmt.Errorf("column %s has %d rows, batch has %d", rec.ColumnName(c), rec.Column(c).Len(), v.n)
		}
		if l, ok := rec.Column(c).(*array.List); ok {
			if err := checkOffsets(l); err != nil {
				return fmt.Errorf("column %s: %w", rec.ColumnName(c), err)
			}
		}
	}
	v.ids = rec.Column(0).(*array.List)
	v.types = rec.Column(1).(*array.List)
	v.types8 = v.types.ListValues().(*array.Uint8).Uint8Values()
	v.labels = rec.Column(2).(*array.Int8).Int8Values()
	if in.Static {
		v.pos = rec.Column(3).(*array.List)
		v.pos16 = v.pos.ListValues().(*array.Uint16).Uint16Values()
		v.mids = rec.Column(4).(*array.List)
	}
	if in.wide() {
		v.ids32 = v.ids.ListValues().(*array.Uint32).Uint32Values()
		if in.Static {
			v.mids32 = v.mids.ListValues().(*array.Uint32).Uint32Values()
		}
	} else {
		v.ids16 = v.ids.ListValues().(*array.Uint16).Uint16Values()
		if in.Static {
			v.mids16 = v.mids.ListValues().(*array.Uint16).Uint16Values()
		}
	}
	for i := 0; i < v.n; i++ {
		a, b := v.ids.ValueOffsets(i)
		c, d := v.types.ValueOffsets(i)
		if b-a != d-c {
			return fmt.Errorf("row %d of the batch: %d input_ids but %d token_type_ids", i, b-a, d-c)
		}
		if v.pos != nil {
			a, b = v.pos.ValueOffsets(i)
			c, d = v.mids.ValueOffsets(i)
			if b-a != d-c {
				return fmt.Errorf("row %d of the batch: %d masked positions but %d masked ids", i, b-a, d-c)
			}
		}
	}
	return nil
}

// checkOffsets makes sure a list's offsets stay inside its values, so that
// a corrupt shard gives an error rather than a panic.
func checkOffsets(l *array.List) error {
	n := int64(l.ListValues().Len())
	prev := int64(0)
	for i := 0; i < l.Len(); i++ {
		s, e := l.ValueOffsets(i)
		if s < prev || e < s || e > n {
			return fmt.Errorf("row %d of the batch: offsets [%d,%d) invalid for %d values", i, s, e, n)
		}
		prev = e
	}
	return nil
}

func (v *batchView) row(i int, row *Row) {
	row.InputIDs = ids(row.InputIDs[:0], v.ids, v.ids16, v.ids32, i)
	s, e := v.types.ValueOffsets(i)
	row.TokenTypeIDs = row.TokenTypeIDs[:0]
	for _, t := range v.types8[s:e] {
		row.TokenTypeIDs = append(row.TokenTypeIDs, int8(t))
	}
	row.NextSentenceLabel = v.labels[i]
	row.MaskedPositions = row.MaskedPositions[:0]
	row.MaskedIDs = row.MaskedIDs[:0]
	if v.pos == nil {
		return
	}
	s, e = v.pos.ValueOffsets(i)
	for _, p := range v.pos16[s:e] {
		row.MaskedPositions = append(row.MaskedPositions, int32(p))
	}
	row.MaskedIDs = ids(row.MaskedIDs, v.mids, v.mids16, v.mids32, i)
}

func ids(dst []int32, l *array.List, v16 []uint16, v32 []uint32, i int) []int32 {
	s, e := l.ValueOffsets(i)
	if v32 != nil {
		for _, id := range v32[s:e] {
			dst = append(dst, int32(id))
		}
		return dst
	}
	for _, id := range v16[s:e] {
		dst = append(dst, int32(id))
	}
	return dst
}
