package shuffle

import (
	"context"
	"math/rand/v2"
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
