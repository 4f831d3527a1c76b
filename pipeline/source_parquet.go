package pipeline

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/schema"
	"github.com/apache/thrift/lib/go/thrift"
	"github.com/kiln-bert/kiln/internal/arrowalloc"
)

// readParquet reads the text column of a Parquet file, row group by row group. Before the
// Arrow library reads a row group, every size the file declares for it (the column chunk,
// each page header, the sizes inside snappy and zstd pages) is checked against the file's
// size and MaxRowGroupBytes: the library allocates what the file says. The library reads and
// decompresses the pages; kiln decodes their values (source_parquet_pages.go).
func (s *Source) readParquet(ctx context.Context, ra *countingReaderAt, t *tableSink, alloc *arrowalloc.Allocator) (err error) {
	defer recoverTooLarge(&err)
	limit := s.opts.MaxRowGroupBytes
	t.where = "footer"
	footerStart, err := checkParquetFooter(ra, limit)
	if err != nil {
		return err
	}
	props := parquet.NewReaderProperties(alloc)
	props.BufferedStreamEnabled = true // one page in memory at a time, not a whole column chunk
	props.BufferSize = 64 << 10
	r, err := file.NewParquetReader(ra, file.WithReadProps(props))
	if err != nil {
		return fmt.Errorf("not a readable Parquet file: %w", err)
	}
	t.where = ""
	md := r.MetaData()
	name := s.opts.TextColumn
	col := md.Schema.ColumnIndexByName(name)
	if col < 0 && md.Schema.Root().FieldIndexByName(name) >= 0 {
		return fmt.Errorf("column %q is a nested (list or struct) column, not a string", name)
	}
	if col < 0 {
		return fmt.Errorf("no column %q (the file's columns: %s); name the text column in SourceOptions.TextColumn", name, parquetColumns(md.Schema))
	}
	descr := md.Schema.Column(col)
	if err := checkStringColumn(descr); err != nil {
		return fmt.Errorf("column %q %w", name, err)
	}
	maxDef := descr.MaxDefinitionLevel()
	for g := 0; g < r.NumRowGroups(); g++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		t.where = fmt.Sprintf("row group %d, column %q", g, name)
		rgr := r.RowGroup(g)
		cc, err := rgr.MetaData().ColumnChunk(col)
		if err != nil {
			return err
		}
		rows := rgr.NumRows()
		if rows < 0 || cc.NumValues() != rows {
			return fmt.Errorf("the file declares %d rows and %d values: file is corrupt", rows, cc.NumValues())
		}
		start := cc.DataPageOffset()
		if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && cc.DictionaryPageOffset() < start {
			start = cc.DictionaryPageOffset()
		}
		size := cc.TotalCompressedSize()
		if start < 4 || size < 0 || start > footerStart || size > footerStart-start {
			return fmt.Errorf("the column chunk at offset %d declares %d bytes, past the data of the %d-byte file: file is truncated or corrupt", start, size, ra.size)
		}
		if u := cc.TotalUncompressedSize(); u > limit || size > limit {
			return fmt.Errorf("the column chunk declares %d bytes (%d uncompressed), more than the %d bytes a row group may take (SourceOptions.MaxRowGroupBytes)", size, u, limit)
		}
		if err := checkParquetPages(ra, start, size, cc.Compression(), limit); err != nil {
			return err
		}
		pr, err := rgr.GetColumnPageReader(col)
		if err != nil {
			return err
		}
		pages := &parquetPages{maxDef: maxDef}
		read, err := pages.readPages(pr, int64(t.row), func(text []byte, null bool) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			return t.add(string(text), null)
		})
		if err != nil {
			return err
		}
		if read != rows {
			return fmt.Errorf("%d rows read of the %d the file declares: file is truncated or corrupt", read, rows)
		}
	}
	t.where = ""
	return nil
}

