package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The Arrow library decodes an IPC message's flatbuffer without checking it: a vector's
// length read from the file becomes the size of a slice it makes (a schema's fields, a
// field's children, custom metadata), and a field's children may point back at shared
// tables, so that decoding them repeats without end. verifyMessage checks, before the library
// sees a message, that every table, vector and string it will read lies inside the buffer,
// and that the schema is a tree of bounded size.

// fbVerifier walks one flatbuffer.
type fbVerifier struct {
	b      []byte
	visits int // tables visited, bounded by the buffer's size
}

var errFlatbuffer = errors.New("corrupt message metadata")

func (v *fbVerifier) u32(pos int) (int, error) {
	if pos < 0 || pos+4 > len(v.b) {
		return 0, errFlatbuffer
	}
	return int(binary.LittleEndian.Uint32(v.b[pos:])), nil
}

// table checks the table at pos and its vtable, and returns a function that gives the
// position of field i (0 if absent).
func (v *fbVerifier) table(pos int) (func(i int) int, error) {
	if v.visits++; v.visits > len(v.b)/4+16 {
		return nil, fmt.Errorf("%w: more tables than the metadata can hold", errFlatbuffer)
	}
	if pos < 0 || pos+4 > len(v.b) {
		return nil, errFlatbuffer
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(v.b[pos:])))
	if vt < 0 || vt+4 > len(v.b) {
		return nil, errFlatbuffer
	}
	vsize := int(binary.LittleEndian.Uint16(v.b[vt:]))
	tsize := int(binary.LittleEndian.Uint16(v.b[vt+2:]))
	if vsize < 4 || vt+vsize > len(v.b) || pos+tsize > len(v.b) {
		return nil, errFlatbuffer
	}
	return func(i int) int {
		if 4+2*i+2 > vsize {
			return 0
		}
		off := int(binary.LittleEndian.Uint16(v.b[vt+4+2*i:]))
		if off == 0 {
			return 0
		}
		return pos + off
	}, nil
}

// ref follows the offset stored at field position f (0: absent) and returns the target.
func (v *fbVerifier) ref(f int) (int, error) {
	if f == 0 {
		return 0, nil
	}
	off, err := v.u32(f)
	if err != nil {
		return 0, err
	}
	if f+off >= len(v.b) {
		return 0, errFlatbuffer
	}
	return f + off, nil
}

// vector checks the vector referenced at field position f, of elements of size elem, and
// returns the position of its first element and its length.
func (v *fbVerifier) vector(f, elem int) (int, int, error) {
	p, err := v.ref(f)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	n, err := v.u32(p)
	if err != nil {
		return 0, 0, err
	}
	if n > (len(v.b)-p-4)/elem {
		return 0, 0, fmt.Errorf("%w: a vector declares %d elements in %d bytes", errFlatbuffer, n, len(v.b)-p-4)
	}
	return p + 4, n, nil
}

// tables checks a vector of tables at field position f with check.
func (v *fbVerifier) tables(f int, check func(pos int) error) error {
	start, n, err := v.vector(f, 4)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		p, err := v.ref(start + 4*i)
		if err != nil {
			return err
		}
		if err := check(p); err != nil {
			return err
		}
	}
	return nil
}

