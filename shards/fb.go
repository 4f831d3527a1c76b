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

// Limits on a shard's schema flatbuffer, far above kiln's own (3 or 5 columns of depth 2,
// a few metadata keys), checked before Arrow, which allocates by the declared vector lengths.
const (
	maxSchemaFields   = 16
	maxSchemaMetadata = 1024
	maxFieldMetadata  = 64
)

// checkSchemaFB checks the Arrow Schema table s: at most maxSchemaFields columns, each of
// nesting depth at most 2 (a list and its item), none dictionary-encoded, and bounded
// metadata; every vector inside the bytes.
func checkSchemaFB(s fbTable) error {
	n, err := s.offsets(1)
	if err != nil {
		return fmt.Errorf("schema fields: %w", err)
	}
	if len(n) > maxSchemaFields {
		return fmt.Errorf("schema declares %d columns (kiln shards have at most 5)", len(n))
	}
	md, err := s.offsets(2)
	if err != nil {
		return fmt.Errorf("schema metadata: %w", err)
	}
	if len(md) > maxSchemaMetadata {
		return fmt.Errorf("schema declares %d metadata keys (at most %d)", len(md), maxSchemaMetadata)
	}
	if err := checkKeyValues(s.b, md); err != nil {
		return fmt.Errorf("schema metadata: %w", err)
	}
	for i, p := range n {
		f, err := fbAt(s.b, p)
		if err != nil {
			return fmt.Errorf("schema column %d: %w", i, err)
		}
		if err := checkFieldFB(f, 2); err != nil {
			return fmt.Errorf("schema column %d: %w", i, err)
		}
	}
	return nil
}

// checkFieldFB checks a Field table and its children, down to depth more levels.
func checkFieldFB(f fbTable, depth int) error {
	if p, err := f.field(4); err != nil || p != 0 {
		return fmt.Errorf("dictionary-encoded column (kiln shards have none) (%v)", err)
	}
	md, err := f.offsets(6)
	if err != nil {
		return err
	}
	if len(md) > maxFieldMetadata {
		return fmt.Errorf("%d metadata keys (at most %d)", len(md), maxFieldMetadata)
	}
	if err := checkKeyValues(f.b, md); err != nil {
		return err
	}
	kids, err := f.offsets(5)
	if err != nil {
		return err
	}
	if len(kids) > 1 || len(kids) > 0 && depth <= 1 {
		return fmt.Errorf("%d child columns at depth %d (kiln's columns are lists of integers or integers)", len(kids), 3-depth)
	}
	for _, p := range kids {
		c, err := fbAt(f.b, p)
		if err != nil {
			return err
		}
		if err := checkFieldFB(c, depth-1); err != nil {
			return err
		}
	}
	return nil
}

// checkKeyValues checks that each KeyValue table's key and value strings lie inside b.
func checkKeyValues(b []byte, kvs []int64) error {
	for _, p := range kvs {
		kv, err := fbAt(b, p)
		if err != nil {
			return err
		}
		for i := 0; i < 2; i++ {
			if _, _, err := kv.structs(i, 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// offsets returns the targets of the vector of tables (or strings) in field i.
func (t fbTable) offsets(i int) ([]int64, error) {
	v, n, err := t.structs(i, 4)
	if err != nil || n == 0 {
		return nil, err
	}
	start := int64(cap(t.b) - cap(v)) // v is t.b[start:...]: both capacities run to the same end
	out := make([]int64, n)
	for k := range out {
		at := start + 4*int64(k)
		out[k] = at + int64(binary.LittleEndian.Uint32(v[4*k:]))
	}
	return out, nil
}
