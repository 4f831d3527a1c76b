package pipeline

import (
	"math"
	"strconv"
	"testing"
)

// TestAppendIDAsStrconv checks appendID against strconv.AppendInt on every id of a vocabulary
// up to 2^20, each power of ten and its neighbours, the int32 extremes, and onto a
// non-empty buffer.
func TestAppendIDAsStrconv(t *testing.T) {
	check := func(prefix []byte, id int32) {
		t.Helper()
		want := strconv.AppendInt(append([]byte(nil), prefix...), int64(id), 10)
		got := appendID(append([]byte(nil), prefix...), id)
		if string(got) != string(want) {
			t.Fatalf("appendID(%q, %d) = %q, want %q", prefix, id, got, want)
		}
	}
	for id := range int32(1 << 20) {
		check(nil, id)
	}
	for p := int64(1); p <= math.MaxInt32; p *= 10 {
		for _, d := range []int64{-1, 0, 1} {
			if v := p + d; v <= math.MaxInt32 {
				check([]byte("101 2023 "), int32(v))
			}
		}
	}
	for _, id := range []int32{math.MaxInt32, math.MaxInt32 - 1, -1, -10, math.MinInt32} {
		check([]byte("7 "), id)
	}
}

// TestIDWordsAsAppendID checks idWords against appendID: every id of a table of 2^20 ids,
// lines of one and several ids onto empty and non-empty buffers, ids beyond the table and
// negative ones (appendID's fallback), and the table's edges at powers of ten.
func TestIDWordsAsAppendID(t *testing.T) {
	w := newIDWords(1 << 20)
	want := func(prefix []byte, ids []int32) string {
		b := append([]byte(nil), prefix...)
		for i, id := range ids {
			if i > 0 {
				b = append(b, ' ')
			}
			b = appendID(b, id)
		}
		return string(b)
	}
	check := func(prefix []byte, ids ...int32) {
		t.Helper()
		got := w.appendIDs(append([]byte(nil), prefix...), ids)
		if string(got) != want(prefix, ids) {
			t.Fatalf("appendIDs(%q, %v) = %q, want %q", prefix, ids, got, want(prefix, ids))
		}
	}
	for id := range int32(1 << 20) {
		check(nil, id)
	}
	line := make([]int32, 0, 300)
	for id := int32(0); id < 1<<20; id += 997 {
		line = append(line, id, id/7, 1<<20-1-id)
		if len(line) >= 300 {
			check([]byte("101 2023\n"), line...)
			line = line[:0]
		}
	}
	check([]byte("x"), 5, 1<<20, -1, 7, math.MaxInt32, 0, 1<<20-1, math.MinInt32, 42)
	for _, size := range []int{0, 1, 9, 10, 11, 99, 100, 101, 30522, maxIDWords + 5} {
		s := newIDWords(size)
		if len(s) != min(size, maxIDWords) {
			t.Fatalf("newIDWords(%d): %d ids", size, len(s))
		}
		ids := []int32{0, int32(size) - 1, int32(size), int32(size) + 1, int32(size) / 2}
		if got := s.appendIDs(nil, ids); string(got) != want(nil, ids) {
			t.Fatalf("newIDWords(%d).appendIDs(%v) = %q, want %q", size, ids, got, want(nil, ids))
		}
	}
	if got := w.appendIDs([]byte("a"), nil); string(got) != "a" {
		t.Fatalf("no ids: %q", got)
	}
}

func BenchmarkIDWords(b *testing.B) {
	for b.Loop() {
		newIDWords(30522)
	}
}
