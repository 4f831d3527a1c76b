package trainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainRefusesForeignOut: Train does not write into an output directory holding files that
// no training run made. It used to replace a metrics.jsonl and a loss.png that it had not
// written, without a word. A directory that a run made (it holds the marker), or one of a
// kiln from before the marker (checkpoints, metrics.jsonl, loss.png), is still resumed.
func TestTrainRefusesForeignOut(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeShards(t, data, 40, false)
	base := TrainConfig{Data: data, Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 0, 2), Steps: 2,
		BatchSize: 8, Seed: 5, LogEvery: 1, CheckpointEvery: 2, ShuffleBuffer: 20, Masker: testMasker(t)}

	for _, tc := range []struct {
		name  string
		files map[string]string
	}{
		{"metrics and plot of another tool", map[string]string{MetricsFile: "{\"mine\": 1}\n", LossPlotFile: "not kiln's"}},
		{"metrics only", map[string]string{MetricsFile: "{\"mine\": 1}\n"}},
		{"other files", map[string]string{"notes.txt": "keep me", "data.csv": "1,2"}},
		{"checkpoints beside other files", map[string]string{"checkpoint-00000002/x": "", "thesis.tex": "keep me"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.Out = t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(cfg.Out, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, resume := range []bool{false, true} {
				cfg.Resume = resume
				_, err := Train(ctx, cfg)
				if !errors.Is(err, ErrForeignOut) || !strings.Contains(err.Error(), cfg.Out) {
					t.Errorf("resume %v: Train returned %v; want ErrForeignOut naming %s", resume, err, cfg.Out)
				}
			}
			for name, body := range tc.files {
				if b, err := os.ReadFile(filepath.Join(cfg.Out, name)); err != nil || string(b) != body {
					t.Errorf("%s changed: %.40q, %v", name, b, err)
				}
			}
			if _, err := os.Stat(filepath.Join(cfg.Out, OutMarker)); err == nil {
				t.Errorf("a refused run left %s", OutMarker)
			}
		})
	}

	t.Run("a run's own directory", func(t *testing.T) {
		cfg := base
		cfg.Optimizer = DefaultOptimizer(1e-3, 0, 6) // the whole run is 6 steps, made in 3 parts
		cfg.Out = filepath.Join(t.TempDir(), "new")
		if _, err := Train(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(cfg.Out, OutMarker)); err != nil {
			t.Fatalf("no marker after a run: %v", err)
		}
		cfg.Steps, cfg.Resume = 4, true
		if res, err := Train(ctx, cfg); err != nil || res.Steps != 4 {
			t.Fatalf("resume in the run's directory: %v", err)
		}
		// A kiln from before the marker: the same directory without it resumes too.
		if err := os.Remove(filepath.Join(cfg.Out, OutMarker)); err != nil {
			t.Fatal(err)
		}
		cfg.Steps = 6
		if res, err := Train(ctx, cfg); err != nil || res.Steps != 6 {
			t.Fatalf("resume of a directory without the marker: %v", err)
		}
	})
}
