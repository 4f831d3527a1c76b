// Command train_step measures seconds per kiln BERT pretraining step: the kiln side of
// bench/train_step.sh, which runs it beside PyTorch (bench/torch_step.py) in the same session.
//
// One step is trainer.Model.TrainStep: forward with dropout 0.1, MLM loss at the masked
// positions plus NSP loss, backward, global-norm clipping at 1.0, AdamW, as torch_step.py's.
// The batch is made before timing as torch_step.py makes its own: random token ids at full
// length (no padding), a fixed number of masked positions per row at random places, random NSP
// labels. It prints one JSON line per preset: the median, min and max wall seconds per step over
// -steps timed steps after -warmup untimed ones (the first builds the graph), the median CPU
// seconds per step (all threads), and the bytes and objects allocated per timed step.
//
//	go run ./bench/train_step [-presets tiny,mini] [-batch 32] [-seq 128] [-masked 20] [-steps 10]
//	go run -tags openblas ./bench/train_step ...   # matrix products in OpenBLAS
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/kiln-bert/kiln/trainer"
)

func main() {
	presets := flag.String("presets", "tiny,mini", "model presets, comma-separated")
	batch := flag.Int("batch", 32, "rows per batch")
	seq := flag.Int("seq", 128, "tokens per row")
	masked := flag.Int("masked", 20, "masked positions per row")
	vocab := flag.Int("vocab", 30522, "vocabulary size")
	warmup := flag.Int("warmup", 3, "untimed steps first")
	steps := flag.Int("steps", 10, "timed steps")
	flag.Parse()
	if *batch < 1 || *seq < 4 || *masked < 1 || *masked > *seq-2 || *steps < 1 || *warmup < 1 {
		fmt.Fprintln(os.Stderr, "train_step: need batch >= 1, seq >= 4, 1 <= masked <= seq-2, steps >= 1, warmup >= 1")
		os.Exit(2)
	}
	for _, name := range strings.Split(*presets, ",") {
		res, err := bench(name, *batch, *seq, *masked, *vocab, *warmup, *steps)
		if err != nil {
			fmt.Fprintf(os.Stderr, "train_step: %s: %v\n", name, err)
			os.Exit(1)
		}
		line, _ := json.Marshal(res)
		fmt.Println(string(line))
	}
}

func bench(name string, batch, seq, masked, vocab, warmup, steps int) (map[string]any, error) {
	cfg, err := trainer.Preset(name, vocab)
	if err != nil {
		return nil, err
	}
	m, err := trainer.NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(2, 2))
	batches := [][]trainer.Example{makeBatch(rng, batch, seq, masked, vocab), makeBatch(rng, batch, seq, masked, vocab)}
	opt := trainer.NewAdamW(trainer.DefaultOptimizer(1e-4, 10, 1000), m)
	ctx := context.Background()
	var wall, cpu []float64
	var ms0, ms1 runtime.MemStats
	var loss float64
	for i := 0; i < warmup+steps; i++ {
		if i == warmup {
			runtime.ReadMemStats(&ms0)
		}
		t0, c0 := time.Now(), cpuSeconds()
		r, err := m.TrainStep(ctx, batches[i%2], opt, rng)
		if err != nil {
			return nil, err
		}
		if i >= warmup {
			wall = append(wall, time.Since(t0).Seconds())
			cpu = append(cpu, cpuSeconds()-c0)
		}
		loss = r.Loss
	}
	runtime.ReadMemStats(&ms1)
	med := median(wall)
	return map[string]any{
		"preset": name, "layers": cfg.NumLayers, "hidden": cfg.HiddenSize,
		"batch": batch, "seq": seq, "masked_per_row": masked, "vocab": vocab,
		"step_seconds_median": round4(med), "step_seconds_min": round4(slices.Min(wall)),
		"step_seconds_max": round4(slices.Max(wall)), "cpu_seconds_median": round4(median(cpu)),
		"alloc_bytes_per_step": (ms1.TotalAlloc - ms0.TotalAlloc) / uint64(steps),
		"allocs_per_step":      (ms1.Mallocs - ms0.Mallocs) / uint64(steps),
		"steps":                steps, "warmup": warmup, "gomaxprocs": runtime.GOMAXPROCS(0),
		"tokens_per_second": int(float64(batch*seq) / med), "blas": trainer.BLASImplementation,
		"final_loss": round4(loss),
	}, nil
}

// makeBatch returns rows as torch_step.py's: [CLS] ids [SEP] at full length, the second half
// token type 1, masked positions at random distinct places (not [CLS]), random NSP labels.
func makeBatch(rng *rand.Rand, batch, seq, masked, vocab int) []trainer.Example {
	rows := make([]trainer.Example, batch)
	for i := range rows {
		ids := make([]int32, seq)
		types := make([]int8, seq)
		for j := range ids {
			ids[j] = int32(1000 + rng.IntN(vocab-1000))
			if j >= seq/2 {
				types[j] = 1
			}
		}
		ids[0], ids[seq-1] = 101, 102
		pos := rng.Perm(seq - 2)[:masked]
		slices.Sort(pos)
		r := trainer.Example{InputIDs: ids, TokenTypeIDs: types, NextSentenceLabel: int8(rng.IntN(2))}
		for _, p := range pos {
			r.MaskedPositions = append(r.MaskedPositions, int32(p+1))
			r.MaskedIDs = append(r.MaskedIDs, int32(1000+rng.IntN(vocab-1000)))
		}
		rows[i] = r
	}
	return rows
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func median(x []float64) float64 {
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round4(x float64) float64 { return float64(int64(x*1e4+0.5)) / 1e4 }