// checkStringColumn checks that a Parquet column holds one string per row.
func checkStringColumn(c *schema.Column) error {
	if c.MaxRepetitionLevel() > 0 {
		return fmt.Errorf("is a repeated (list) column, not a string")
	}
	if c.PhysicalType() != parquet.Types.ByteArray {
		return fmt.Errorf("is %s, not a string", strings.ToLower(c.PhysicalType().String()))
	}
	if _, ok := c.LogicalType().(schema.StringLogicalType); !ok && c.ConvertedType() != schema.ConvertedTypes.UTF8 {
		return fmt.Errorf("is binary (BYTE_ARRAY without the String annotation), not a string")
	}
	return nil
}

// parquetColumns lists the leaf columns of a Parquet schema, for error messages.
func parquetColumns(sc *schema.Schema) string {
	var names []string
	for i := 0; i < sc.NumColumns() && i < 20; i++ {
		names = append(names, fmt.Sprintf("%q", sc.Column(i).Path()))
	}
	if sc.NumColumns() > 20 {
		names = append(names, fmt.Sprintf("and %d more", sc.NumColumns()-20))
	}
	return strings.Join(names, ", ")
}

// checkParquetFooter checks a Parquet file's magic numbers and footer length, and walks the
// footer's Thrift encoding so that no list in it declares more elements than it has bytes
// (the Thrift decoder allocates what the lists declare). It returns the offset where the
// footer starts.
func checkParquetFooter(ra *countingReaderAt, limit int64) (int64, error) {
	if ra.size < 12 {
		return 0, fmt.Errorf("%d bytes: too short to be a Parquet file", ra.size)
	}
	var head, tail [8]byte
	if _, err := ra.ReadAt(head[:4], 0); err != nil {
		return 0, err
	}
	if _, err := ra.ReadAt(tail[:], ra.size-8); err != nil {
		return 0, err
	}
	if string(head[:4]) != "PAR1" {
		return 0, errors.New("not a Parquet file (it does not start with PAR1)")
	}
	if string(tail[4:]) != "PAR1" {
		return 0, errors.New("file is truncated or corrupt (it does not end with PAR1)")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	footerStart := ra.size - 8 - n
	if footerStart < 4 {
		return 0, fmt.Errorf("the footer declares %d bytes, more than the %d-byte file holds: file is truncated or corrupt", n, ra.size)
	}
	if n > limit {
		return 0, fmt.Errorf("the footer declares %d bytes, more than SourceOptions.MaxRowGroupBytes %d", n, limit)
	}
	buf := make([]byte, n)
	if _, err := ra.ReadAt(buf, footerStart); err != nil {
		return 0, err
	}
	// The schema's groups declare their number of children, which the library allocates:
	// none may have more than the schema has elements.
	elems := int64(-1)
	var children []int64
	if _, err := walkThrift(buf, func(path []int16, v int64) {
		switch {
		case len(path) == 2 && path[0] == 2 && path[1] == -1:
			elems = v
		case len(path) == 2 && path[0] == 2 && path[1] == 5:
			children = append(children, v)
		}
	}); err != nil {
		return 0, fmt.Errorf("the footer is corrupt: %w", err)
	}
	for _, c := range children {
		if c < 0 || c >= elems {
			return 0, fmt.Errorf("the footer is corrupt: a schema group declares %d children in a schema of %d elements", c, elems)
		}
	}
	return footerStart, nil
}

// pageHeader holds what checkParquetPages needs of a Parquet page header.
type pageHeader struct {
	typ, uncompressed, compressed int64
	numValues                     int64 // dictionary pages
	levels                        int64 // v2 data pages: bytes of levels ahead of the values
	v2, v2Compressed              bool
}

// Parquet's page types (parquet.thrift).
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3
)

