package trainer

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"testing"
)

// FuzzCheckpoint feeds mutated checkpoints (model.safetensors and config.json, seeded with a
// real small model saved by Save, and with a config describing a larger model than its
// weights) to LoadModel. Whatever the bytes, it may not panic or die, and it allocates at most
// 64 MiB plus 40 bytes per byte of the weights file (float32 values from 1-byte dtypes, and
// the model's float64 initialisation): nothing on the config's word alone.
//
// CI runs it for a bounded time:
//
//	go test -run '^$' -fuzz FuzzCheckpoint -fuzztime 20s -fuzzminimizetime 1s ./trainer/
func FuzzCheckpoint(f *testing.F) {
	cfg, err := Preset("tiny", 60)
	if err != nil {
		f.Fatal(err)
	}
	cfg.HiddenSize, cfg.NumHeads, cfg.IntermediateSize, cfg.NumLayers, cfg.MaxPositions = 16, 2, 32, 1, 32
	m, err := NewModel(cfg, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := m.Save(dir); err != nil {
		f.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join(dir, WeightsFile))
	if err != nil {
		f.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(weights, config)
	big := cfg
	big.HiddenSize, big.NumLayers, big.VocabSize = 1024, 24, 30522
	if err := WriteHFConfig(filepath.Join(dir, ConfigFile), big.HF()); err != nil {
		f.Fatal(err)
	}
	bigConfig, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	f.Add(weights, bigConfig)

	debug.SetMemoryLimit(2 << 30)
	f.Fuzz(func(t *testing.T, weights, config []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, WeightsFile), weights, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ConfigFile), config, 0o644); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		LoadModel(dir)
		runtime.ReadMemStats(&after)
		if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(64<<20+40*len(weights)); n > limit {
			t.Fatalf("LoadModel of %d bytes of weights and %d of config allocated %d bytes (limit %d)", len(weights), len(config), n, limit)
		}
	})
}
