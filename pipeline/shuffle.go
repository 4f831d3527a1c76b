package pipeline

import (
	"context"
	"math/rand/v2"

	"github.com/kiln-bert/kiln/shards"
)

// shuffleBuffer mixes rows from nearby documents, as a bounded stand-in for the global
// shuffle of Google's script (which holds every instance in memory). Once it holds size
// rows, each new row takes the place of a randomly chosen one, which is let out. It is
// seeded, and fed in a fixed order, so its output is deterministic.
//
// It copies the rows it holds into slots whose buffers it reuses, so its memory is bounded
// by size rows of the longest length, and it allocates nothing once every slot has grown.
type shuffleBuffer struct {
	rows []shards.Row
	size int
	rng  *rand.Rand
}

func newShuffleBuffer(size int, rng *rand.Rand) *shuffleBuffer {
	return &shuffleBuffer{size: size, rng: rng}
}

// push adds a copy of r, and calls emit with the row it lets out, if any. r is not kept.
func (b *shuffleBuffer) push(r *shards.Row, emit func(*shards.Row) error) error {
	if b.size == 0 {
		return emit(r)
	}
	if len(b.rows) < b.size {
		b.rows = append(b.rows, shards.Row{})
		copyRow(&b.rows[len(b.rows)-1], r)
		return nil
	}
	i := b.rng.IntN(len(b.rows))
	if err := emit(&b.rows[i]); err != nil {
		return err
	}
	copyRow(&b.rows[i], r)
	return nil
}

// copyRow copies src into dst, reusing dst's slices.
func copyRow(dst, src *shards.Row) {
	dst.InputIDs = append(dst.InputIDs[:0], src.InputIDs...)
	dst.TokenTypeIDs = append(dst.TokenTypeIDs[:0], src.TokenTypeIDs...)
	dst.NextSentenceLabel = src.NextSentenceLabel
	dst.MaskedPositions = append(dst.MaskedPositions[:0], src.MaskedPositions...)
	dst.MaskedIDs = append(dst.MaskedIDs[:0], src.MaskedIDs...)
}

// drain lets out the rows still held, in random order. It stops early when ctx is done.
func (b *shuffleBuffer) drain(ctx context.Context, emit func(*shards.Row) error) error {
	b.rng.Shuffle(len(b.rows), func(i, j int) { b.rows[i], b.rows[j] = b.rows[j], b.rows[i] })
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
