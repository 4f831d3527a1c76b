package tokenize

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// wordTable finds a whole word among the short tokens (at most 16 bytes) in an open-addressing
// table whose slots hold the token bytes themselves: a lookup is two unaligned loads, a
// multiply-mix hash and usually one slot compare, with no string hashing and no second memory
// access for the key. Most words of running text are one token, found here; the rest go to
// the trie.
type wordTable struct {
	slots []wordSlot // a power of two, at most half full
	mask  uint64
	shift uint // 64 - log2(len(slots)): the slot is the hash's top bits
}

type wordSlot struct {
	k0, k1 uint64 // the token's bytes, little-endian, zero-padded
	n      int32  // its length in bytes; 0 marks an empty slot
	id     int32
}

// maxTableWord is the longest token the table holds; wordKey reads this many bytes.
const maxTableWord = 16

func newWordTable(v *Vocab) *wordTable {
	// Sized for every token, at most half full (counting the tokens held first would read
	// each twice; for bert-base-uncased both give 65,536 slots).
	size := 1
	for size < 2*len(v.tokens) {
		size *= 2
	}
	t := &wordTable{slots: make([]wordSlot, size), mask: uint64(size - 1), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	// A large slice fresh from the system is not cleared by make, and the probes below read a
	// slot before writing it: a page first read is mapped to the shared zero page, then copied
	// on the first write (a second page fault, and a TLB flush on every CPU running the
	// process). Writing every slot first takes one fault per page.
	clear(t.slots)
	var b [maxTableWord]byte
	for id, tok := range v.tokens { // in id order: a token listed twice keeps its last id
		if !tableWord(tok) {
			continue
		}
		n := copy(b[:], tok)
		k0, k1 := wordKey(b[:n])
		for i := wordHash(k0, k1) >> t.shift; ; i = (i + 1) & t.mask {
			s := &t.slots[i]
			if s.n == 0 || s.k0 == k0 && s.k1 == k1 && int(s.n) == n {
				*s = wordSlot{k0: k0, k1: k1, n: int32(n), id: int32(id)}
				break
			}
		}
	}
	return t
}

// tableWord reports whether the table holds tok: 1 to 16 bytes, and a single character or
// free of ASCII punctuation. The pre-tokenizer makes every ASCII punctuation character a word
// of its own, so a longer token with one ("##ing", "[unused0]") is never a whole word; left
// out, it costs no slot. (A token the table lacks is still found by the trie: the table only
// makes the common case fast, it decides no id.)
func tableWord(tok string) bool {
	if len(tok) == 0 || len(tok) > maxTableWord {
		return false
	}
	if len(tok) == 1 {
		return true
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i]; c < utf8.RuneSelf && isPunct(rune(c)) {
			return false
		}
	}
	return true
}

// wordKey packs a word of 1 to 16 bytes into two words, zero-padded. It reads 16 bytes from
// the start of w, so cap(w) must be at least 16; the bytes past len(w) are masked off.
func wordKey(w []byte) (k0, k1 uint64) {
	n := len(w)
	b := w[:maxTableWord]
	k0 = binary.LittleEndian.Uint64(b[:8])
	k1 = binary.LittleEndian.Uint64(b[8:16])
	if n < 8 {
		return k0 & (1<<(8*uint(n)) - 1), 0
	}
	return k0, k1 & (1<<(8*uint(n-8)) - 1)
}

// wordHash mixes a key; its top bits are well spread (Fibonacci hashing).
func wordHash(k0, k1 uint64) uint64 {
	return (k0 ^ bits.RotateLeft64(k1*0xC2B2AE3D27D4EB4F, 31)) * 0x9E3779B97F4A7C15
}

// find returns the id of the token equal to w. cap(w) must be at least 16. Tokenizer.wordPiece
// has the same loop written out.
func (t *wordTable) find(w []byte) (int32, bool) {
	if len(w) > maxTableWord || len(w) == 0 {
		return 0, false
	}
	k0, k1 := wordKey(w)
	for i := wordHash(k0, k1) >> t.shift; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.k0 == k0 && s.k1 == k1 && int(s.n) == len(w) {
			return s.id, true
		}
		if s.n == 0 {
			return 0, false
		}
	}
}
