package pipeline

import (
	"encoding/binary"
	"fmt"

	"github.com/kiln-bert/kiln/internal/arrowfb"
)

// The Arrow library decodes an IPC message's flatbuffer without checking it: a vector's
// length read from the file becomes the size of a slice it makes (a schema's fields, a
// field's children, custom metadata), and a field's children may point back at shared
// tables, so that decoding them repeats without end. verifyMessage checks, before the library
// sees a message, that every table, vector and string it will read lies inside the buffer,
// and that the schema is a tree of bounded size.

// fbVerifier walks one flatbuffer (with internal/arrowfb), counting the tables it visits.
type fbVerifier struct {
	b      []byte
	visits int // tables visited, bounded by the buffer's size
}

// table checks the table at pos.
func (v *fbVerifier) table(pos int64) (arrowfb.Table, error) {
	if v.visits++; v.visits > len(v.b)/4+16 {
		return arrowfb.Table{}, fmt.Errorf("%w: more tables than the metadata can hold", arrowfb.ErrCorrupt)
	}
	return arrowfb.At(v.b, pos)
}

// sub checks the sub-table in field i of t, if present.
func (v *fbVerifier) sub(t arrowfb.Table, i int) (arrowfb.Table, bool, error) {
	p, err := t.Ref(i)
	if err != nil || p == 0 {
		return arrowfb.Table{}, false, err
	}
	s, err := v.table(p)
	return s, err == nil, err
}

// tables checks each table of the vector in field i of t with check.
func (v *fbVerifier) tables(t arrowfb.Table, i int, check func(arrowfb.Table) error) error {
	ps, err := t.Tables(i)
	if err != nil {
		return err
	}
	for _, p := range ps {
		s, err := v.table(p)
		if err != nil {
			return err
		}
		if err := check(s); err != nil {
			return err
		}
	}
	return nil
}

// keyValues checks the custom metadata in field i of t.
func (v *fbVerifier) keyValues(t arrowfb.Table, i int) error {
	return v.tables(t, i, func(kv arrowfb.Table) error {
		for _, f := range []int{0, 1} { // key, value
			if _, _, err := kv.Vector(f, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// schema checks a Schema table: its fields (recursively), metadata and features.
func (v *fbVerifier) schema(s arrowfb.Table) error {
	if err := v.tables(s, 1, func(f arrowfb.Table) error { return v.field(f, 0) }); err != nil {
		return err
	}
	if err := v.keyValues(s, 2); err != nil {
		return err
	}
	_, _, err := s.Vector(3, 8)
	return err
}

// field checks a Field table.
func (v *fbVerifier) field(f arrowfb.Table, depth int) error {
	if depth > 64 {
		return fmt.Errorf("%w: fields nested too deeply", arrowfb.ErrCorrupt)
	}
	if _, _, err := f.Vector(0, 1); err != nil { // name
		return err
	}
	if tf, ok, err := v.sub(f, 3); err != nil { // type
		return err
	} else if ok {
		typ, err := f.Uint8(2, 0)
		if err != nil {
			return err
		}
		switch typ {
		case 10: // Timestamp: its time zone
			_, _, err = tf.Vector(1, 1)
		case 14: // Union: its type ids
			_, _, err = tf.Vector(1, 4)
		}
		if err != nil {
			return err
		}
	}
	if d, ok, err := v.sub(f, 4); err != nil { // dictionary
		return err
	} else if ok {
		if _, _, err := v.sub(d, 1); err != nil { // indexType
			return err
		}
	}
	if err := v.tables(f, 5, func(c arrowfb.Table) error { return v.field(c, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(f, 6)
}

// recordBatch checks a RecordBatch table.
func (v *fbVerifier) recordBatch(rb arrowfb.Table) error {
	if _, _, err := rb.Vector(1, 16); err != nil { // nodes
		return err
	}
	_, buffers, err := rb.Vector(2, 16) // buffers
	if err != nil {
		return err
	}
	if _, _, err := v.sub(rb, 3); err != nil { // compression
		return err
	}
	// Variadic buffer counts (string and binary views): the library makes a slice of each
	// count, and the buffers they count are among the batch's.
	counts, n, err := rb.Vector(4, 8)
	if err != nil {
		return err
	}
	total := int64(0)
	for i := 0; i < n; i++ {
		c := arrowfb.LE64(counts, 8*i)
		if c < 0 || c > int64(buffers) || total+c > int64(buffers) {
			return fmt.Errorf("%w: %d variadic buffers declared for a batch of %d buffers", arrowfb.ErrCorrupt, c, buffers)
		}
		total += c
	}
	return nil
}

// verifyMessage checks the flatbuffer of one Arrow IPC Message.
func verifyMessage(meta []byte) error {
	v := &fbVerifier{b: meta}
	root, err := arrowfb.U32(meta, 0)
	if err != nil {
		return err
	}
	msg, err := v.table(int64(root))
	if err != nil {
		return err
	}
	if err := v.keyValues(msg, 4); err != nil {
		return err
	}
	h, ok, err := v.sub(msg, 2)
	if err != nil || !ok {
		return err
	}
	typ, err := msg.Uint8(1, 0)
	if err != nil {
		return err
	}
	switch typ {
	case 1: // Schema
		return v.schema(h)
	case 2: // DictionaryBatch
		rb, ok, err := v.sub(h, 1)
		if err != nil || !ok {
			return err
		}
		return v.recordBatch(rb)
	case 3: // RecordBatch
		return v.recordBatch(h)
	}
	return fmt.Errorf("unsupported message type %d (not a schema, dictionary or record batch)", typ)
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
	root, err := arrowfb.U32(buf, 0)
	if err != nil {
		return nil, nil, err
	}
	footer, err := v.table(int64(root))
	if err != nil {
		return nil, nil, err
	}
	if s, ok, err := v.sub(footer, 1); err != nil {
		return nil, nil, err
	} else if ok {
		if err := v.schema(s); err != nil {
			return nil, nil, err
		}
	}
	blocks := func(i int) ([]ipcBlock, error) {
		vec, n, err := footer.Vector(i, 24)
		if err != nil {
			return nil, err
		}
		out := make([]ipcBlock, n)
		for k := range out {
			p := 24 * k
			out[k] = ipcBlock{
				offset: arrowfb.LE64(vec, p),
				meta:   int32(binary.LittleEndian.Uint32(vec[p+8:])),
				body:   arrowfb.LE64(vec, p+16),
			}
		}
		return out, nil
	}
	if dicts, err = blocks(2); err != nil {
		return nil, nil, err
	}
	if batches, err = blocks(3); err != nil {
		return nil, nil, err
	}
	return dicts, batches, v.keyValues(footer, 4)
}
