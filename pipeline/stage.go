package pipeline

import (
	"context"
	"sync"
)

// OrderedMap runs f over the items of in on workers goroutines and sends the results to the
// returned channel in the order the items arrived, whatever order the workers finish in. At
// most window items are in flight (read but not yet received from the output), so memory is
// bounded and a slow consumer holds the producer back.
//
// The output channel is closed when in is closed and every result is sent, or when ctx is
// cancelled, and in both cases only after every call of f has returned; in's producer must
// stop and close in when ctx is cancelled. f's errors travel with the item's result;
// OrderedMap itself never drops an item unless ctx is cancelled.
func OrderedMap[In, Out any](ctx context.Context, in <-chan In, workers, window int, f func(In) Out) <-chan Out {
	if workers < 1 {
		workers = 1
	}
	if window < workers {
		window = workers
	}
	type job struct {
		item In
		res  chan Out
	}
	jobs := make(chan job)
	queue := make(chan chan Out, window)
	out := make(chan Out)

	// Dispatcher: hands items to the workers and queues their result slots in input order.
	go func() {
		defer close(jobs)
		defer close(queue)
		for item := range in {
			res := make(chan Out, 1)
			select {
			case queue <- res:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{item, res}:
			case <-ctx.Done():
				return
			}
		}
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				j.res <- f(j.item)
			}
		}()
	}

	// Collector: receives results in input order. The output closes only once every worker
	// has returned, so no call of f outlives the stage. (Workers never block: each result
	// slot holds one value.)
	go func() {
		defer func() {
			wg.Wait()
			close(out)
		}()
		for res := range queue {
			var v Out
			select {
			case v = <-res:
			case <-ctx.Done():
				return
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
