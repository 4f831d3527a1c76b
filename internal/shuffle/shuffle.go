// Package shuffle holds the bounded shuffle buffer that kiln prep puts between pairing and
// the shard writer and that the trainer's loader puts between the shards and its batches: a
// stand-in for the global shuffle of Google's script (which holds every instance in memory).
package shuffle

import (
	"context"
	"math/rand/v2"
	"slices"

	"github.com/kiln-bert/kiln/shards"
)

// Buffer mixes rows from nearby rows of the stream. Once it holds size rows, each new row
// takes the place of one chosen at random (rng.IntN), which is let out; Drain lets out the
// rest in a random order (rng.Shuffle). Seeded, and fed in a fixed order, its output is
// deterministic.
//
// It copies the rows it holds into slots whose buffers it reuses, so its memory is bounded by
// size rows of the longest length, and it allocates nothing once every slot has grown.
type Buffer struct {
	rows []shards.Row
	size int
	rng  *rand.Rand

	// With Reserve: the size of a slot, and the slab the next slots are cut from.
	tokens, masks int
	slabIDs       []int32
	slabTypes     []int8
	slabMasks     []int32 // masked positions and ids, two per mask
	slabRows      int     // rows in the last slab
}

// Slabs grow from minSlabRows rows to maxSlabRows, so that a small run allocates little.
const (
	minSlabRows = 16
	maxSlabRows = 512
)

// MaxReserveTokens is the largest row length for which Reserve gives every slot its room: for
// longer ones a slot would hold more than rows of a small run need, so slots are sized by the
// rows they hold, as without Reserve.
const MaxReserveTokens = 1024

// New returns a buffer of size rows drawing from rng. A size of 0 lets each row straight out,
// in order, and needs no rng.
func New(size int, rng *rand.Rand) *Buffer {
	return &Buffer{size: size, rng: rng}
}

// Reserve gives each slot room for a row of tokens ids and token types and masks masked
// positions (what the settings allow), cut from slabs of many slots: filling the buffer then
// makes an allocation per slab rather than four per row, and a slot never grows as the longer
// rows that come later take its place (without it, each slot is allocated at its first row's
// size and grows by append). Rows longer still are copied as without it. tokens above
// MaxReserveTokens leave the slots sized by their rows. Call it before the first Push.
func (b *Buffer) Reserve(tokens, masks int) {
	if tokens <= 0 || tokens > MaxReserveTokens || masks < 0 {
		return
	}
	b.tokens, b.masks = tokens, min(masks, tokens)
}

// slot returns an empty row for a new slot: with the room Reserve gave it, cut from the slab.
func (b *Buffer) slot() shards.Row {
	if b.tokens == 0 {
		return shards.Row{}
	}
	if len(b.slabTypes) < b.tokens {
		n := min(max(minSlabRows, 2*b.slabRows), maxSlabRows, b.size-len(b.rows))
		b.slabRows = n
		b.slabIDs, b.slabTypes = make([]int32, n*b.tokens), make([]int8, n*b.tokens)
		b.slabMasks = make([]int32, 2*n*b.masks)
	}
	t, m := b.tokens, b.masks
	r := shards.Row{
		InputIDs: b.slabIDs[:0:t], TokenTypeIDs: b.slabTypes[:0:t],
		MaskedPositions: b.slabMasks[:0:m], MaskedIDs: b.slabMasks[m : m : 2*m],
	}
	if m == 0 { // rows without masks (dynamic masking) keep nil ones
		r.MaskedPositions, r.MaskedIDs = nil, nil
	}
	b.slabIDs, b.slabTypes, b.slabMasks = b.slabIDs[t:], b.slabTypes[t:], b.slabMasks[2*m:]
	return r
}

// Push adds a copy of r, and calls emit with the row it lets out, if any. r is not kept, and
// emit must not keep the row it is given (it is the buffer's slot).
func (b *Buffer) Push(r *shards.Row, emit func(*shards.Row) error) error {
	if b.size == 0 {
		return emit(r)
	}
	if len(b.rows) < b.size {
		if len(b.rows) == cap(b.rows) { // grow by doubling up to size, not append's 1.25
			b.rows = slices.Grow(b.rows, min(b.size, max(2*cap(b.rows), minSlabRows))-len(b.rows))
		}
		b.rows = append(b.rows, b.slot())
		b.rows[len(b.rows)-1].CopyFrom(r)
		return nil
	}
	i := b.rng.IntN(len(b.rows))
	if err := emit(&b.rows[i]); err != nil {
		return err
	}
	b.rows[i].CopyFrom(r)
	return nil
}

// Drain lets out the rows still held, in random order, and empties the buffer. It stops early
// when ctx is done.
func (b *Buffer) Drain(ctx context.Context, emit func(*shards.Row) error) error {
	if len(b.rows) > 0 { // (a buffer of size 0 may have no generator)
		b.rng.Shuffle(len(b.rows), func(i, j int) { b.rows[i], b.rows[j] = b.rows[j], b.rows[i] })
	}
	for i := range b.rows {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := emit(&b.rows[i]); err != nil {
			return err
		}
	}
	b.rows = nil
	b.slabIDs, b.slabTypes, b.slabMasks = nil, nil, nil
	return nil
}
