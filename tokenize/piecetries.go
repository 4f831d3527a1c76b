package tokenize

import (
	"strings"
	"sync"
)

// pieceTries finds the longest token that prefixes a word (or, after the continuing-subword
// prefix, a piece that continues one) in tries built only when a word first needs them. Most
// words are whole-word tokens, found in the wordTable without a trie, so a short run builds
// few of them or none: the tokens are grouped by the first byte they match, a byte with at
// least ownTrieTokens tokens has a trie of its own and the other bytes of its side share one.
// The ids are those of one trie over every token: each group holds every token that can match
// a text starting with its bytes.
type pieceTries struct {
	tokens []string
	prefix string // the continuing-subword prefix

	groupOnce sync.Once
	// index[side*256+b] is the trie for texts starting with byte b: side 0 for a word's first
	// piece, 1 for a continuing piece (the prefix not included).
	index [512]uint16
	ids   []int32  // the token ids of each trie, ascending within it
	start []uint32 // the ids of trie i are ids[start[i]:start[i+1]]
	tries []lazyTrie
}

type lazyTrie struct {
	once sync.Once
	t    *trie
}

// ownTrieTokens is how many tokens a first byte needs for a trie of its own.
const ownTrieTokens = 256

func newPieceTries(tokens []string, prefix string) *pieceTries {
	return &pieceTries{tokens: tokens, prefix: prefix}
}

// key returns the group key of token tok on a side, or -1 when tok is not on it: every
// non-empty token is on side 0; one that starts with the prefix and is longer is also on
// side 1, keyed by its byte after the prefix.
func (p *pieceTries) key(tok string, side int) int {
	if side == 0 {
		if tok == "" {
			return -1
		}
		return int(tok[0])
	}
	if len(tok) <= len(p.prefix) || !strings.HasPrefix(tok, p.prefix) {
		return -1
	}
	return 256 + int(tok[len(p.prefix)])
}

// group sorts the token ids into the tries' groups (a counting sort, in one pass to count and
// one to place).
func (p *pieceTries) group() {
	var count [512]int
	for _, tok := range p.tokens {
		for side := range 2 {
			if k := p.key(tok, side); k >= 0 {
				count[k]++
			}
		}
	}
	// Trie numbers: each byte with enough tokens, then one shared trie per side.
	var sizes []int
	shared := [2]int{-1, -1}
	for k, n := range count {
		side := k / 256
		switch {
		case n >= ownTrieTokens:
			p.index[k] = uint16(len(sizes))
			sizes = append(sizes, n)
		case n > 0:
			if shared[side] < 0 {
				shared[side] = len(sizes)
				sizes = append(sizes, 0)
			}
			p.index[k] = uint16(shared[side])
			sizes[shared[side]] += n
		}
	}
	// A byte no token starts with gets an empty trie.
	empty := len(sizes)
	sizes = append(sizes, 0)
	for k, n := range count {
		if n == 0 {
			p.index[k] = uint16(empty)
		}
	}
	p.start = make([]uint32, len(sizes)+1)
	for i, n := range sizes {
		p.start[i+1] = p.start[i] + uint32(n)
	}
	fill := make([]uint32, len(sizes))
	copy(fill, p.start)
	p.ids = make([]int32, p.start[len(sizes)])
	for id, tok := range p.tokens {
		for side := range 2 {
			if k := p.key(tok, side); k >= 0 {
				i := p.index[k]
				p.ids[fill[i]] = int32(id)
				fill[i]++
			}
		}
	}
	p.tries = make([]lazyTrie, len(sizes))
}

// trie returns the trie for texts starting with byte c on a side, building it on first use.
func (p *pieceTries) trie(side int, c byte) *trie {
	p.groupOnce.Do(p.group)
	i := p.index[side*256+int(c)]
	lt := &p.tries[i]
	lt.once.Do(func() {
		skip := 0
		if side == 1 {
			skip = len(p.prefix)
		}
		var b trieBuilder
		lt.t = b.build(p.tokens, p.ids[p.start[i]:p.start[i+1]], skip)
	})
	return lt.t
}

// longest returns the id and byte length of the longest token that prefixes w, side 0, or of
// the longest continuing token (its prefix not counted) that does, side 1; length 0 when none
// does.
func (p *pieceTries) longest(side int, w []byte) (id int32, length int) {
	if len(w) == 0 {
		return -1, 0
	}
	return p.trie(side, w[0]).longest(0, w)
}
