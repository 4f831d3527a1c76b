package pipeline

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// looksBinaryBytewise is looksBinary's definition, one byte or rune at a time.
func looksBinaryBytewise(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return true
		}
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

// TestPlainASCII8EveryByte puts every byte value at every position of a word of printable
// ASCII: the word is plain exactly when that byte is in [0x20, 0x80).
func TestPlainASCII8EveryByte(t *testing.T) {
	fills := []uint64{0x6161616161616161, 0x2020202020202020, 0x7f7f7f7f7f7f7f7f}
	for _, fill := range fills {
		for pos := range 8 {
			for v := range 256 {
				x := fill&^(0xff<<(8*pos)) | uint64(v)<<(8*pos)
				want := v >= 0x20 && v < 0x80
				if got := plainASCII8(x); got != want {
					t.Fatalf("plainASCII8(%#016x) = %v, want %v", x, got, want)
				}
			}
		}
	}
	// Random words, each byte checked on its own.
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		x := r.Uint64()
		if r.IntN(2) == 0 { // mostly printable, a byte or two of anything
			x = x&0x3f3f3f3f3f3f3f3f | 0x4040404040404040
			x ^= uint64(r.IntN(256)) << (8 * r.IntN(8))
		}
		want := true
		for i := range 8 {
			if c := byte(x >> (8 * i)); c < 0x20 || c >= 0x80 {
				want = false
			}
		}
		if got := plainASCII8(x); got != want {
			t.Fatalf("plainASCII8(%#016x) = %v, want %v", x, got, want)
		}
	}
}

// TestLooksBinaryWordwise checks looksBinary against its byte-at-a-time definition on the
// sample's real text (every line, and 4 KiB windows), on that text with control bytes and
// invalid UTF-8 put in at every offset, and at the tenth threshold.
func TestLooksBinaryWordwise(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "cmd", "kiln", "sample", "*", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("sample text: %v (%d files)", err, len(files))
	}
	check := func(b []byte) {
		t.Helper()
		if got, want := looksBinary(b), looksBinaryBytewise(b); got != want {
			t.Fatalf("looksBinary(%q) = %v, want %v", b, got, want)
		}
	}
	var text []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text = append(text, b...)
	}
	for off := 0; off+4096 <= len(text); off += 4000 {
		check(text[off : off+4096])
	}
	line := 0
	for i, c := range text {
		if c == '\n' {
			check(text[line:i])
			line = i + 1
		}
	}
	// One odd byte (or a broken sequence) at every offset of a line of real text, and enough
	// of them to cross the tenth.
	base := []byte("Mr. Speaker, Mr. Vice President, Members of Congress: tonight we meet\tagain — “at last”.")
	odd := [][]byte{{0x01}, {0x1f}, {0x1b}, {'\v'}, {0x80}, {0xc3}, {0xe2, 0x80}, {0xff}, {0x7f}}
	for _, o := range odd {
		for at := 0; at <= len(base); at++ {
			b := append(append(append([]byte(nil), base[:at]...), o...), base[at:]...)
			check(b)
			for n := 1; n <= 12; n++ {
				b = append(append(b[:at:at], o...), b[at:]...)
				check(b)
			}
		}
	}
}
