package trainer

import (
	"context"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// TestTrainingGraphOnlyKilnOps checks that a training graph holds no gorgonia op of its own:
// the backward pass is made of the ops of ops_*.go, which write into their buffers of the
// previous run, so that a gradient shared by two consumers is not summed by gorgonia's Add
// (which allocates a tensor per run, in an order of its own).
func TestTrainingGraphOnlyKilnOps(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		m, err := newModel(microConfig(), dt, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		rows := randomBatch(rand.New(rand.NewPCG(3, 4)), 3, 13, m.cfg.VocabSize)
		gr, _, err := m.run(context.Background(), rows, true, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		ops := 0
		for _, n := range gr.g.AllNodes() {
			switch op := n.Op().(type) {
			case nil: // an input: parameter, batch tensor, dropout mask, the loss's gradient 1
			case *kop, *geluOp[float32], *geluOp[float64], *crossEntropyOp[float32], *crossEntropyOp[float64]:
				ops++
			default:
				t.Errorf("%v: node %v has gorgonia's op %v (%T)", dt, n, op, op)
			}
		}
		if ops < 100 {
			t.Errorf("%v: only %d ops in the training graph", dt, ops)
		}
	}
}

// TestTrainingGraphRerun checks that a training graph run a second time, on another batch of
// the same shape, gives the loss and gradients of a fresh graph bit for bit: nothing an op
// keeps from one run (its buffers, the GELU derivatives and cross-entropy exponentials kept
// for the backward pass) leaks into the next.
func TestTrainingGraphRerun(t *testing.T) {
	ctx := context.Background()
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		cfg := microConfig()
		// The second batch is shorter, has fewer masked positions and one NSP label fewer, so
		// that rows and positions the first run used are padding in the second.
		first, second := randomBatch(rand.New(rand.NewPCG(3, 4)), 3, 13, cfg.VocabSize), randomBatch(rand.New(rand.NewPCG(7, 8)), 3, 7, cfg.VocabSize)
		second[0].NextSentenceLabel = -1
		if masked(first) <= masked(second) || len(first[0].InputIDs) <= len(second[0].InputIDs) {
			t.Fatalf("first batch: %d masked positions, second %d", masked(first), masked(second))
		}
		used, err := newModel(cfg, dt, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := newModel(cfg, dt, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		g1, _, err := used.run(ctx, first, true, rand.New(rand.NewPCG(9, 9)))
		if err != nil {
			t.Fatal(err)
		}
		g2, st2, err := used.run(ctx, second, true, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		if g1 != g2 {
			t.Fatalf("%v: the two batches did not share a graph (%+v, %+v)", dt, g1.key, g2.key)
		}
		gf, stf, err := fresh.run(ctx, second, true, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		if st2 != stf {
			t.Errorf("%v: rerun stats %+v, fresh %+v", dt, st2, stf)
		}
		for i, p := range used.params {
			var same bool
			switch d := g2.grads[i].Value().Data().(type) {
			case []float32:
				same = slices.Equal(d, gf.grads[i].Value().Data().([]float32))
			case []float64:
				same = slices.Equal(d, gf.grads[i].Value().Data().([]float64))
			}
			if !same {
				t.Errorf("%v: gradient of %s differs between the rerun and a fresh graph", dt, p.name)
			}
		}
	}
}

func masked(rows []Example) int {
	n := 0
	for _, r := range rows {
		n += len(r.MaskedPositions)
	}
	return n
}

// TestBuildError checks that an op that cannot be added to a graph (here a pooler weight of
// the wrong shape) makes the step fail with an error naming it, not a panic.
func TestBuildError(t *testing.T) {
	for _, train := range []bool{false, true} {
		m, err := newModel(microConfig(), tensor.Float64, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		h := m.cfg.HiddenSize
		p := m.byName["bert.pooler.dense.weight"]
		p.shape = []int{h, h + 1}
		p.value = newDense[float64](h, h+1)
		rows := randomBatch(rand.New(rand.NewPCG(3, 4)), 3, 13, m.cfg.VocabSize)
		_, _, err = m.run(context.Background(), rows, train, rand.New(rand.NewPCG(5, 6)))
		if err == nil || !strings.Contains(err.Error(), "build graph") || !strings.Contains(err.Error(), "linear: shapes") {
			t.Errorf("train %v: error %v, want the graph build's linear shape mismatch", train, err)
		}
	}
}
