package tokenize

import "slices"

// trie is a double-array trie over the bytes of the vocabulary's tokens: the transition from
// state s on byte c goes to t = nodes[s].base ^ c when nodes[t].check == s. Each state keeps
// the id of the token that ends there, or -1. Finding the longest token that prefixes a word
// is one walk down the trie, with no hashing and no allocation.
//
// The array is made of blocks of 256 states and a base only ever differs from its children in
// the low 8 bits (the XOR), so every transition stays inside the array: no bounds to test
// beyond Go's own.
type trie struct {
	nodes []trieNode
}

type trieNode struct {
	base  int32
	check int32 // the parent state; -1 for the root and for unused states
	id    int32
}

// trieBlock is the number of states in a block of the array.
const trieBlock = 256

// trieOpenBlocks is how many of the last blocks keep their free states on offer for placing
// children. Older blocks are closed: their remaining free states stay unused. This bounds the
// search for a place (as darts-clone does), so building takes time linear in the tokens'
// bytes whatever their shape: one very long token is a chain of states, each placed at once.
const trieOpenBlocks = 16

// trieBuilder places states in the double array.
type trieBuilder struct {
	nodes []trieNode
	// The free states of the open blocks, a circular doubly linked list indexed by state
	// modulo ring (the open blocks are consecutive, so each has its own slots); head is a
	// free state or -1.
	next, prev [trieOpenBlocks * trieBlock]int32
	used       [trieOpenBlocks * trieBlock]bool
	head       int32
	// work counts the steps of building: token bytes read, states probed and blocks set up.
	// Tests check that it stays linear in the tokens' bytes.
	work int
	// noChains makes build place single-token chains by its general step (tests compare).
	noChains bool
}

const trieRing = trieOpenBlocks * trieBlock

// addBlock appends a block of free states, closing the oldest open block when there are too
// many.
func (b *trieBuilder) addBlock() {
	start := int32(len(b.nodes))
	b.work += 2 * trieBlock
	if old := start - trieRing; old >= 0 {
		for u := old; u < old+trieBlock; u++ {
			if !b.used[u%trieRing] {
				b.unlink(u)
			}
		}
	}
	if cap(b.nodes)-len(b.nodes) < trieBlock {
		b.nodes = append(make([]trieNode, 0, 2*cap(b.nodes)+trieBlock), b.nodes...)
	}
	for range trieBlock {
		b.nodes = append(b.nodes, trieNode{check: -1, id: -1})
	}
	r := start % trieRing
	clear(b.used[r : r+trieBlock])
	// Link the new states in order, then splice them in at the end of the list.
	for i := r; i < r+trieBlock; i++ {
		b.next[i], b.prev[i] = start+(i-r)+1, start+(i-r)-1
	}
	first, last := start, start+trieBlock-1
	if b.head < 0 {
		b.head = first
	} else {
		h := b.head % trieRing
		b.next[b.prev[h]%trieRing] = first
		b.prev[r] = b.prev[h]
		b.prev[h] = last
	}
	b.next[last%trieRing] = b.head
	if b.head == first {
		b.prev[r] = last
	}
}

// unlink takes the state u out of the free list.
func (b *trieBuilder) unlink(u int32) {
	r := u % trieRing
	n, p := b.next[r], b.prev[r]
	if n == u {
		b.head = -1
		return
	}
	b.next[p%trieRing] = n
	b.prev[n%trieRing] = p
	if b.head == u {
		b.head = n
	}
}

// take marks the free state u used.
func (b *trieBuilder) take(u int32) {
	b.used[u%trieRing] = true
	b.unlink(u)
}

// findBase returns a base at which every label's state is free: the first that fits among the
// open blocks' free states, else the start of a new block.
func (b *trieBuilder) findBase(labels []byte) int32 {
	if u := b.head; u >= 0 {
		for {
			base := u ^ int32(labels[0])
			fits := true
			b.work++
			for _, c := range labels[1:] {
				b.work++
				if b.used[(base^int32(c))%trieRing] {
					fits = false
					break
				}
			}
			if fits {
				return base
			}
			if u = b.next[u%trieRing]; u == b.head {
				break
			}
		}
	}
	base := int32(len(b.nodes))
	b.addBlock()
	return base
}

