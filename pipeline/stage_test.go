package pipeline

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrderedMapKeepsOrder(t *testing.T) {
	for _, workers := range []int{1, 2, 7} {
		in := make(chan int)
		go func() {
			defer close(in)
			for i := range 500 {
				in <- i
			}
		}()
		var inFlight, maxInFlight atomic.Int64
		out := OrderedMap(context.Background(), in, workers, 8, func(i int) int {
			n := inFlight.Add(1)
			for {
				m := maxInFlight.Load()
				if n <= m || maxInFlight.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
			inFlight.Add(-1)
			return i * i
		})
		i := 0
		for v := range out {
			if v != i*i {
				t.Fatalf("workers %d: item %d = %d, want %d", workers, i, v, i*i)
			}
			i++
		}
		if i != 500 {
			t.Fatalf("workers %d: got %d items, want 500", workers, i)
		}
		if m := maxInFlight.Load(); m > int64(workers) {
			t.Errorf("workers %d: %d calls ran at once", workers, m)
		}
	}
}

func TestOrderedMapCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	in := make(chan int)
	go func() {
		defer close(in)
		for i := 0; ; i++ {
			select {
			case in <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	out := OrderedMap(ctx, in, 2, 4, func(i int) int { return i })
	<-out
	cancel()
	done := make(chan struct{})
	go func() {
		for range out {
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("output not closed after cancel")
	}
}
