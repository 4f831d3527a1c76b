package arrowfb

import (
	"bytes"
	"errors"
	"testing"

	flatbuffers "github.com/google/flatbuffers/go"
)

// build makes, with the flatbuffers library, a table of: field 0 an int64 (7), field 1 a byte
// (3), field 2 a sub-table (whose field 0 is the string "key"), field 3 a vector of two
// 16-byte structs and field 4 a vector of offsets to two sub-tables.
func build() []byte {
	b := flatbuffers.NewBuilder(0)
	sub := func(s string) flatbuffers.UOffsetT {
		str := b.CreateString(s)
		b.StartObject(1)
		b.PrependUOffsetTSlot(0, str, 0)
		return b.EndObject()
	}
	kv := sub("key")
	a, c := sub("a"), sub("bc")
	b.StartVector(4, 2, 4)
	b.PrependUOffsetT(c)
	b.PrependUOffsetT(a)
	tabs := b.EndVector(2)
	b.StartVector(16, 2, 8)
	for _, v := range []int64{4, 3, 2, 1} {
		b.PrependInt64(v)
	}
	structs := b.EndVector(2)
	b.StartObject(5)
	b.PrependInt64Slot(0, 7, 0)
	b.PrependByteSlot(1, 3, 0)
	b.PrependUOffsetTSlot(2, kv, 0)
	b.PrependUOffsetTSlot(3, structs, 0)
	b.PrependUOffsetTSlot(4, tabs, 0)
	b.Finish(b.EndObject())
	return b.FinishedBytes()
}

func TestReadsWhatFlatbuffersWrote(t *testing.T) {
	buf := build()
	root, err := Root(buf)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := root.Int64(0, -1); err != nil || v != 7 {
		t.Errorf("Int64(0) = %d, %v; want 7", v, err)
	}
	if v, err := root.Uint8(1, 0); err != nil || v != 3 {
		t.Errorf("Uint8(1) = %d, %v; want 3", v, err)
	}
	if v, err := root.Int64(9, -1); err != nil || v != -1 {
		t.Errorf("absent Int64(9) = %d, %v; want the default -1", v, err)
	}
	kv, ok, err := root.Table(2)
	if err != nil || !ok {
		t.Fatalf("Table(2): %v %v", ok, err)
	}
	if s, n, err := kv.Vector(0, 1); err != nil || n != 3 || string(s) != "key" {
		t.Errorf("string field: %q (%d), %v; want \"key\"", s, n, err)
	}
	if vec, n, err := root.Vector(3, 16); err != nil || n != 2 || LE64(vec, 0) != 1 || LE64(vec, 24) != 4 {
		t.Errorf("struct vector: %d elements, %v", n, err)
	}
	ps, err := root.Tables(4)
	if err != nil || len(ps) != 2 {
		t.Fatalf("Tables(4): %v %v", ps, err)
	}
	var got []string
	for _, p := range ps {
		tb, err := At(buf, p)
		if err != nil {
			t.Fatal(err)
		}
		s, _, _ := tb.Vector(0, 1)
		got = append(got, string(s))
	}
	if want := []string{"a", "bc"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("tables' strings %q, want %q", got, want)
	}
	if err := CheckKeyValues(buf, ps); err != nil {
		t.Errorf("CheckKeyValues: %v", err)
	}
}

// Every truncation and every single-byte change of a real flatbuffer reads without a panic
// or a read outside the bytes: an error (ErrCorrupt) or values.
func TestCorruptNeverPanics(t *testing.T) {
	buf := build()
	walk := func(b []byte) error {
		root, err := Root(b)
		if err != nil {
			return err
		}
		var errs []error
		_, e1 := root.Int64(0, 0)
		_, e2 := root.Uint8(1, 0)
		kv, _, e3 := root.Table(2)
		_, _, e4 := kv.Vector(0, 1)
		_, _, e5 := root.Vector(3, 16)
		ps, e6 := root.Tables(4)
		errs = append(errs, e1, e2, e3, e4, e5, e6, CheckKeyValues(b, ps))
		return errors.Join(errs...)
	}
	for n := range len(buf) {
		if err := walk(buf[:n:n]); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d: %v, want ErrCorrupt", n, err)
		}
	}
	corrupted := 0
	for i := range buf {
		for _, v := range []byte{0, 0x7f, 0x80, 0xff} {
			b := bytes.Clone(buf)
			b[i] = v
			if err := walk(b); err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("byte %d = %#x: %v, want ErrCorrupt", i, v, err)
				}
				corrupted++
			}
		}
	}
	if corrupted == 0 {
		t.Error("no single-byte change was found corrupt")
	}
}
