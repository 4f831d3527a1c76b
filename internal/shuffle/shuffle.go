// Package shuffle holds the bounded shuffle buffer that kiln prep puts between pairing and
// the shard writer and that the trainer's loader puts between the shards and its batches: a
// stand-in for the global shuffle of Google's script (which holds every instance in memory).
package shuffle

import (
	"context"
	"math/rand/v2"

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
}

// New returns a buffer of size rows drawing from rng. A size of 0 lets each row straight out,
// in order, and needs no rng.
func New(size int, rng *rand.Rand) *Buffer {
	return &Buffer{size: size, rng: rng}
}

// Push adds a copy of r, and calls emit with the row it lets out, if any. r is not kept, and
// emit must not keep the row it is given (it is the buffer's slot).
func (b *Buffer) Push(r *shards.Row, emit func(*shards.Row) error) error {
	if b.size == 0 {
		return emit(r)
	}
	if len(b.rows) < b.size {
		b.rows = append(b.rows, shards.Row{})
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
	return nil
}
