package trainer

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLRSchedule pins Hugging Face's get_linear_schedule_with_warmup: 0 at the first update,
// LR·step/warmup during the warm-up, then linear decay to 0 (TestTorchOptimizerParity runs
// the real LambdaLR).
func TestLRSchedule(t *testing.T) {
	c := DefaultOptimizer(1e-3, 10, 110)
	for _, tc := range []struct {
		step int
		want float64
	}{
		{0, 0}, {1, 1e-4}, {4, 4e-4}, {9, 9e-4}, {10, 1e-3}, {60, 5e-4}, {110, 0}, {200, 0},
	} {
		if got := c.LRAt(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("LRAt(%d) = %g, want %g", tc.step, got, tc.want)
		}
	}
}

// TestOverfitOneBatch trains a small model on one fixed batch, dropout on, and checks that the
// total loss (evaluated without dropout) falls below 0.5 from about ln(vocab)+ln(2).
func TestOverfitOneBatch(t *testing.T) {
	ctx := context.Background()
	cfg := Config{VocabSize: 120, HiddenSize: 32, NumLayers: 2, NumHeads: 2, IntermediateSize: 64,
		MaxPositions: 64, TypeVocabSize: 2, HiddenDropout: 0.1, AttentionDropout: 0.1,
		LayerNormEps: 1e-12, InitializerRange: 0.02}
	m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	rows := randomBatch(rand.New(rand.NewPCG(2, 2)), 8, 24, cfg.VocabSize)
	start, err := m.Loss(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := math.Log(float64(cfg.VocabSize)) + math.Log(2); math.Abs(start.Loss-want) > 0.3 {
		t.Errorf("initial loss %.3f, want about ln(vocab)+ln 2 = %.3f", start.Loss, want)
	}
	const steps = 150
	opt := NewAdamW(DefaultOptimizer(3e-3, 10, steps), m)
	rng := rand.New(rand.NewPCG(3, 3))
	for i := 0; i < steps; i++ {
		if _, err := m.TrainStep(ctx, rows, opt, rng); err != nil {
			t.Fatal(err)
		}
	}
	end, err := m.Loss(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.3f -> %.3f (mlm %.3f, nsp %.3f, mlm acc %d/%d) after %d steps",
		start.Loss, end.Loss, end.MLMLoss, end.NSPLoss, end.MLMCorrect, end.MLMCount, steps)
	if end.Loss >= 0.5 {
		t.Errorf("after %d steps on one batch the loss is %.3f, want < 0.5", steps, end.Loss)
	}
}