// checkParquetPages walks the page headers of the column chunk of size bytes at start and
// checks each page's sizes: inside the chunk, within limit, and for snappy and zstd pages
// the sizes their codec will allocate.
func checkParquetPages(ra *countingReaderAt, start, size int64, codec compress.Compression, limit int64) error {
	end := start + size
	for pos := start; pos < end; {
		h, hlen, err := readPageHeader(ra, pos, end)
		if err != nil {
			return fmt.Errorf("page at offset %d: %w", pos, err)
		}
		data := pos + hlen
		switch {
		case h.compressed < 0 || h.uncompressed < 0:
			err = fmt.Errorf("negative page size")
		case h.compressed > end-data:
			err = fmt.Errorf("the page declares %d bytes, past the end of its column chunk (%d bytes left): file is truncated or corrupt", h.compressed, end-data)
		case h.uncompressed > limit:
			err = fmt.Errorf("the page declares %d bytes uncompressed, more than SourceOptions.MaxRowGroupBytes %d", h.uncompressed, limit)
		case h.typ == pageDictionary && (h.numValues < 0 || h.numValues > h.uncompressed/4):
			err = fmt.Errorf("the dictionary page declares %d values in %d bytes: file is corrupt", h.numValues, h.uncompressed)
		case h.v2 && (h.levels < 0 || h.levels > h.compressed || h.levels > h.uncompressed):
			err = fmt.Errorf("the page declares %d bytes of levels in %d bytes: file is corrupt", h.levels, h.compressed)
		case (h.v2 && !h.v2Compressed || codec == compress.Codecs.Uncompressed && !h.v2) && h.compressed != h.uncompressed:
			err = fmt.Errorf("the uncompressed page declares %d bytes and holds %d: file is corrupt", h.uncompressed, h.compressed)
		}
		isData := h.typ == pageData || h.typ == pageDictionary || h.typ == pageDataV2
		if err == nil && isData && codec != compress.Codecs.Uncompressed && !(h.v2 && !h.v2Compressed) {
			off, n := data, h.compressed
			if h.v2 {
				off, n = data+h.levels, h.compressed-h.levels
			}
			err = checkCodecSizes(ra, off, n, h.uncompressed, codec, limit)
		}
		if err != nil {
			return fmt.Errorf("page at offset %d: %w", pos, err)
		}
		pos = data + h.compressed
	}
	return nil
}

// readPageHeader decodes the Thrift page header at pos (before end).
func readPageHeader(ra *countingReaderAt, pos, end int64) (pageHeader, int64, error) {
	var h pageHeader
	h.v2Compressed = true // the field's default
	for want := int64(256); ; want *= 2 {
		n := min(want, end-pos)
		buf := make([]byte, n)
		if _, err := ra.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return h, 0, err
		}
		used, err := walkThrift(buf, func(path []int16, v int64) {
			switch {
			case len(path) == 1 && path[0] == 1:
				h.typ = v
			case len(path) == 1 && path[0] == 2:
				h.uncompressed = v
			case len(path) == 1 && path[0] == 3:
				h.compressed = v
			case len(path) == 2 && path[0] == 7 && path[1] == 1:
				h.numValues = v
			case len(path) == 2 && path[0] == 8:
				h.v2 = true
				switch path[1] {
				case 5, 6:
					h.levels += v
				case 7:
					h.v2Compressed = v != 0
				}
			}
		})
		if err == nil {
			return h, used, nil
		}
		if n == end-pos || want >= 16<<20 {
			return h, 0, fmt.Errorf("bad page header: %w", err)
		}
	}
}

// checkCodecSizes checks the sizes that a compressed page's codec takes from the page
// itself: snappy's decoded length and zstd's frame sizes and windows must be within limit
// (their decoders allocate them); gzip and brotli decode into the page's uncompressed size,
// which must then be set.
func checkCodecSizes(ra *countingReaderAt, off, n, uncompressed int64, codec compress.Compression, limit int64) error {
	switch codec {
	case compress.Codecs.Snappy:
		var b [binary.MaxVarintLen64]byte
		m, _ := ra.ReadAt(b[:min(n, int64(len(b)))], off)
		dlen, k := binary.Uvarint(b[:m])
		if k <= 0 {
			return errors.New("corrupt snappy page")
		}
		if dlen > uint64(limit) {
			return fmt.Errorf("the snappy page declares %d bytes decoded, more than SourceOptions.MaxRowGroupBytes %d", dlen, limit)
		}
	case compress.Codecs.Zstd:
		return checkZstdSizes(ra, off, n, limit)
	case compress.Codecs.Gzip, compress.Codecs.Brotli:
		if uncompressed == 0 && n > 0 {
			return errors.New("the compressed page declares 0 bytes uncompressed: file is corrupt")
		}
	}
	return nil
}

