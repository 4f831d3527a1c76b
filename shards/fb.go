package shards

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file reads the few Arrow IPC flatbuffer tables kiln checks before it lets the Arrow
// library near a shard (File.fbs Footer and Block, Message.fbs Message, RecordBatch,
// FieldNode, Buffer and BodyCompression), with every offset checked against the bytes: a
// corrupt table gives an error, never a panic or a read outside the buffer.

var errFlatbuffer = errors.New("corrupt flatbuffer")

// fbTable is one flatbuffer table: the bytes that hold it and its position in them.
type fbTable struct {
	b   []byte
	pos int
}

func fbU32(b []byte, at int) (uint32, error) {
	if at < 0 || at > len(b)-4 {
		return 0, errFlatbuffer
	}
	return binary.LittleEndian.Uint32(b[at:]), nil
}

// fbRoot returns the root table of a flatbuffer.
func fbRoot(b []byte) (fbTable, error) {
	off, err := fbU32(b, 0)
	if err != nil {
		return fbTable{}, err
	}
	return fbAt(b, int64(off))
}

func fbAt(b []byte, pos int64) (fbTable, error) {
	if pos < 0 || pos > int64(len(b))-4 {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{b: b, pos: int(pos)}, nil
}

// field returns the position of field i in the table, or 0 when it is absent.
func (t fbTable) field(i int) (int, error) {
	soff, err := fbU32(t.b, t.pos)
	if err != nil {
		return 0, err
	}
	vt := int64(t.pos) - int64(int32(soff))
	if vt < 0 || vt > int64(len(t.b))-4 {
		return 0, errFlatbuffer
	}
	vlen := int(binary.LittleEndian.Uint16(t.b[vt:]))
	slot := 4 + 2*i
	if slot+2 > vlen {
		return 0, nil
	}
	if int(vt)+slot+2 > len(t.b) {
		return 0, errFlatbuffer
	}
	off := int(binary.LittleEndian.Uint16(t.b[int(vt)+slot:]))
	if off == 0 {
		return 0, nil
	}
	return t.pos + off, nil
}

// int64Field reads a scalar long field (def when absent).
func (t fbTable) int64Field(i int, def int64) (int64, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return def, err
	}
	if p > len(t.b)-8 {
		return 0, errFlatbuffer
	}
	return int64(binary.LittleEndian.Uint64(t.b[p:])), nil
}

// uint8Field reads a scalar byte field (def when absent).
func (t fbTable) uint8Field(i int, def uint8) (uint8, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return def, err
	}
	if p >= len(t.b) {
		return 0, errFlatbuffer
	}
	return t.b[p], nil
}

// ref follows the offset stored in field i to its target, or returns 0 when absent.
func (t fbTable) ref(i int) (int64, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	off, err := fbU32(t.b, p)
	if err != nil {
		return 0, err
	}
	return int64(p) + int64(off), nil
}

// table returns the sub-table in field i; ok is false when absent.
func (t fbTable) table(i int) (fbTable, bool, error) {
	p, err := t.ref(i)
	if err != nil || p == 0 {
		return fbTable{}, false, err
	}
	s, err := fbAt(t.b, p)
	return s, err == nil, err
}

// structs returns the bytes of the vector of structs of elemSize bytes in field i, and its
// length (0 when absent).
func (t fbTable) structs(i, elemSize int) ([]byte, int, error) {
	p, err := t.ref(i)
	if err != nil || p == 0 {
		return nil, 0, err
	}
	n, err := fbU32(t.b, int(p))
	if err != nil {
		return nil, 0, err
	}
	start := p + 4
	end := start + int64(n)*int64(elemSize)
	if end > int64(len(t.b)) {
		return nil, 0, fmt.Errorf("%w: vector of %d elements runs past the end", errFlatbuffer, n)
	}
	return t.b[start:end], int(n), nil
}

// le64 reads the little-endian int64 at b[at:].
func le64(b []byte, at int) int64 { return int64(binary.LittleEndian.Uint64(b[at:])) }
