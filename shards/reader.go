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
	"github.com/apache/arrow/go/v15/arrow/memory"

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
}

// recoverInto turns a panic inside the Arrow library, which a corrupt
// shard can cause, into an error naming the shard.
func recoverInto(err *error, path string) {
	if e := recover(); e != nil {
		*err = fmt.Errorf("%s: corrupt shard: %v", path, e)
	}
}

// Open opens a shard, detecting file or stream format.
func Open(path string) (_ *Reader, err error) {
	defer recoverInto(&err, path)
	f, err := fileio.OpenRegular(path)
	if err != nil {
		return nil, err
	}
	r := &Reader{path: path, f: f, recIndex: -1}
	head := make([]byte, len(arrowMagic))
	if _, err := io.ReadFull(f, head); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: too short for Arrow IPC: %w", path, err)
	}
	mem := memory.NewGoAllocator()
	if bytes.Equal(head, arrowMagic) {
		r.fr, err = ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err == nil {
			r.schema = r.fr.Schema()
		}
	} else {
		if _, err = f.Seek(0, io.SeekStart); err == nil {
			r.sr, err = ipc.NewReader(bufio.NewReaderSize(f, 1<<20), ipc.WithAllocator(mem))
			if err == nil {
				r.schema = r.sr.Schema()
			}
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if r.info, err = infoFromSchema(r.schema); err == nil {
		err = checkSchema(r.schema, r.info)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
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
	rec, err := r.fr.RecordAt(i)
	if err != nil {
		return nil, fmt.Errorf("%s: batch %d: %w", r.path, i, err)
	}
	return rec, nil
}

// NumRows returns the number of rows of the shard. For the file format it
// reads only the last batch (every other batch holds Info.RowsPerBatch rows);
// for a stream it reads the whole stream once through a separate handle.
func (r *Reader) NumRows() (int64, error) {
	if r.fr != nil {
		n := r.fr.NumRecords()
		if n == 0 {
			return 0, nil
		}
		last, err := r.Batch(n - 1)
		if err != nil {
			return 0, err
		}
		defer last.Release()
		return int64(n-1)*int64(r.info.RowsPerBatch) + last.NumRows(), nil
	}
	o, err := Open(r.path)
	if err != nil {
		return 0, err
	}
	defer o.Close()
	var rows int64
	for o.sr.Next() {
		rows += o.sr.Record().NumRows()
	}
	if err := o.sr.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", r.path, err)
	}
	return rows, nil
}

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
		return fmt.Errorf("%s: after row %d: %w", r.path, r.rowIndex, err)
	}
	return nil
}

// Next reads the next row into row, reusing its slices, and returns io.EOF
// after the last row.
func (r *Reader) Next(row *Row) (err error) {
	defer recoverInto(&err, r.path)
	for r.rec == nil || r.row >= r.batch.n {
		if r.fr != nil {
			if r.nextRec >= r.fr.NumRecords() {
				return io.EOF
			}
			if err := r.load(r.nextRec); err != nil {
				return err
			}
			r.nextRec++
		} else {
			if !r.sr.Next() {
				if err := r.sr.Err(); err != nil {
					return fmt.Errorf("%s: after row %d: %w", r.path, r.rowIndex, err)
				}
				return io.EOF
			}
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

// Close releases the shard.
func (r *Reader) Close() error {
	if r.rec != nil && r.fr != nil {
		r.rec.Release()
	}
	r.rec = nil
	if r.fr != nil {
		r.fr.Close()
	}
	if r.sr != nil {
		r.sr.Release()
	}
	return r.f.Close()
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