// checkZstdSizes walks the zstd frames of n bytes at off and bounds what decoding them may
// allocate: each frame's declared content size (or, where none is declared, its blocks'
// largest output) and window, summed over the frames, must be within limit.
func checkZstdSizes(ra *countingReaderAt, off, n, limit int64) error {
	end := off + n
	var total int64
	read := func(p []byte, at int64) error {
		if at+int64(len(p)) > end {
			return errors.New("corrupt zstd page: a frame runs past the page")
		}
		_, err := ra.ReadAt(p, at)
		return err
	}
	var b [14]byte
	for pos := off; pos < end; {
		if err := read(b[:4], pos); err != nil {
			return err
		}
		magic := binary.LittleEndian.Uint32(b[:4])
		if magic&0xfffffff0 == 0x184d2a50 { // skippable frame
			if err := read(b[:4], pos+4); err != nil {
				return err
			}
			pos += 8 + int64(binary.LittleEndian.Uint32(b[:4]))
			continue
		}
		if magic != 0xfd2fb528 {
			return errors.New("corrupt zstd page: not a zstd frame")
		}
		if err := read(b[:1], pos+4); err != nil {
			return err
		}
		fhd := b[0]
		single := fhd>>5&1 == 1
		fcsLen := [4]int64{0, 2, 4, 8}[fhd>>6]
		if fhd>>6 == 0 && single {
			fcsLen = 1
		}
		dictLen := [4]int64{0, 1, 2, 4}[fhd&3]
		p := pos + 5
		var window int64
		if !single {
			if err := read(b[:1], p); err != nil {
				return err
			}
			exp, mant := int64(b[0]>>3), int64(b[0]&7)
			base := int64(1) << (10 + exp)
			window = base + base/8*mant
			p++
		}
		p += dictLen
		fcs := int64(-1)
		if fcsLen > 0 {
			if err := read(b[:fcsLen], p); err != nil {
				return err
			}
			var v uint64
			for i := fcsLen - 1; i >= 0; i-- {
				v = v<<8 | uint64(b[i])
			}
			if fcsLen == 2 {
				v += 256
			}
			if v > uint64(limit) {
				return fmt.Errorf("the zstd page declares %d bytes decoded, more than SourceOptions.MaxRowGroupBytes %d", v, limit)
			}
			fcs = int64(v)
			p += fcsLen
		}
		if window > limit {
			return fmt.Errorf("the zstd page declares a %d-byte window, more than SourceOptions.MaxRowGroupBytes %d", window, limit)
		}
		var out int64
		for last := false; !last; {
			if err := read(b[:3], p); err != nil {
				return err
			}
			bh := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
			last = bh&1 == 1
			size := int64(bh >> 3)
			p += 3
			switch (bh >> 1) & 3 {
			case 0: // raw
				out += size
				p += size
			case 1: // run length
				out += size
				p++
			case 2: // compressed: at most 128 KiB out
				out += 128 << 10
				p += size
			default:
				return errors.New("corrupt zstd page: reserved block type")
			}
			if p > end {
				return errors.New("corrupt zstd page: a block runs past the page")
			}
		}
		if fhd>>2&1 == 1 {
			p += 4 // checksum
		}
		if fcs >= 0 {
			out = fcs
		}
		if total += out; total > limit {
			return fmt.Errorf("the zstd page may decode to %d bytes, more than SourceOptions.MaxRowGroupBytes %d", total, limit)
		}
		pos = p
	}
	return nil
}

