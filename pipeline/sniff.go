package pipeline

import (
	"bytes"
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
