package tokenize

import (
	"hash/maphash"
	"math/bits"
)

// vocabIndex maps a token to its id: an open-addressing table of ids (plus one; 0 marks an
// empty slot) hashed by the token's bytes, the token itself compared in the vocabulary's
// list. It replaces a map[string]int32 built at every start: it holds no pointers, so the
// garbage collector never scans it, and building it is one hash and usually one probe per
// token, with no per-entry allocation.
type vocabIndex struct {
	slots []int32 // a power of two, at most half full
	shift uint    // 64 - log2(len(slots)): the slot is the hash's top bits
	seed  maphash.Seed
	n     int // distinct tokens
}

// newVocabIndex indexes tokens by id; a token listed twice keeps its last id, as in Hugging
// Face.
func newVocabIndex(tokens []string) vocabIndex {
	size := 2
	for size < 2*len(tokens) {
		size *= 2
	}
	x := vocabIndex{slots: make([]int32, size), shift: uint(64 - bits.TrailingZeros(uint(size))), seed: maphash.MakeSeed()}
	// Written before it is read: a fresh table's pages are then each mapped once, where a
	// probe's read would map the shared zero page and the first write copy it (a second
	// fault, and a TLB flush on every CPU the process runs on).
	clear(x.slots)
	mask := uint64(size - 1)
	for id, tok := range tokens {
		for i := maphash.String(x.seed, tok) >> x.shift; ; i = (i + 1) & mask {
			s := &x.slots[i]
			if *s == 0 {
				*s = int32(id) + 1
				x.n++
				break
			}
			if tokens[*s-1] == tok {
				*s = int32(id) + 1
				break
			}
		}
	}
	return x
}

// find returns the id of token in tokens, the list the index was built from.
func (x *vocabIndex) find(tokens []string, token string) (int32, bool) {
	if len(x.slots) == 0 {
		return 0, false
	}
	mask := uint64(len(x.slots) - 1)
	for i := maphash.String(x.seed, token) >> x.shift; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return 0, false
		}
		if tokens[s-1] == token {
			return s - 1, true
		}
	}
}
