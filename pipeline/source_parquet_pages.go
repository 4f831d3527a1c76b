package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/apache/arrow/go/v15/parquet/file"
)

// kiln decodes the pages of a Parquet text column itself (the Arrow library reads and
// decompresses them): Arrow v15's column reader loops forever on a page whose levels or
// dictionary indices decode to fewer values than the page declares. The encodings are those
// that Parquet writers use for strings: PLAIN and dictionary (RLE_DICTIONARY,
// PLAIN_DICTIONARY) values, RLE definition levels.

// Parquet encodings (parquet.thrift).
const (
	encPlain     = 0
	encPlainDict = 2
	encRLE       = 3
	encRLEDict   = 8
)

// rleReader decodes Parquet's RLE / bit-packed hybrid encoding.
type rleReader struct {
	b        []byte
	width    int
	run      int    // values left in the current RLE run
	value    uint32 // the RLE run's value
	packed   int    // values left in the current bit-packed run
	bitPos   int    // next bit of the bit-packed run, from b's start
	consumed bool
}

var errRLE = errors.New("corrupt RLE/bit-packed data")

// next returns the next value.
func (r *rleReader) next() (uint32, error) {
	for r.run == 0 && r.packed == 0 {
		h, n := binary.Uvarint(r.b)
		if n <= 0 {
			return 0, errRLE
		}
		r.b = r.b[n:]
		if h&1 == 0 {
			r.run = int(min(h>>1, 1<<31))
			nb := (r.width + 7) / 8
			if r.run == 0 || len(r.b) < nb {
				return 0, errRLE
			}
			var v uint32
			for i := nb - 1; i >= 0; i-- {
				v = v<<8 | uint32(r.b[i])
			}
			if r.width < 32 && v >= 1<<r.width {
				return 0, errRLE
			}
			r.value, r.b = v, r.b[nb:]
		} else {
			groups := h >> 1
			if groups == 0 || groups > 1<<28 {
				return 0, errRLE
			}
			r.packed, r.bitPos = int(groups)*8, 0
			if int(groups)*r.width > len(r.b) {
				// A writer may end the last run early: decode what the bytes hold.
				r.packed = len(r.b) * 8 / r.width
				if r.packed == 0 {
					return 0, errRLE
				}
			}
		}
	}
	if r.run > 0 {
		r.run--
		return r.value, nil
	}
	var v uint32
	for i := 0; i < r.width; i++ {
		p := r.bitPos + i
		v |= uint32(r.b[p/8]>>(p%8)&1) << i
	}
	r.bitPos += r.width
	if r.packed--; r.packed == 0 {
		r.b = r.b[(r.bitPos+7)/8:]
	}
	return v, nil
}

// parquetPages decodes the pages of one column chunk of a string column.
type parquetPages struct {
	maxDef int16
	dict   [][]byte // the dictionary page's values (copied)
}

