package trainer

import (
	"context"
	"math/rand/v2"
	"testing"
)

// benchRows returns a batch like real pretraining data at 128 tokens: full rows, 20 masked
// positions each (Google's max_predictions_per_seq), over the BERT vocabulary size.
func benchRows(batch, seq, vocab int) []Example {
	rng := rand.New(rand.NewPCG(1, 2))
	rows := randomBatch(rng, batch, seq, vocab)
	for i := range rows {
		r := &rows[i]
		for len(r.InputIDs) < seq {
			r.InputIDs = append(r.InputIDs[:len(r.InputIDs)-1], int32(1000+rng.IntN(vocab-1000)), 102)
			r.TokenTypeIDs = append(r.TokenTypeIDs, 1)
		}
		r.MaskedPositions, r.MaskedIDs = r.MaskedPositions[:0], r.MaskedIDs[:0]
		for p := 1; len(r.MaskedPositions) < 20; p += 6 {
			r.MaskedPositions = append(r.MaskedPositions, int32(p))
			r.MaskedIDs = append(r.MaskedIDs, r.InputIDs[p])
		}
		r.NextSentenceLabel = int8(i % 2)
	}
	return rows
}

// BenchmarkTrainStep measures one training step (forward, backward, AdamW) at batch 32 × 128
// with the BERT vocabulary: go test ./trainer -run '^$' -bench TrainStep -benchtime 3x [-tags openblas]
// (bench/train_step.sh compares it with PyTorch)
func BenchmarkTrainStep(b *testing.B) {
	for _, name := range []string{"tiny", "mini"} {
		b.Run(name, func(b *testing.B) {
			cfg, err := Preset(name, 30522)
			if err != nil {
				b.Fatal(err)
			}
			m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			rows := benchRows(32, 128, cfg.VocabSize)
			opt := NewAdamW(DefaultOptimizer(1e-4, 10, 1000), m)
			rng := rand.New(rand.NewPCG(2, 2))
			if _, err := m.TrainStep(context.Background(), rows, opt, rng); err != nil { // builds the graph
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := m.TrainStep(context.Background(), rows, opt, rng); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(32*128*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}

// BenchmarkNewModel measures making the tiny preset's fresh model (bert-base's vocabulary of
// 30,522, 4.4 M weights drawn from the generator): go test ./trainer -run '^$' -bench
// NewModel -benchmem
func BenchmarkNewModel(b *testing.B) {
	cfg, err := Preset("tiny", 30522)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := NewModel(cfg, rand.New(rand.NewPCG(1, 1))); err != nil {
			b.Fatal(err)
		}
	}
}
