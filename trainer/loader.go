package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"

	"github.com/kiln-bert/kiln/internal/seeds"
	"github.com/kiln-bert/kiln/internal/shuffle"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
)

// Position is where a data stream stands: the row about to be produced, counted from the start
// of its epoch. Training checkpoints store it, and a loader started at a Position produces the
// same rows as the loader that was interrupted there.
type Position struct {
	Epoch int   `json:"epoch"`
	Row   int64 `json:"row"`
}

// Batch is a group of rows for one step and the stream position just after its last row.
type Batch struct {
	Rows []Example
	Next Position
}

// Source produces batches. Next returns io.EOF when the data is exhausted.
type Source interface {
	Next(ctx context.Context) (Batch, error)
	Close() error
}

// LoaderConfig says how to read a directory of kiln shards.
type LoaderConfig struct {
	Dir       string // directory holding manifest.json and the shards
	BatchSize int
	Seed      uint64
	// Shuffle turns on the per-epoch shard order and the shuffle buffer; off, rows come in
	// manifest order (for evaluation).
	Shuffle       bool
	ShuffleBuffer int   // rows held for shuffling; default shards.DefaultShuffleBuffer
	Epochs        int   // epochs to read; 0: without end
	Limit         int64 // stop after this many rows in all; 0: no limit
	// Masker masks unmasked (dynamic-masking) shards; it is required for them and unused for
	// statically masked shards. Each row is masked with its own generator derived from Seed,
	// the epoch and the row's position, so a row is masked differently in each epoch.
	Masker   *masking.Masker
	Prefetch int      // batches read ahead on the loader's goroutine; default 4
	Start    Position // where to start (from a checkpoint)
}

// Loader reads batches from kiln shards on its own goroutine. Rows of an epoch pass through a
// shuffle buffer filled from the shards in a seeded per-epoch order; a batch may hold rows of
// two epochs. Rows are not padded here: the model pads each batch to its longest row.
type Loader struct {
	ch       chan loaded
	cancel   context.CancelFunc
	done     chan struct{}
	manifest *shards.Manifest
}

type loaded struct {
	b   Batch
	err error
}

