package trainer

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// failingSource is a Source whose first batch is an input error, as a corpus's bad line found
// while the trainer draws the model's weights.
type failingSource struct {
	err    error
	closed int
}

func (s *failingSource) Next(context.Context) (Batch, error) { return Batch{}, s.err }
func (s *failingSource) Close() error                        { s.closed++; return nil }

// TestTrainSourceStartsBeforeWeights: a fresh run starts its source before it draws the
// model's weights; an input error the source finds meanwhile is returned as it is, the source
// closed, no checkpoint written. A model the run refuses is refused before the source starts.
func TestTrainSourceStartsBeforeWeights(t *testing.T) {
	bad := errors.New("input corpus.txt line 3: not UTF-8")
	src := &failingSource{err: bad}
	out := t.TempDir()
	cfg := TrainConfig{Out: out, Model: testConfig(), Steps: 3, BatchSize: 2, Seed: 1,
		Optimizer: DefaultOptimizer(1e-3, 0, 3),
		NewSource: func(context.Context, Position) (Source, error) { return src, nil }}
	_, err := Train(context.Background(), cfg)
	if !errors.Is(err, bad) {
		t.Fatalf("Train: %v, want the source's error", err)
	}
	if src.closed != 1 {
		t.Errorf("source closed %d times, want 1", src.closed)
	}
	if ck, _ := filepath.Glob(filepath.Join(out, ckptPrefix+"*")); len(ck) > 0 {
		t.Errorf("checkpoints written after an input error: %v", ck)
	}

	started := false
	cfg.Out = t.TempDir()
	cfg.Model.NumHeads = 3 // does not divide HiddenSize 32
	cfg.NewSource = func(context.Context, Position) (Source, error) { started = true; return src, nil }
	_, err = Train(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "model config") {
		t.Fatalf("Train with a bad model: %v, want a model config error", err)
	}
	if started {
		t.Error("the source was started for a model the run refuses")
	}
}
