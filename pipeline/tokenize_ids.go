package pipeline

import (
	"encoding/binary"
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

// maxIDWords bounds the ids idWords holds: 7 digits, which leave the top byte for the length.
const maxIDWords = 10_000_000

// idWords holds the decimal form of every id below its length, packed for a single
// unaligned store: the digits in the low bytes of a little-endian word, their count in the top
// byte. Writing a line of ids is then one load and one or two stores an id, with no branch on
// its length (appendID, which computes the digits, was the largest cost of kiln tokenize after
// the tokenizer itself).
type idWords []uint64

// newIDWords returns the words of the ids below size (at most maxIDWords), counting up in
// decimal: a few nanoseconds an id.
func newIDWords(size int) idWords {
	size = min(max(size, 0), maxIDWords)
	w := make(idWords, size)
	d, n := [8]byte{'0'}, 1 // the digits of id, d[:n]
	for id := range w {
		w[id] = binary.LittleEndian.Uint64(d[:])&(1<<(8*n)-1) | uint64(n)<<56
		i := n - 1
		for i >= 0 && d[i] == '9' {
			d[i] = '0'
			i--
		}
		if i >= 0 {
			d[i]++
		} else { // 99...9 + 1: one more digit
			d[0], d[n] = '1', '0'
			n++
		}
	}
	return w
}

// appendIDs appends ids to b in decimal, separated by single spaces, as appendID would one at a
// time.
func (w idWords) appendIDs(b []byte, ids []int32) []byte {
	b = slices.Grow(b, 9*len(ids)) // a space and an 8-byte store an id
	n := len(b)
	buf := b[:cap(b)]
	for i, id := range ids {
		if i > 0 {
			buf[n] = ' '
			n++
		}
		if uint(id) >= uint(len(w)) { // not in the table (a negative id, or a huge vocabulary)
			r := slices.Grow(appendID(buf[:n], id), 9*(len(ids)-i))
			n, buf = len(r), r[:cap(r)]
			continue
		}
		x := w[id]
		binary.LittleEndian.PutUint64(buf[n:n+8], x)
		n += int(x >> 56)
	}
	return buf[:n]
}
