package tokenize

import (
	"math/bits"
	"slices"
)

// trie is a double-array trie over the bytes of the vocabulary's tokens: the transition from
// state s on byte c goes to t = nodes[s].base + c when nodes[t].check == s. Each state keeps
// the id of the token that ends there, or -1. Finding the longest token that prefixes a word
// is one walk down the trie, with no hashing and no allocation.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	base  int32
	check int32
	id    int32
}

// buildTrie builds the trie of tokens; tokens[i] gets id i. Empty tokens are skipped. For a
// token listed twice the last id wins, as in the vocabulary's map.
func buildTrie(tokens []string) *trie {
	// First a plain pointer trie, then its states are packed into the double array.
	type ptrNode struct {
		labels   []byte
		children []int32
		id       int32
	}
	ptr := []ptrNode{{id: -1}}
	for id, tok := range tokens {
		if tok == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(tok); i++ {
			c := tok[i]
			j := slices.Index(ptr[s].labels, c)
			if j < 0 {
				ptr = append(ptr, ptrNode{id: -1})
				ptr[s].labels = append(ptr[s].labels, c)
				ptr[s].children = append(ptr[s].children, int32(len(ptr)-1))
				j = len(ptr[s].labels) - 1
			}
			s = ptr[s].children[j]
		}
		ptr[s].id = int32(id)
	}

	t := &trie{nodes: make([]trieNode, 1, 2*len(ptr)+256)}
	t.nodes[0] = trieNode{check: -1, id: ptr[0].id}
	used := []uint64{1} // bit i set: slot i is taken (slot 0 is the root)
	isUsed := func(i int) bool { return i/64 < len(used) && used[i/64]&(1<<(i%64)) != 0 }
	nextFree := func(i int) int { // the first free slot at or after i
		for w := i / 64; ; w++ {
			if w >= len(used) {
				return max(i, w*64)
			}
			free := ^used[w]
			if w == i/64 {
				free &= ^uint64(0) << (i % 64)
			}
			if free != 0 {
				return w*64 + bits.TrailingZeros64(free)
			}
		}
	}
	firstFree := 1
	// Breadth-first: place the children of state `at` (pointer node p).
	type item struct{ p, at int32 }
	queue := []item{{0, 0}}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		p := &ptr[it.p]
		if len(p.labels) == 0 {
			continue
		}
		minLabel := int(slices.Min(p.labels))
		firstFree = nextFree(firstFree)
		base := 0
	search:
		for f := nextFree(firstFree + minLabel); ; f = nextFree(f + 1) {
			base = f - minLabel // f is the slot of the smallest label, free by construction
			for _, c := range p.labels {
				if isUsed(base + int(c)) {
					continue search
				}
			}
			break
		}
		t.nodes[it.at].base = int32(base)
		for i, c := range p.labels {
			slot := base + int(c)
			for len(t.nodes) <= slot {
				t.nodes = append(t.nodes, trieNode{check: -1, id: -1})
			}
			for len(used) <= slot/64 {
				used = append(used, 0)
			}
			used[slot/64] |= 1 << (slot % 64)
			child := p.children[i]
			t.nodes[slot] = trieNode{check: it.at, id: ptr[child].id}
			queue = append(queue, item{child, int32(slot)})
		}
	}
	return t
}

// walk follows the bytes of s from state s0 and returns the state reached, or -1.
func (t *trie) walk(s0 int32, s string) int32 {
	st := s0
	for i := 0; i < len(s) && st >= 0; i++ {
		st = t.next(st, s[i])
	}
	return st
}

// next is the transition from state s on byte c, or -1.
func (t *trie) next(s int32, c byte) int32 {
	n := int(t.nodes[s].base) + int(c)
	if n < len(t.nodes) && t.nodes[n].check == s {
		return int32(n)
	}
	return -1
}

// longest returns the id and byte length of the longest token that, read from state s0,
// prefixes w; length 0 when none does.
func (t *trie) longest(s0 int32, w []byte) (id int32, length int) {
	nodes := t.nodes
	s := s0
	id = -1
	for i, c := range w {
		n := int(nodes[s].base) + int(c)
		if n >= len(nodes) || nodes[n].check != s {
			break
		}
		s = int32(n)
		if nodes[n].id >= 0 {
			id, length = nodes[n].id, i+1
		}
	}
	return id, length
}
