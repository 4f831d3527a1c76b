package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
)

// StreamConfig configures a Stream: the prep stages feeding the trainer directly.
type StreamConfig struct {
	BatchSize int
	Seed      uint64 // seeds the masks; epoch e re-reads the corpus with the first epoch's seed + e
	Prefetch  int    // batches made ahead of the trainer; default 8
	// SaveShards, when set, receives the rows of the first epoch as kiln prep would write them
	// with the same ExampleConfig (they are written as the stream goes).
	SaveShards *ShardOptions
}

// Stream is a trainer.Source that runs the prep stages (read, split, tokenize, pair) on its
// own goroutines and masks each row dynamically, so that a corpus goes straight into training
// without shards on disk. Memory is bounded by the prefetch depth and the stages' own bounds.
// When the corpus ends, the next epoch reads it again with the next pairing seed.
type Stream struct {
	cfg     StreamConfig
	masker  *masking.Masker
	batches chan streamBatch
	cancel  context.CancelFunc
	done    chan struct{}

	mu    sync.Mutex
	wait  time.Duration // time Next spent blocked
	saved *PrepSummary
}

type streamBatch struct {
	b   trainer.Batch
	err error
}

// NewStream starts the stages of first (the first epoch's examples; their config must have
// dynamic masking: the stream masks each row as it is read) at start, an epoch and a row
// within it, as a checkpoint records. Rows before start are made again and skipped, so a
// resumed run sees the same data as an uninterrupted one. Epoch e runs first.WithSeed (the
// first epoch's seed + e): the corpus is found and the vocabulary loaded once. The stream
// runs first itself: no other run of first may overlap it.
func NewStream(ctx context.Context, first *Examples, cfg StreamConfig, start trainer.Position) (*Stream, error) {
	if m := first.Config().Masking; m != masking.Dynamic {
		return nil, fmt.Errorf("pretrain streams need dynamic masking, not %q", m)
	}
	if cfg.BatchSize < 1 {
		return nil, fmt.Errorf("batch size %d: want at least 1", cfg.BatchSize)
	}
	if cfg.Prefetch < 1 {
		cfg.Prefetch = 8
	}
	masker, err := masking.New(first.MaskingConfig(), first.maskVoc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{cfg: cfg, masker: masker, batches: make(chan streamBatch, cfg.Prefetch), cancel: cancel, done: make(chan struct{})}
	go s.run(ctx, first, start)
	return s, nil
}

// run makes batches until ctx is cancelled or an error stops it.
func (s *Stream) run(ctx context.Context, ex *Examples, start trainer.Position) {
	defer close(s.done)
	send := func(b streamBatch) bool {
		select {
		case s.batches <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	first := ex
	for epoch := 0; ; epoch++ {
		if epoch < start.Epoch {
			continue
		}
		if epoch > 0 {
			var err error
			if ex, err = first.WithSeed(first.Config().Seed + uint64(epoch)); err != nil {
				send(streamBatch{err: err})
				return
			}
		}
		var skip int64
		if epoch == start.Epoch {
			skip = start.Row
		}
		if err := s.runEpoch(ctx, ex, epoch, skip, send); err != nil {
			if !errors.Is(err, context.Canceled) {
				send(streamBatch{err: err})
			}
			return
		}
	}
}

// runEpoch streams one pass over the corpus, skipping its first skip rows.
func (s *Stream) runEpoch(ctx context.Context, ex *Examples, epoch int, skip int64, send func(streamBatch) bool) error {
	var rows int64
	batch := make([]trainer.Example, 0, s.cfg.BatchSize)
	emit := func(r *shards.Row) error { // r is only valid during the call
		rows++
		if rows <= skip {
			return nil
		}
		// Masked as the trainer's loader masks unmasked shards.
		batch = append(batch, trainer.NewExample(r, s.masker, s.cfg.Seed, trainer.Position{Epoch: epoch, Row: rows - 1}))
		if len(batch) == s.cfg.BatchSize {
			if !send(streamBatch{b: trainer.Batch{Rows: batch, Next: trainer.Position{Epoch: epoch, Row: rows}}}) {
				return ctx.Err()
			}
			batch = make([]trainer.Example, 0, s.cfg.BatchSize)
		}
		return nil
	}
	if epoch == 0 && s.cfg.SaveShards != nil {
		if err := s.saveAndRun(ctx, ex, emit); err != nil {
			return err
		}
	} else if err := ex.Run(ctx, emit); err != nil {
		return err
	}
	// A partial last batch of the epoch is carried to the trainer too.
	if len(batch) > 0 && !send(streamBatch{b: trainer.Batch{Rows: batch, Next: trainer.Position{Epoch: epoch, Row: rows}}}) {
		return ctx.Err()
	}
	return nil
}

// saveAndRun runs the first epoch through Prep, so that the shards written are exactly what
// kiln prep writes, and hands each row to emit as well.
func (s *Stream) saveAndRun(ctx context.Context, ex *Examples, emit func(*shards.Row) error) error {
	sum, err := prepWith(ctx, ex, *s.cfg.SaveShards, emit)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.saved = sum
	s.mu.Unlock()
	return nil
}

// Next returns the next batch. It implements trainer.Source.
func (s *Stream) Next(ctx context.Context) (trainer.Batch, error) {
	t0 := time.Now()
	defer func() {
		s.mu.Lock()
		s.wait += time.Since(t0)
		s.mu.Unlock()
	}()
	select {
	case b := <-s.batches:
		return b.b, b.err
	case <-s.done:
		select {
		case b := <-s.batches:
			return b.b, b.err
		default:
		}
		return trainer.Batch{}, io.EOF
	case <-ctx.Done():
		return trainer.Batch{}, ctx.Err()
	}
}

// Wait returns the time Next has spent waiting for a batch: the trainer's time lost to data.
func (s *Stream) Wait() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wait
}

// Saved returns the summary of the shards written with SaveShards, once the first epoch is
// complete (nil before).
func (s *Stream) Saved() *PrepSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saved
}

// Close stops the stages and waits for them. It implements trainer.Source.
func (s *Stream) Close() error {
	s.cancel()
	<-s.done
	return nil
}
