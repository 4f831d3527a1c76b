package pipeline

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

func isBlank(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 0
}

// looksBinary reports whether b holds a NUL byte, or whether more than a tenth of its first
// 4 KiB is neither valid UTF-8 nor a usual text control character.
func looksBinary(b []byte) bool {
	if bytes.IndexByte(b, 0) >= 0 {
		return true
	}
	if len(b) > 4096 {
		b = b[:4096]
	}
	bad := 0
	for i := 0; i < len(b); {
		// Eight printable ASCII bytes (0x20 to 0x7f) at a time: most text is only these.
		if i+8 <= len(b) && plainASCII8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
			continue
		}
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b {
				bad++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			bad++
		}
		i += size
	}
	return bad*10 > len(b)
}

// plainASCII8 reports whether each of the 8 bytes of x is in [0x20, 0x80): no high bit and,
// by the borrow trick, no byte below 0x20 (exact for the question "any byte below 0x20").
func plainASCII8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (x|(x-0x20*ones)&^x)&highs == 0
}
