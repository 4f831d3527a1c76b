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