// NewLoader checks the manifest (see CheckShards) and starts reading. Every row read is checked
// against the manifest's info (shards.CheckRow, as shards.Verify does): a bad row stops the
// loader with a *shards.MismatchError naming its shard and index. Close it when done.
func NewLoader(ctx context.Context, cfg LoaderConfig) (*Loader, error) {
	if cfg.BatchSize <= 0 {
		return nil, fmt.Errorf("LoaderConfig.BatchSize %d: want at least 1", cfg.BatchSize)
	}
	if cfg.ShuffleBuffer <= 0 {
		cfg.ShuffleBuffer = shards.DefaultShuffleBuffer
	}
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = 4
	}
	man, err := CheckShards(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if !man.Info.Static && cfg.Masker == nil {
		return nil, fmt.Errorf("%s holds unmasked shards (dynamic masking) and no masker was given", cfg.Dir)
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Loader{ch: make(chan loaded, cfg.Prefetch), cancel: cancel, done: make(chan struct{}), manifest: man}
	go func() {
		defer close(l.done)
		defer close(l.ch)
		err := produce(ctx, cfg, man, l.ch)
		if err != nil {
			select {
			case l.ch <- loaded{err: err}:
			case <-ctx.Done():
			}
		}
	}()
	return l, nil
}

// Manifest returns the manifest of the shards being read.
func (l *Loader) Manifest() *shards.Manifest { return l.manifest }

// Next returns the next batch, io.EOF after the last one.
func (l *Loader) Next(ctx context.Context) (Batch, error) {
	select {
	case r, ok := <-l.ch:
		if !ok {
			return Batch{}, io.EOF
		}
		return r.b, r.err
	case <-ctx.Done():
		return Batch{}, ctx.Err()
	}
}

// Close stops the loader's goroutine.
func (l *Loader) Close() error {
	l.cancel()
	for range l.ch { //nolint:revive // drain so the goroutine can finish
	}
	<-l.done
	return nil
}

// produce reads epochs from cfg.Start on and sends batches; it returns nil at the end of the
// data and ctx's error when cancelled.
func produce(ctx context.Context, cfg LoaderConfig, man *shards.Manifest, out chan<- loaded) error {
	var rows []Example
	var total int64
	send := func(pos Position) error {
		select {
		case out <- loaded{b: Batch{Rows: rows, Next: pos}}:
			rows = nil
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for epoch := cfg.Start.Epoch; cfg.Epochs == 0 || epoch < cfg.Epochs; epoch++ {
		skip := int64(0)
		if epoch == cfg.Start.Epoch {
			skip = cfg.Start.Row
		}
		var n int64 // rows produced in this epoch
		err := epochRows(ctx, cfg, man, epoch, func(r *shards.Row) error {
			n++
			if n <= skip {
				return nil
			}
			var masker *masking.Masker
			if !man.Info.Static {
				masker = cfg.Masker
			}
			rows = append(rows, NewExample(r, masker, cfg.Seed, Position{Epoch: epoch, Row: n - 1}))
			total++
			if len(rows) == cfg.BatchSize {
				if err := send(Position{Epoch: epoch, Row: n}); err != nil {
					return err
				}
			}
			if cfg.Limit > 0 && total >= cfg.Limit {
				return io.EOF
			}
			return nil
		})
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%s: the shards hold no rows", cfg.Dir)
		}
	}
	if len(rows) > 0 {
		return send(Position{Epoch: -1})
	}
	return nil
}

// epochRows calls fn for each row of one epoch in the epoch's order: shards in a permutation
// seeded by (Seed, epoch) and rows through a shuffle buffer drawn from the same generator, or
// everything in manifest order when cfg.Shuffle is off. fn must not keep the row it is given.
func epochRows(ctx context.Context, cfg LoaderConfig, man *shards.Manifest, epoch int, fn func(*shards.Row) error) error {
	order := make([]int, len(man.Shards))
	for i := range order {
		order[i] = i
	}
	buf := shuffle.New(0, nil) // rows straight through, in manifest order
	if cfg.Shuffle {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(epoch)))
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		buf = shuffle.New(cfg.ShuffleBuffer, rng)
	}
	row := new(shards.Row) // the buffer copies the rows it holds, and fn copies the row it gets
	for _, si := range order {
		sh := man.Shards[si]
		path := filepath.Join(cfg.Dir, filepath.FromSlash(sh.File))
		// The rows are trusted only if the file is still the one the manifest describes.
		if err := shards.CheckFile(cfg.Dir, sh); err != nil {
			return err
		}
		r, err := shards.Open(path)
		if err != nil {
			return err
		}
		if r.Info() != man.Info {
			r.Close()
			return shards.Mismatch(cfg.Dir, "%s: schema metadata differs from %s: %s",
				path, filepath.Join(cfg.Dir, shards.ManifestName), infoDiff(man.Info, r.Info()))
		}
		var msgs []string
		var i, tokens int64
		for ; ; i++ {
			if i%1024 == 0 && ctx.Err() != nil {
				r.Close()
				return ctx.Err()
			}
			if err := r.Next(row); err == io.EOF {
				break
			} else if err != nil {
				r.Close()
				return fmt.Errorf("%s row %d: %w", path, i, err)
			}
			tokens += int64(len(row.InputIDs))
			if msgs = shards.CheckRow(row, man.Info, msgs[:0]); len(msgs) > 0 {
				r.Close()
				return shards.Mismatch(cfg.Dir, "%s row %d: %s", path, i, strings.Join(msgs, "; "))
			}
			if err := buf.Push(row, fn); err != nil {
				r.Close()
				return err
			}
		}
		if err := r.Close(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if i != sh.Rows || tokens != sh.Tokens {
			return shards.Mismatch(cfg.Dir, "%s holds %d rows and %d tokens, but %s says %d and %d",
				path, i, tokens, filepath.Join(cfg.Dir, shards.ManifestName), sh.Rows, sh.Tokens)
		}
	}
	return buf.Drain(ctx, fn)
}

// NewExample copies a row into an Example of its own. With a masker (for rows stored
// unmasked), the row is masked with a generator derived from seed and the row's position in
// the stream (its epoch and its index in the epoch), so that the same row is masked
// differently in each epoch and the same way in a resumed run.
func NewExample(r *shards.Row, masker *masking.Masker, seed uint64, at Position) Example {
	ex := Example{
		InputIDs:          append([]int32(nil), r.InputIDs...),
		TokenTypeIDs:      append([]int8(nil), r.TokenTypeIDs...),
		NextSentenceLabel: r.NextSentenceLabel,
		MaskedPositions:   append([]int32(nil), r.MaskedPositions...),
		MaskedIDs:         append([]int32(nil), r.MaskedIDs...),
	}
	if masker != nil {
		var mk masking.Masked
		rng := rand.New(rand.NewPCG(seeds.DynamicMask(seed, at.Epoch, at.Row)))
		masker.Mask(rng, ex.InputIDs, &mk)
		ex.InputIDs, ex.MaskedPositions, ex.MaskedIDs = mk.IDs, mk.Positions, mk.Labels
	}
	return ex
}

// SliceSource serves rows held in memory, in order, batchSize at a time.
type SliceSource struct {
	rows      []Example
	batchSize int
	next      int
}

// NewSliceSource returns a Source over rows (for tests and small evaluations).
func NewSliceSource(rows []Example, batchSize int) *SliceSource {
	return &SliceSource{rows: rows, batchSize: max(batchSize, 1)}
}

// Next returns the next batch, io.EOF after the last one.
func (s *SliceSource) Next(ctx context.Context) (Batch, error) {
	if err := ctx.Err(); err != nil {
		return Batch{}, err
	}
	if s.next >= len(s.rows) {
		return Batch{}, io.EOF
	}
	end := min(s.next+s.batchSize, len(s.rows))
	b := Batch{Rows: s.rows[s.next:end], Next: Position{Row: int64(end)}}
	s.next = end
	return b, nil
}

// Close does nothing.
func (s *SliceSource) Close() error { return nil }