// build builds, with a fresh builder b, the trie of the tokens of ids (ascending), each read
// from byte skip on; every one must be longer than skip. It reorders ids.
func (b *trieBuilder) build(tokens []string, ids []int32, skip int) *trie {
	// order holds the ids; the children of each state are found by a stable counting sort of
	// its run of order on the next byte (an MSD radix sort), so the tokens below a state are
	// always one run, in id order within it.
	order := ids
	states := 1 // at most one per token byte, and the root
	for _, id := range ids {
		states += len(tokens[id]) - skip
	}
	tmp := make([]int32, len(order))
	// Shared prefixes make states far fewer than bytes: at most about 2.2 per token in BERT's
	// vocabularies. The array doubles when that is not enough.
	b.nodes = make([]trieNode, 0, min(states, 3*len(order))+2*trieBlock)

	b.head = -1
	b.addBlock()
	b.take(0)

	// Depth first: place the children of state `at`, whose tokens are order[lo:hi], all
	// sharing their first depth bytes.
	type item struct{ at, lo, hi, depth int32 }
	stack := []item{{0, 0, int32(len(order)), int32(skip)}}
	var count [256]int32
	var labels []byte
	var bounds []int32 // bounds[i]: where the run of labels[i] starts; one past the end last
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		d := int(it.depth)
		if it.hi-it.lo == 1 && !b.noChains {
			b.chain(it.at, tokens[order[it.lo]][d:], order[it.lo])
			continue
		}
		run := order[it.lo:it.hi]
		b.work += 2 * len(run)
		labels = labels[:0]
		nEnd := int32(0)
		for _, id := range run {
			tok := tokens[id]
			if len(tok) == d {
				b.nodes[it.at].id = id // the token ends here; listed twice, the last id wins
				nEnd++
				continue
			}
			c := tok[d]
			if count[c] == 0 {
				labels = append(labels, c)
			}
			count[c]++
		}
		if len(labels) == 0 {
			continue
		}
		if len(labels) > 1 {
			slices.Sort(labels)
		}
		bounds = bounds[:0]
		at := it.lo + nEnd
		for _, c := range labels {
			bounds = append(bounds, at)
			at, count[c] = at+count[c], at // count[c] is now where its run is filled from
		}
		bounds = append(bounds, it.hi)
		out := tmp[it.lo:it.hi]
		for _, id := range run {
			if tok := tokens[id]; len(tok) > d {
				c := tok[d]
				out[count[c]-it.lo] = id
				count[c]++
			}
		}
		copy(run[nEnd:], out[nEnd:])
		for _, c := range labels {
			count[c] = 0
		}

		base := b.findBase(labels)
		b.nodes[it.at].base = base
		for _, c := range labels {
			slot := base ^ int32(c)
			b.take(slot)
			b.nodes[slot].check = it.at
		}
		for i := len(labels) - 1; i >= 0; i-- { // the first label is placed first
			stack = append(stack, item{base ^ int32(labels[i]), bounds[i], bounds[i+1], it.depth + 1})
		}
	}
	return &trie{nodes: b.nodes}
}

// chain places the rest of a token, rest, below state at when no other token shares that
// state: a chain of states, one per byte, the token's id on the last. It places them as the
// general step of build would, one child at a time (the same states, the same work), without
// its counting sort: a third of bert-base-uncased's 65,536 states are on such chains.
func (b *trieBuilder) chain(at int32, rest string, id int32) {
	for i := 0; i < len(rest); i++ {
		c := int32(rest[i])
		b.work += 2 // the run of one token
		var base int32
		if b.head >= 0 {
			b.work++ // findBase's one probe: a single label fits at the first free state
			base = b.head ^ c
		} else {
			base = int32(len(b.nodes))
			b.addBlock()
		}
		b.nodes[at].base = base
		slot := base ^ c
		b.take(slot)
		b.nodes[slot].check = at
		at = slot
	}
	b.work += 2
	b.nodes[at].id = id
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
	n := t.nodes[s].base ^ int32(c)
	if t.nodes[n].check == s {
		return n
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
		n := nodes[s].base ^ int32(c)
		if nodes[n].check != s {
			break
		}
		s = n
		if nodes[n].id >= 0 {
			id, length = nodes[n].id, i+1
		}
	}
	return id, length
}
