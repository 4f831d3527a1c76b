// Package arrowalloc holds the capped memory.Allocator that kiln gives the Arrow library to
// read files with (shards, and Arrow and Parquet inputs), so that what a file declares can
// never make kiln allocate more than its checked layout or its settings allow.
package arrowalloc

import (
	"fmt"
	"sync"

	"github.com/apache/arrow/go/v15/arrow/memory"
)

// Refused is the panic value of a refused allocation. The Arrow library recovers some panics
// itself and reports them as errors of its own: Allocator.Refused returns the first one.
type Refused struct {
	Size    int64 // bytes asked for
	Counted int64 // bytes counted against Total when they were asked for
	One     int64 // the most one allocation may take
	Total   int64 // the most all counted allocations may take
}

func (e *Refused) Error() string {
	return fmt.Sprintf("refused to allocate %d bytes: the checked layout allows %d at once and %d in all (%d counted)", e.Size, e.One, e.Total, e.Counted)
}

// Allocator refuses, by panicking with a *Refused, any allocation larger than its bound for
// one allocation or beyond its bound in all. What counts against the bound in all depends on
// how it was made: NewHeld counts the bytes held (Free gives them back), NewGranted the bytes
// granted since the last Reset (Free gives nothing back). It is safe for concurrent use.
type Allocator struct {
	mu         sync.Mutex
	inner      memory.Allocator
	held       bool // Free and shrinking Reallocate give bytes back
	one, total int64
	counted    int64
	refused    *Refused
	peakOne    int64 // the largest allocation granted, over the allocator's life
	peakTotal  int64 // the most bytes counted at once, over the allocator's life
}

// NewHeld returns an allocator that holds at most limit bytes at once.
func NewHeld(limit int64) *Allocator {
	return &Allocator{inner: memory.NewGoAllocator(), held: true, one: limit, total: limit}
}

// NewGranted returns an allocator that grants nothing until Reset gives it bounds.
func NewGranted() *Allocator {
	return &Allocator{inner: memory.NewGoAllocator()}
}

// Reset sets new bounds, one for one allocation and total for all of them, and starts
// counting from 0 (for a NewGranted allocator: one record batch's checked layout).
func (a *Allocator) Reset(one, total int64) {
	a.mu.Lock()
	a.one, a.total, a.counted = one, total, 0
	a.mu.Unlock()
}

// Refused returns the first allocation refused, or nil.
func (a *Allocator) Refused() *Refused {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused
}

// Peaks returns the largest allocation granted and the most bytes counted at once, over the
// allocator's life (for tests that hold it to a checked layout).
func (a *Allocator) Peaks() (one, total int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.peakOne, a.peakTotal
}

// take counts n more bytes of an allocation of size bytes, or panics.
func (a *Allocator) take(size, n int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if size < 0 || size > a.one || n > a.total-a.counted {
		e := &Refused{Size: size, Counted: a.counted, One: a.one, Total: a.total}
		if a.refused == nil {
			a.refused = e
		}
		panic(e)
	}
	a.counted += n
	a.peakOne = max(a.peakOne, size)
	a.peakTotal = max(a.peakTotal, a.counted)
}

// give takes n bytes off the count of a NewHeld allocator.
func (a *Allocator) give(n int64) {
	if !a.held {
		return
	}
	a.mu.Lock()
	a.counted -= n
	a.mu.Unlock()
}

// Allocate implements memory.Allocator.
func (a *Allocator) Allocate(size int) []byte {
	a.take(int64(size), int64(size))
	return a.inner.Allocate(size)
}

// Reallocate implements memory.Allocator: the new size is held to the bound for one
// allocation, and what it grows by is counted.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if size >= len(b) {
		a.take(int64(size), int64(size-len(b)))
	} else {
		a.give(int64(len(b) - size))
	}
	return a.inner.Reallocate(size, b)
}

// Free implements memory.Allocator.
func (a *Allocator) Free(b []byte) {
	a.give(int64(len(b)))
	a.inner.Free(b)
}
