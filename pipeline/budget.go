package pipeline

import (
	"context"
	"sync"
)

// byteBudget bounds the bytes that a set of stages holds at once: a stage takes bytes before
// it passes an item on, and the stage that finishes with the item gives them back. It is what
// keeps a run's memory a multiple of --max-doc-bytes, whatever the documents' sizes.
type byteBudget struct {
	mu   sync.Mutex
	size int64
	free int64
	wake chan struct{} // closed (and replaced) whenever bytes are given back
}

// minTextBudget is the smallest budget of text in flight, so that a small --max-doc-bytes
// does not hold the stages to one document at a time.
const minTextBudget = 16 << 20

func newByteBudget(size int64) *byteBudget {
	return &byteBudget{size: size, free: size, wake: make(chan struct{})}
}

// ok reports whether n bytes may be taken by a holder that has own bytes already: when they
// are free, or when nobody else holds any (so that one item larger than the whole budget
// goes through alone, and a holder never waits for itself). Call with mu held.
func (b *byteBudget) ok(n, own int64) bool {
	return b.free >= n || b.size-b.free <= own
}

// tryAcquire takes n bytes if ok now.
func (b *byteBudget) tryAcquire(n, own int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ok(n, own) {
		b.free -= n
		return true
	}
	return false
}

// acquire takes n bytes, waiting until ok or ctx is done.
func (b *byteBudget) acquire(ctx context.Context, n, own int64) error {
	for {
		b.mu.Lock()
		if b.ok(n, own) {
			b.free -= n
			b.mu.Unlock()
			return nil
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives back n bytes taken by tryAcquire or acquire.
func (b *byteBudget) release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.free += n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}