// walkThrift walks one Thrift struct in the compact encoding at the start of buf, checking
// that no list, set or map declares more elements than bytes are left, and calls visit (if
// not nil) with the field path and value of each integer and bool field, and with the path
// of each list followed by -1 and its length. It returns the number of bytes the struct
// takes.
func walkThrift(buf []byte, visit func(path []int16, v int64)) (int64, error) {
	mb := &thrift.TMemoryBuffer{Buffer: bytes.NewBuffer(buf)}
	p := thrift.NewTCompactProtocolConf(mb, &thrift.TConfiguration{MaxMessageSize: int32(min(int64(len(buf)), 1<<31-1))})
	w := &thriftWalker{p: p, mb: mb, visit: visit}
	if err := w.value(thrift.STRUCT, nil, 0); err != nil {
		return 0, err
	}
	return int64(len(buf)) - int64(mb.Len()), nil
}

type thriftWalker struct {
	p     *thrift.TCompactProtocol
	mb    *thrift.TMemoryBuffer
	visit func([]int16, int64)
}

func (w *thriftWalker) count(n int) error {
	if n < 0 || n > w.mb.Len() {
		return fmt.Errorf("a list declares %d elements with %d bytes left", n, w.mb.Len())
	}
	return nil
}

func (w *thriftWalker) value(typ thrift.TType, path []int16, depth int) error {
	ctx := context.Background()
	if depth > 32 {
		return errors.New("nested too deeply")
	}
	report := func(v int64, err error) error {
		if err == nil && w.visit != nil {
			w.visit(path, v)
		}
		return err
	}
	switch typ {
	case thrift.STRUCT:
		if _, err := w.p.ReadStructBegin(ctx); err != nil {
			return err
		}
		for {
			_, ft, id, err := w.p.ReadFieldBegin(ctx)
			if err != nil {
				return err
			}
			if ft == thrift.STOP {
				break
			}
			if err := w.value(ft, append(path[:len(path):len(path)], id), depth+1); err != nil {
				return err
			}
			if err := w.p.ReadFieldEnd(ctx); err != nil {
				return err
			}
		}
		return w.p.ReadStructEnd(ctx)
	case thrift.LIST, thrift.SET:
		et, n, err := w.p.ReadListBegin(ctx)
		if err != nil {
			return err
		}
		if err := w.count(n); err != nil {
			return err
		}
		if w.visit != nil {
			w.visit(append(path[:len(path):len(path)], -1), int64(n)) // the list's length
		}
		for i := 0; i < n; i++ {
			if err := w.value(et, path, depth+1); err != nil {
				return err
			}
		}
		return w.p.ReadListEnd(ctx)
	case thrift.MAP:
		kt, vt, n, err := w.p.ReadMapBegin(ctx)
		if err != nil {
			return err
		}
		if err := w.count(n); err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			if err := w.value(kt, path, depth+1); err != nil {
				return err
			}
			if err := w.value(vt, path, depth+1); err != nil {
				return err
			}
		}
		return w.p.ReadMapEnd(ctx)
	case thrift.BOOL:
		v, err := w.p.ReadBool(ctx)
		b := int64(0)
		if v {
			b = 1
		}
		return report(b, err)
	case thrift.BYTE:
		v, err := w.p.ReadByte(ctx)
		return report(int64(v), err)
	case thrift.I16:
		v, err := w.p.ReadI16(ctx)
		return report(int64(v), err)
	case thrift.I32:
		v, err := w.p.ReadI32(ctx)
		return report(int64(v), err)
	case thrift.I64:
		v, err := w.p.ReadI64(ctx)
		return report(v, err)
	case thrift.DOUBLE:
		_, err := w.p.ReadDouble(ctx)
		return err
	case thrift.STRING:
		_, err := w.p.ReadBinary(ctx)
		return err
	}
	return fmt.Errorf("unknown Thrift type %d", typ)
}