// readPages hands the rows of the column chunk that pr reads to add, page by page, and
// returns the number of rows. before is the number of rows of the file before the chunk (for
// errors).
func (pp *parquetPages) readPages(pr file.PageReader, before int64, add func(text []byte, null bool) error) (int64, error) {
	var rows int64
	for pr.Next() {
		switch p := pr.Page().(type) {
		case *file.DictionaryPage:
			if pp.dict != nil {
				return rows, errors.New("a second dictionary page")
			}
			if int(p.Encoding()) != encPlain && int(p.Encoding()) != encPlainDict {
				return rows, fmt.Errorf("dictionary page encoding %s is not supported (want PLAIN)", encodingName(int(p.Encoding())))
			}
			data := append([]byte(nil), p.Data()...)
			n := int(p.NumValues())
			if n < 0 || n > len(data)/4 {
				return rows, fmt.Errorf("the dictionary page declares %d values in %d bytes", n, len(data))
			}
			pp.dict = make([][]byte, 0, n)
			for i := 0; i < n; i++ {
				v, rest, err := plainValue(data)
				if err != nil {
					return rows, fmt.Errorf("dictionary value %d: %w", i, err)
				}
				pp.dict, data = append(pp.dict, v), rest
			}
		case *file.DataPageV1:
			data := p.Data()
			var defs []byte
			if pp.maxDef > 0 {
				if p.DefinitionLevelEncoding() != encRLE {
					return rows, fmt.Errorf("definition level encoding %s is not supported (want RLE)", encodingName(int(p.DefinitionLevelEncoding())))
				}
				if len(data) < 4 {
					return rows, errRLE
				}
				n := int(binary.LittleEndian.Uint32(data))
				if n < 0 || n > len(data)-4 {
					return rows, fmt.Errorf("the page's levels declare %d bytes in %d", n, len(data)-4)
				}
				defs, data = data[4:4+n], data[4+n:]
			}
			n, err := pp.page(int(p.NumValues()), int(p.Encoding()), defs, data, before+rows, add)
			rows += n
			if err != nil {
				return rows, err
			}
		case *file.DataPageV2:
			data := p.Data()
			rl, dl := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
			if rl != 0 || dl < 0 || dl > len(data) {
				return rows, fmt.Errorf("the page declares %d and %d bytes of levels in %d", rl, dl, len(data))
			}
			n, err := pp.page(int(p.NumValues()), int(p.Encoding()), data[:dl], data[dl:], before+rows, add)
			rows += n
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, pr.Err()
}

// page decodes one data page of n rows: defs holds its definition levels (nil for a
// required column), data its values.
func (pp *parquetPages) page(n, enc int, defs, data []byte, row int64, add func([]byte, bool) error) (int64, error) {
	if n < 0 {
		return 0, errors.New("negative value count")
	}
	var levels *rleReader
	if pp.maxDef > 0 {
		levels = &rleReader{b: defs, width: bits.Len16(uint16(pp.maxDef))}
	}
	var indexes *rleReader
	switch enc {
	case encPlain:
	case encRLEDict, encPlainDict:
		if pp.dict == nil {
			return 0, errors.New("a dictionary-encoded page without a dictionary page")
		}
		if len(data) < 1 || data[0] > 32 {
			return 0, errRLE
		}
		indexes = &rleReader{b: data[1:], width: int(data[0])}
	default:
		return 0, fmt.Errorf("value encoding %s is not supported (want PLAIN or RLE_DICTIONARY)", encodingName(enc))
	}
	for i := 0; i < n; i++ {
		if levels != nil {
			d, err := levels.next()
			if err != nil {
				return int64(i), fmt.Errorf("row %d: definition levels: %w", row+int64(i)+1, err)
			}
			if int16(d) < pp.maxDef {
				if err := add(nil, true); err != nil {
					return int64(i), err
				}
				continue
			}
		}
		var v []byte
		if indexes != nil {
			k, err := indexes.next()
			if err != nil {
				return int64(i), fmt.Errorf("row %d: dictionary index: %w", row+int64(i)+1, err)
			}
			if int(k) >= len(pp.dict) {
				return int64(i), fmt.Errorf("row %d: dictionary index %d of %d values", row+int64(i)+1, k, len(pp.dict))
			}
			v = pp.dict[k]
		} else {
			var err error
			if v, data, err = plainValue(data); err != nil {
				return int64(i), fmt.Errorf("row %d: %w", row+int64(i)+1, err)
			}
		}
		if err := add(v, false); err != nil {
			return int64(i), err
		}
	}
	return int64(n), nil
}

// plainValue splits the first PLAIN byte array (a 4-byte length, then the bytes) off b.
func plainValue(b []byte) (v, rest []byte, err error) {
	if len(b) < 4 {
		return nil, nil, errors.New("a value runs past its page")
	}
	n := int64(binary.LittleEndian.Uint32(b))
	if n > int64(len(b)-4) {
		return nil, nil, fmt.Errorf("a value declares %d bytes, %d left in its page", n, len(b)-4)
	}
	return b[4 : 4+n], b[4+n:], nil
}

// encodingName names a Parquet encoding, for errors.
func encodingName(e int) string {
	names := map[int]string{
		encPlain: "PLAIN", encPlainDict: "PLAIN_DICTIONARY", encRLE: "RLE", 4: "BIT_PACKED",
		5: "DELTA_BINARY_PACKED", 6: "DELTA_LENGTH_BYTE_ARRAY", 7: "DELTA_BYTE_ARRAY",
		encRLEDict: "RLE_DICTIONARY", 9: "BYTE_STREAM_SPLIT",
	}
	if n, ok := names[e]; ok {
		return n
	}
	return fmt.Sprintf("%d", e)
}
