package pipeline

import (
	"slices"
	"strconv"
)

// appendID appends the decimal form of id to b, as strconv.AppendInt does, writing the
// digits in place: strconv formats into a buffer of its own and copies it, a memmove call
// per id that was the largest single cost of printing ids in kiln tokenize.
func appendID(b []byte, id int32) []byte {
	if id < 0 {
		return strconv.AppendInt(b, int64(id), 10)
	}
	u := uint32(id)
	n := decimalLen(u)
	l := len(b)
	b = slices.Grow(b, n)[:l+n]
	d := b[l : l+n]
	for i := n - 1; i > 0; i-- {
		d[i] = '0' + byte(u%10)
		u /= 10
	}
	d[0] = '0' + byte(u)
	return b
}

// decimalLen returns the number of decimal digits of u (1 for 0).
func decimalLen(u uint32) int {
	n := 1
	for p := uint32(10); u >= p; p *= 10 {
		n++
		if n == 10 { // 10^10 overflows uint32: u has 10 digits
			break
		}
	}
	return n
}
