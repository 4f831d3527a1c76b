// Package arrowfb reads Arrow IPC flatbuffers (File.fbs Footer and Block, Message.fbs Message,
// Schema, Field, RecordBatch, ...) with every offset checked against the bytes, so that kiln
// can check what a file declares before it lets the Arrow library near it: a corrupt table
// gives an error, never a panic or a read outside the buffer. shards/ reads its shards'
// footers and record batches with it, pipeline/ the Arrow files it is given as input.
package arrowfb

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is returned, wrapped, for a flatbuffer whose offsets or lengths do not fit its
// bytes.
var ErrCorrupt = errors.New("corrupt flatbuffer")

// Table is one flatbuffer table whose vtable and inline fields were checked to lie inside b.
type Table struct {
	b   []byte
	pos int
	vt  int // its vtable
	vn  int // its vtable's size in bytes
}

// U32 reads the little-endian uint32 at b[at:].
func U32(b []byte, at int) (uint32, error) {
	if at < 0 || at > len(b)-4 {
		return 0, ErrCorrupt
	}
	return binary.LittleEndian.Uint32(b[at:]), nil
}

// LE64 reads the little-endian int64 at b[at:]; the caller has checked that it is inside b
// (an element of a slice Vector returned).
func LE64(b []byte, at int) int64 { return int64(binary.LittleEndian.Uint64(b[at:])) }

// Root returns the root table of a flatbuffer.
func Root(b []byte) (Table, error) {
	off, err := U32(b, 0)
	if err != nil {
		return Table{}, err
	}
	return At(b, int64(off))
}

// At returns the table at pos of b, after checking that it, its vtable and its inline fields
// lie inside b.
func At(b []byte, pos int64) (Table, error) {
	if pos < 0 || pos > int64(len(b))-4 {
		return Table{}, ErrCorrupt
	}
	vt := pos - int64(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || vt > int64(len(b))-4 {
		return Table{}, ErrCorrupt
	}
	vn := int(binary.LittleEndian.Uint16(b[vt:]))
	tn := int(binary.LittleEndian.Uint16(b[vt+2:]))
	if vn < 4 || vt+int64(vn) > int64(len(b)) || pos+int64(tn) > int64(len(b)) {
		return Table{}, ErrCorrupt
	}
	return Table{b: b, pos: int(pos), vt: int(vt), vn: vn}, nil
}

// Bytes returns the flatbuffer that holds t.
func (t Table) Bytes() []byte { return t.b }

// Field returns the position in Bytes of field i of t, or 0 when it is absent.
func (t Table) Field(i int) int {
	slot := 4 + 2*i
	if slot+2 > t.vn {
		return 0
	}
	off := int(binary.LittleEndian.Uint16(t.b[t.vt+slot:]))
	if off == 0 {
		return 0
	}
	return t.pos + off
}

// Int64 reads the scalar long field i (def when absent).
func (t Table) Int64(i int, def int64) (int64, error) {
	p := t.Field(i)
	if p == 0 {
		return def, nil
	}
	if p > len(t.b)-8 {
		return 0, ErrCorrupt
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), nil
}

// Uint8 reads the scalar byte field i (def when absent): a union's type, an enum.
func (t Table) Uint8(i int, def uint8) (uint8, error) {
	p := t.Field(i)
	if p == 0 {
		return def, nil
	}
	if p >= len(t.b) {
		return 0, ErrCorrupt
	}
	return t.b[p], nil
}

// Ref follows the offset stored in field i to its target, or returns 0 when it is absent.
func (t Table) Ref(i int) (int64, error) {
	p := t.Field(i)
	if p == 0 {
		return 0, nil
	}
	off, err := U32(t.b, p)
	if err != nil {
		return 0, err
	}
	return int64(p) + int64(off), nil
}

// Table returns the sub-table in field i; ok is false when it is absent.
func (t Table) Table(i int) (Table, bool, error) {
	p, err := t.Ref(i)
	if err != nil || p == 0 {
		return Table{}, false, err
	}
	s, err := At(t.b, p)
	return s, err == nil, err
}

// Vector returns the bytes of the vector in field i, of elements of elemSize bytes (a
// string's bytes, structs, or offsets), and its length: nil and 0 when it is absent.
func (t Table) Vector(i, elemSize int) ([]byte, int, error) {
	start, n, err := t.vector(i, elemSize)
	if err != nil || n == 0 {
		return nil, 0, err
	}
	return t.b[start : start+int64(n)*int64(elemSize)], n, nil
}

func (t Table) vector(i, elemSize int) (int64, int, error) {
	p, err := t.Ref(i)
	if err != nil || p == 0 {
		return 0, 0, err
	}
	n, err := U32(t.b, int(min(p, int64(len(t.b)))))
	if err != nil {
		return 0, 0, err
	}
	start := p + 4
	if int64(n) > (int64(len(t.b))-start)/int64(elemSize) {
		return 0, 0, fmt.Errorf("%w: vector of %d elements runs past the end", ErrCorrupt, n)
	}
	return start, int(n), nil
}

// Tables returns the positions of the tables (or strings) that the vector of offsets in
// field i points to; nil when it is absent. They are not checked: At checks a table.
func (t Table) Tables(i int) ([]int64, error) {
	start, n, err := t.vector(i, 4)
	if err != nil || n == 0 {
		return nil, err
	}
	out := make([]int64, n)
	for k := range out {
		at := start + 4*int64(k)
		out[k] = at + int64(binary.LittleEndian.Uint32(t.b[at:]))
	}
	return out, nil
}

// CheckKeyValues checks that the key and value strings of each KeyValue table (custom
// metadata) at the positions ps lie inside b.
func CheckKeyValues(b []byte, ps []int64) error {
	for _, p := range ps {
		kv, err := At(b, p)
		if err != nil {
			return err
		}
		for i := range 2 {
			if _, _, err := kv.Vector(i, 1); err != nil {
				return err
			}
		}
	}
	return nil
}