func (v *fbVerifier) keyValues(f int) error {
	return v.tables(f, func(pos int) error {
		field, err := v.table(pos)
		if err != nil {
			return err
		}
		for _, i := range []int{0, 1} { // key, value
			if _, _, err := v.vector(field(i), 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// schema checks a Schema table: its fields (recursively), metadata and features.
func (v *fbVerifier) schema(pos int) error {
	field, err := v.table(pos)
	if err != nil {
		return err
	}
	if err := v.tables(field(1), func(p int) error { return v.field(p, 0) }); err != nil {
		return err
	}
	if err := v.keyValues(field(2)); err != nil {
		return err
	}
	_, _, err = v.vector(field(3), 8)
	return err
}

// field checks a Field table.
func (v *fbVerifier) field(pos, depth int) error {
	if depth > 64 {
		return fmt.Errorf("%w: fields nested too deeply", errFlatbuffer)
	}
	field, err := v.table(pos)
	if err != nil {
		return err
	}
	if _, _, err := v.vector(field(0), 1); err != nil { // name
		return err
	}
	if t, err := v.ref(field(3)); err != nil { // type
		return err
	} else if t != 0 {
		tf, err := v.table(t)
		if err != nil {
			return err
		}
		switch v.fieldType(field(2)) {
		case 10: // Timestamp: its time zone
			_, _, err = v.vector(tf(1), 1)
		case 14: // Union: its type ids
			_, _, err = v.vector(tf(1), 4)
		}
		if err != nil {
			return err
		}
	}
	if d, err := v.ref(field(4)); err != nil { // dictionary
		return err
	} else if d != 0 {
		df, err := v.table(d)
		if err != nil {
			return err
		}
		if it, err := v.ref(df(1)); err != nil { // indexType
			return err
		} else if it != 0 {
			if _, err := v.table(it); err != nil {
				return err
			}
		}
	}
	if err := v.tables(field(5), func(p int) error { return v.field(p, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(field(6))
}

// fieldType reads a Field's type_type byte at field position f.
func (v *fbVerifier) fieldType(f int) int {
	if f == 0 || f >= len(v.b) {
		return 0
	}
	return int(v.b[f])
}

// recordBatch checks a RecordBatch table.
func (v *fbVerifier) recordBatch(pos int) error {
	field, err := v.table(pos)
	if err != nil {
		return err
	}
	if _, _, err := v.vector(field(1), 16); err != nil { // nodes
		return err
	}
	_, buffers, err := v.vector(field(2), 16) // buffers
	if err != nil {
		return err
	}
	if c, err := v.ref(field(3)); err != nil { // compression
		return err
	} else if c != 0 {
		if _, err := v.table(c); err != nil {
			return err
		}
	}
	// Variadic buffer counts (string and binary views): the library makes a slice of each
	// count, and the buffers they count are among the batch's.
	start, n, err := v.vector(field(4), 8)
	if err != nil {
		return err
	}
	total := int64(0)
	for i := 0; i < n; i++ {
		c := int64(binary.LittleEndian.Uint64(v.b[start+8*i:]))
		if c < 0 || c > int64(buffers) || total+c > int64(buffers) {
			return fmt.Errorf("%w: %d variadic buffers declared for a batch of %d buffers", errFlatbuffer, c, buffers)
		}
		total += c
	}
	return nil
}

// verifyMessage checks the flatbuffer of one Arrow IPC Message.
func verifyMessage(meta []byte) error {
	v := &fbVerifier{b: meta}
	root, err := v.u32(0)
	if err != nil {
		return err
	}
	field, err := v.table(root)
	if err != nil {
		return err
	}
	if err := v.keyValues(field(4)); err != nil {
		return err
	}
	h, err := v.ref(field(2))
	if err != nil || h == 0 {
		return err
	}
	switch v.fieldType(field(1)) {
	case 1: // Schema
		return v.schema(h)
	case 2: // DictionaryBatch
		df, err := v.table(h)
		if err != nil {
			return err
		}
		rb, err := v.ref(df(1))
		if err != nil || rb == 0 {
			return err
		}
		return v.recordBatch(rb)
	case 3: // RecordBatch
		return v.recordBatch(h)
	}
	return fmt.Errorf("unsupported message type %d (not a schema, dictionary or record batch)", v.fieldType(field(1)))
}

// ipcBlock is a Block of an Arrow IPC file's footer: where a message lies.
type ipcBlock struct {
	offset int64
	meta   int32
	body   int64
}

// verifyFooter checks the flatbuffer of an Arrow IPC file's footer (its schema, as
// verifyMessage does a message's) and returns its dictionary and record batch blocks.
func verifyFooter(buf []byte) (dicts, batches []ipcBlock, err error) {
	v := &fbVerifier{b: buf}
	root, err := v.u32(0)
	if err != nil {
		return nil, nil, err
	}
	field, err := v.table(root)
	if err != nil {
		return nil, nil, err
	}
	if s, err := v.ref(field(1)); err != nil {
		return nil, nil, err
	} else if s != 0 {
		if err := v.schema(s); err != nil {
			return nil, nil, err
		}
	}
	blocks := func(f int) ([]ipcBlock, error) {
		start, n, err := v.vector(f, 24)
		if err != nil {
			return nil, err
		}
		out := make([]ipcBlock, n)
		for i := range out {
			p := start + 24*i
			out[i] = ipcBlock{
				offset: int64(binary.LittleEndian.Uint64(buf[p:])),
				meta:   int32(binary.LittleEndian.Uint32(buf[p+8:])),
				body:   int64(binary.LittleEndian.Uint64(buf[p+16:])),
			}
		}
		return out, nil
	}
	if dicts, err = blocks(field(2)); err != nil {
		return nil, nil, err
	}
	if batches, err = blocks(field(3)); err != nil {
		return nil, nil, err
	}
	return dicts, batches, v.keyValues(field(4))
}
