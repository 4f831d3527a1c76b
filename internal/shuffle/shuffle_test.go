package shuffle

import (
	"context"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// run pushes rows 0..n-1 (row i holds id i), reusing one Row as a Reader does, and returns the
// ids let out, in order, and how many were let out before the last push.
func run(t *testing.T, size, n int, seed uint64) (out []int32, early int) {
	t.Helper()
	var rng *rand.Rand
	if size > 0 {
		rng = rand.New(rand.NewPCG(seed, 1))
	}
	b := New(size, rng)
	emit := func(r *shards.Row) error {
		if len(r.InputIDs) != 1 || len(r.TokenTypeIDs) != 1 || r.TokenTypeIDs[0] != int8(r.InputIDs[0]%2) {
			t.Fatalf("row let out is not one that was pushed: %+v", r)
		}
		out = append(out, r.InputIDs[0])
		return nil
	}
	var row shards.Row
	for i := range n {
		row.InputIDs = append(row.InputIDs[:0], int32(i))
		row.TokenTypeIDs = append(row.TokenTypeIDs[:0], int8(i%2))
		if err := b.Push(&row, emit); err != nil {
			t.Fatal(err)
		}
	}
	early = len(out)
	if err := b.Drain(context.Background(), emit); err != nil {
		t.Fatal(err)
	}
	return out, early
}

func TestBuffer(t *testing.T) {
	tests := []struct{ size, n int }{{0, 50}, {1, 50}, {16, 200}, {100, 40}}
	for _, tc := range tests {
		out, early := run(t, tc.size, tc.n, 7)
		if want := max(tc.n-tc.size, 0); early != want {
			t.Errorf("size %d, %d rows: %d let out before the drain, want %d (the buffer holds size rows)", tc.size, tc.n, early, want)
		}
		sorted := slices.Sorted(slices.Values(out))
		for i, v := range sorted {
			if v != int32(i) {
				t.Fatalf("size %d, %d rows: output is not a permutation of the input: %v", tc.size, tc.n, sorted)
			}
		}
		inOrder := slices.IsSorted(out)
		if tc.size == 0 && !inOrder {
			t.Errorf("size 0 reordered the rows: %v", out)
		}
		if tc.size > 1 && inOrder {
			t.Errorf("size %d, %d rows: output is in input order", tc.size, tc.n)
		}
		if again, _ := run(t, tc.size, tc.n, 7); !slices.Equal(again, out) {
			t.Errorf("size %d: same seed, different order", tc.size)
		}
		if other, _ := run(t, tc.size, tc.n, 8); tc.size > 1 && slices.Equal(other, out) {
			t.Errorf("size %d: seeds 7 and 8 give the same order", tc.size)
		}
	}
}

func TestDrainCancelled(t *testing.T) {
	b := New(4, rand.New(rand.NewPCG(1, 1)))
	for i := range 3 {
		if err := b.Push(&shards.Row{InputIDs: []int32{int32(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Drain(ctx, func(*shards.Row) error { t.Error("a row let out after cancellation"); return nil }); err != context.Canceled {
		t.Errorf("Drain after cancel: %v, want context.Canceled", err)
	}
}

// TestReserve: slots cut from slabs let out the same rows in the same order, with their own
// lengths, and filling the buffer makes a few allocations per slab instead of four per row.
func TestReserve(t *testing.T) {
	const size, n, tokens, masks = 300, 1000, 12, 3
	rows := make([]shards.Row, n)
	for i := range rows {
		k := 1 + i%tokens
		r := &rows[i]
		for j := range k {
			r.InputIDs = append(r.InputIDs, int32(i*100+j))
			r.TokenTypeIDs = append(r.TokenTypeIDs, int8(j%2))
		}
		for j := range min(k, masks) {
			r.MaskedPositions = append(r.MaskedPositions, int32(j))
			r.MaskedIDs = append(r.MaskedIDs, int32(i))
		}
		r.NextSentenceLabel = int8(i % 2)
	}
	pushAll := func(reserve bool) (out []shards.Row, allocs float64) {
		b := New(size, rand.New(rand.NewPCG(3, 4)))
		if reserve {
			b.Reserve(tokens, masks)
		}
		emit := func(r *shards.Row) error {
			var c shards.Row
			c.CopyFrom(r)
			out = append(out, c)
			return nil
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range size { // fill the buffer: the slots are made here
			if err := b.Push(&rows[i], nil); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		allocs = float64(after.Mallocs - before.Mallocs)
		for i := size; i < n; i++ {
			if err := b.Push(&rows[i], emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Drain(context.Background(), emit); err != nil {
			t.Fatal(err)
		}
		return out, allocs
	}
	plain, plainAllocs := pushAll(false)
	reserved, allocs := pushAll(true)
	if len(reserved) != n || !slices.EqualFunc(plain, reserved, func(a, b shards.Row) bool {
		return slices.Equal(a.InputIDs, b.InputIDs) && slices.Equal(a.TokenTypeIDs, b.TokenTypeIDs) &&
			slices.Equal(a.MaskedPositions, b.MaskedPositions) && slices.Equal(a.MaskedIDs, b.MaskedIDs) &&
			a.NextSentenceLabel == b.NextSentenceLabel
	}) {
		t.Fatal("Reserve changed the rows let out or their order")
	}
	if allocs > size/10 {
		t.Errorf("filling %d slots made %v allocations with Reserve (%v without)", size, allocs, plainAllocs)
	}
	t.Logf("filling %d slots: %v allocations with Reserve, %v without", size, allocs, plainAllocs)
}
